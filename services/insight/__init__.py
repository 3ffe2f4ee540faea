"""Insight: statistics, briefings and review meetings, from a read model of every topic."""
