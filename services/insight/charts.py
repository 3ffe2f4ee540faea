"""A briefing's charts, drawn with matplotlib in a CJK font, as PNG bytes.

The font is Noto Sans CJK (Debian `fonts-noto-cjk`); without it Chinese would come out as
empty boxes, so drawing fails loudly instead.
"""

from __future__ import annotations

import functools
import io

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from services.insight.briefing import Briefing

_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "WenQuanYi Micro Hei")
# Level colours as the seeds name them (红色, 黄色, 蓝色); others in a quiet grey-blue.
_LEVEL_COLOURS = {"一级红色预警": "#c62828", "二级黄色预警": "#f9a825", "三级蓝色预警": "#1565c0"}
_OTHER = ("#5c6bc0", "#26a69a", "#8d6e63", "#78909c")


class MissingFont(RuntimeError):
    """No CJK font is installed (Debian: apt-get install fonts-noto-cjk)."""


@functools.cache
def cjk_font() -> str:
    """The family name of an installed CJK font; MissingFont if there is none."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _FONTS:
        if name in installed:
            return name
    font_manager.fontManager.__init__()  # type: ignore[misc]  # fonts installed since the cache
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _FONTS:
        if name in installed:
            return name
    raise MissingFont("no CJK font for the briefing's charts: apt-get install fonts-noto-cjk")


def _figure(height: float = 3.2) -> Figure:
    plt.rcParams["font.family"] = cjk_font()
    plt.rcParams["axes.unicode_minus"] = False
    figure = plt.figure(figsize=(6.4, height), dpi=150)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def levels_by_month(b: Briefing) -> bytes:
    """Warnings by level per month, stacked bars."""
    figure = _figure()
    axes = figure.add_subplot()
    months = sorted({row["month"] for row in b.stats["by_month"]})
    levels = [lbl for k, lbl in b.level_labels.items() if k != "none"]
    bottom = [0] * len(months)
    for n, label in enumerate(levels):
        values = [b.monthly_levels.get(m, {}).get(label, 0) for m in months]
        colour = _LEVEL_COLOURS.get(label, _OTHER[n % len(_OTHER)])
        axes.bar([m[5:] + "月" for m in months], values, bottom=bottom, label=label, color=colour)
        bottom = [x + y for x, y in zip(bottom, values, strict=True)]
    axes.set_title("各月预警数量（按级别）")
    axes.set_ylabel("起")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper left", fontsize=8, frameon=False)
    return _png(figure)


def bars(title: str, rows: list[tuple[str, int]], unit: str = "起") -> bytes:
    """Horizontal bars, largest on top (categories, regions)."""
    ordered = sorted(rows, key=lambda r: r[1])[-10:]
    figure = _figure(max(2.2, 0.35 * len(ordered) + 1.2))
    axes = figure.add_subplot()
    axes.barh([r[0] for r in ordered], [r[1] for r in ordered], color="#1565c0")
    for y, (_, value) in enumerate(ordered):
        axes.text(value, y, f" {value}", va="center", fontsize=8)
    axes.set_title(title)
    axes.set_xlabel(unit)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _png(figure)


def on_time(b: Briefing) -> bytes:
    """Reporting on time by body: on time and late, side by side."""
    figure = _figure()
    axes = figure.add_subplot()
    names = [row[0] for row in b.on_time]
    positions = range(len(names))
    axes.barh(
        [p + 0.2 for p in positions], [r[2] for r in b.on_time], 0.4, label="按时", color="#2e7d32"
    )
    axes.barh(
        [p - 0.2 for p in positions], [r[3] for r in b.on_time], 0.4, label="超时", color="#c62828"
    )
    axes.set_yticks(list(positions), names)
    axes.set_title("各责任单位报送时效")
    axes.set_xlabel("件")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(fontsize=8, frameon=False)
    return _png(figure)
