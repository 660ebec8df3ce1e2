"""Small inline SVG charts for the HTML sheet, and text sparklines for Markdown.

The SVG holds numbers only — no text from the data — and every coordinate is printed with
one decimal, so the same values always give the same bytes. No `xmlns`: SVG inline in
HTML5 needs none, and a self-contained sheet should name no URL at all. Colours are backed by shape
(ticks, dots) so a black-and-white print still reads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

GOOD, MIDDLE, POOR, INK, GRID = "#2e7d32", "#b26a00", "#c62828", "#37474f", "#cfd8dc"
_BLOCKS = "▁▂▃▄▅▆▇█"


def _ok(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def sparkline(
    values: Sequence[float | None], better: str, *, width: int = 120, height: int = 28
) -> str:
    """A line over the periods; gaps where a value is missing; the last point marked and
    coloured by whether the indicator moved the right way."""
    present = [v for v in values if _ok(v)]
    svg = (
        f'<svg class="spark" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
    )
    if not present:
        return svg + "</svg>"
    low, high = min(present), max(present)
    pad = 3.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)

    def y(value: float) -> float:
        if high == low:
            return height / 2
        share = (value - low) / (high - low)
        return height - pad - share * (height - 2 * pad)

    def x(index: int) -> float:
        return pad + index * step if len(values) > 1 else width / 2

    segments: list[list[str]] = [[]]
    for index, value in enumerate(values):
        if _ok(value):
            segments[-1].append(f"{_n(x(index))},{_n(y(value))}")
        elif segments[-1]:
            segments.append([])
    parts = [svg]
    for points in segments:
        if len(points) > 1:
            parts.append(
                f'<polyline fill="none" stroke="{INK}" stroke-width="1.5" '
                f'points="{" ".join(points)}"/>'
            )
    last = max(i for i, v in enumerate(values) if _ok(v))
    colour = INK
    earlier = [v for v in values[:last] if _ok(v)]
    if earlier and better in ("higher", "lower") and earlier[-1] != values[last]:
        rose = values[last] > earlier[-1]
        colour = GOOD if rose == (better == "higher") else POOR
    for index, value in enumerate(values):
        if _ok(value):
            radius = 2.5 if index == last else 1.2
            fill = colour if index == last else INK
            parts.append(
                f'<circle cx="{_n(x(index))}" cy="{_n(y(value))}" r="{radius}" fill="{fill}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def bullet(
    value: float | None,
    threshold: float | None,
    target: float | None,
    stretch: float | None,
    better: str,
    tone: str,
    *,
    width: int = 160,
    height: int = 18,
) -> str:
    """The value as a bar against the curve's threshold, target and stretch ticks, coloured
    by `tone` (good, middle, poor). For `better lower` the axis runs right to left, so
    further right is always better."""
    marks = [m for m in (threshold, target, stretch) if _ok(m)]
    points = [*marks, value] if _ok(value) else marks
    svg = (
        f'<svg class="bullet" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
    )
    if not points:
        return svg + "</svg>"
    low, high = min(points), max(points)
    if better == "higher":
        low = min(low, 0.0) if low >= 0 else low
    span = high - low or abs(high) or 1.0
    low, high = low - 0.05 * span, high + 0.05 * span
    flip = better == "lower"

    def x(amount: float) -> float:
        share = (amount - low) / (high - low)
        return (1 - share if flip else share) * width

    parts = [svg, f'<rect x="0" y="6" width="{width}" height="6" fill="{GRID}"/>']
    if _ok(value):
        colour = {"good": GOOD, "middle": MIDDLE}.get(tone, POOR)
        start, end = 0.0, x(value)  # from the worse end of the axis
        if better == "closer":
            start, end = sorted((x(value) - 1.5, x(value) + 1.5))
        parts.append(
            f'<rect x="{_n(start)}" y="5" width="{_n(max(end - start, 1.5))}" height="8" '
            f'fill="{colour}"/>'
        )
    for mark, tall in ((threshold, False), (target, True), (stretch, False)):
        if _ok(mark):
            top, bottom = (1, height - 1) if tall else (3, height - 3)
            parts.append(
                f'<line x1="{_n(x(mark))}" y1="{top}" x2="{_n(x(mark))}" y2="{bottom}" '
                f'stroke="{INK}" stroke-width="{2 if tall else 1}"/>'
            )
    parts.append("</svg>")
    return "".join(parts)


def text_sparkline(values: Sequence[float | None]) -> str:
    """▁▃▅█ blocks for Markdown; a space where a value is missing."""
    present = [v for v in values if _ok(v)]
    if not present:
        return ""
    low, high = min(present), max(present)
    out = []
    for value in values:
        if not _ok(value):
            out.append(" ")
        elif high == low:
            out.append(_BLOCKS[3])
        else:
            out.append(_BLOCKS[round((value - low) / (high - low) * (len(_BLOCKS) - 1))])
    return "".join(out)
