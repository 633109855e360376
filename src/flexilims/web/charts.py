"""Small charts as server-rendered SVG: no chart library, no script.

Each chart is an ``<svg role="img">`` with a title and a description that
says its figures, so that it reads as well without the picture.
"""

from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


def _ticks(top: int) -> list[int]:
    """Round values for the vertical axis (steps of 1, 2 or 5 times a power
    of ten), at most six, up to ``top`` or just above."""
    if top <= 0:
        return [0]
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            if top / step <= 5:
                last = -(-top // step) * step
                return list(range(0, last + 1, step))
        magnitude *= 10


def column_chart(bars: list[Bar], title: str, chart_id: str) -> Markup:
    """Vertical bars (e.g. sessions per month), labels below every third bar
    (counted from the last).

    Parameters
    ----------
    bars : list of Bar
        In display order.
    title : str
        Read by screen readers (the page shows its own heading).
    chart_id : str
        Unique in the page (for the title and description ids).
    """
    width, height = 640, 200
    left, right, bottom, top_margin = 40, 30, 40, 10
    plot_w, plot_h = width - left - right, height - bottom - top_margin
    top = max((bar.value for bar in bars), default=0)
    ticks = _ticks(top)
    scale_top = max(ticks[-1], top, 1)
    slot = plot_w / max(len(bars), 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">'
        + escape(", ".join(f"{bar.label}: {bar.value:,}" for bar in bars))
        + "</desc>",
    ]
    for tick in ticks:
        y = top_margin + plot_h - plot_h * tick / scale_top
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" '
            f'y2="{y:.1f}"/>'
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{tick:,}</text>'
        )
    for index, bar in enumerate(bars):
        bar_h = plot_h * bar.value / scale_top
        x = left + index * slot + slot * 0.15
        y = top_margin + plot_h - bar_h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{bar_h:.1f}"><title>{escape(bar.label)}: {bar.value:,}'
            "</title></rect>"
        )
        if (len(bars) - 1 - index) % 3 == 0:
            parts.append(
                f'<text class="axis" x="{x + slot * 0.35:.1f}" '
                f'y="{height - bottom + 16}" text-anchor="middle">'
                f"{escape(bar.label)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(bars: list[Bar], title: str, chart_id: str) -> Markup:
    """Horizontal bars with their label and value (e.g. datasets per type)."""
    row_h, label_w, value_w, width = 26, 170, 80, 640
    height = max(len(bars), 1) * row_h + 10
    top = max((bar.value for bar in bars), default=0) or 1
    plot_w = width - label_w - value_w
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">'
        + escape(", ".join(f"{bar.label}: {bar.value:,}" for bar in bars))
        + "</desc>",
    ]
    for index, bar in enumerate(bars):
        y = 5 + index * row_h
        bar_w = max(plot_w * bar.value / top, 1 if bar.value else 0)
        label = bar.label if len(bar.label) <= 24 else bar.label[:23] + "…"
        parts.append(
            f'<text class="label" x="{label_w - 8}" y="{y + 17}" '
            f'text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{bar_w:.1f}" '
            f'height="{row_h - 8}"><title>{escape(bar.label)}: {bar.value:,}'
            "</title></rect>"
            f'<text class="value" x="{label_w + bar_w + 6:.1f}" y="{y + 17}">'
            f"{bar.value:,}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
