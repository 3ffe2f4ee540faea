"""Sharing's parts held together: its sessions, secrets, clock, sender and retry rules."""

from __future__ import annotations

import base64
import datetime as dt
import secrets as random
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.clock import Clock
from libs.common.jurisdictions import Registry
from libs.common.privacy import Cipher
from libs.common.settings import Settings
from services.notifier.sharing import domain
from services.notifier.sharing.sender import SharingSender
from services.notifier.sharing.tables import Subscription

SECRET_CONTEXT = "notifier_subscriptions.secret"  # noqa: S105 - an AEAD context, not a secret


@dataclass(frozen=True)
class Retries:
    """How long and how often a failed delivery is tried again."""

    backoff_seconds: float = 10.0
    backoff_max_seconds: float = 3600.0
    window: dt.timedelta = dt.timedelta(hours=24)
    lease: dt.timedelta = dt.timedelta(seconds=60)  # a claimed delivery's, while it is sent

    def after(
        self, attempts: int, *, now: dt.datetime, give_up_at: dt.datetime
    ) -> dt.datetime | None:
        """When to try again after `attempts` attempts; None: failed for good."""
        return domain.next_attempt(
            attempts,
            now=now,
            give_up_at=give_up_at,
            base_seconds=self.backoff_seconds,
            cap_seconds=self.backoff_max_seconds,
        )


@dataclass
class Sharing:
    """Sharing's parts; its handlers take it as their first argument."""

    sessionmaker: async_sessionmaker[AsyncSession]
    registry: Registry
    cipher: Cipher
    clock: Clock
    sender: SharingSender
    allow_local: bool = False
    retries: Retries = Retries()
    per_subscription: int = 2
    poll_seconds: float = 0.5
    overlap: dt.timedelta = dt.timedelta(hours=24)

    @classmethod
    def of(
        cls,
        settings: Settings,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        registry: Registry,
        cipher: Cipher,
        clock: Clock,
        sender: SharingSender,
    ) -> Sharing:
        """Sharing as the settings configure it."""
        return cls(
            sessionmaker=sessionmaker,
            registry=registry,
            cipher=cipher,
            clock=clock,
            sender=sender,
            allow_local=settings.allow_local_targets,
            retries=Retries(
                backoff_seconds=settings.sharing_backoff_seconds,
                backoff_max_seconds=settings.sharing_backoff_max_seconds,
                window=dt.timedelta(hours=settings.sharing_retry_hours),
                lease=dt.timedelta(seconds=settings.sharing_timeout_seconds + 30),
            ),
            per_subscription=settings.sharing_per_subscription,
            poll_seconds=settings.sharing_poll_seconds,
            overlap=dt.timedelta(hours=settings.sharing_secret_overlap_hours),
        )

    def seal(self, secret: str) -> str:
        """A secret, sealed for the table."""
        return self.cipher.encrypt(secret, context=SECRET_CONTEXT)

    def unseal(self, sealed: str) -> str:
        """A sealed secret, in clear."""
        return self.cipher.decrypt(sealed, context=SECRET_CONTEXT)

    def signing_secrets(self, sub: Subscription, *, now: dt.datetime) -> list[str]:
        """The secrets that sign a delivery: the current one, and the previous one while its
        overlap lasts."""
        found = [self.unseal(sub.secret_sealed)]
        if sub.previous_secret_sealed and sub.previous_until and now < sub.previous_until:
            found.append(self.unseal(sub.previous_secret_sealed))
        return found


def new_secret() -> str:
    """A new signing secret: `whsec_` and 32 random bytes in base64 (Standard Webhooks)."""
    return "whsec_" + base64.b64encode(random.token_bytes(32)).decode()


def interest_of(sub: Subscription) -> domain.Interest:
    """What a subscription wants."""
    return domain.Interest(
        jurisdiction=sub.jurisdiction,
        events=frozenset(sub.events),
        min_level_rank=sub.min_level_rank,
        regions=None if sub.regions is None else frozenset(sub.regions),
        categories=None if sub.categories is None else frozenset(sub.categories),
    )
