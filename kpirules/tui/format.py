"""How numbers look in the TUI: one place, so every screen agrees."""

from __future__ import annotations

import math

from rich.text import Text

BAR_FULL, BAR_EMPTY = "█", "░"
PARTIALS = " ▏▎▍▌▋▊▉"
SPARKS = "▁▂▃▄▅▆▇█"
MISSING = "—"


def missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(math.isnan(value))
    except TypeError:
        return value is None


def number(value, digits: int = 1) -> str:
    """12,345.6 — or an em dash for a missing value."""
    if missing(value):
        return MISSING
    return f"{float(value):,.{digits}f}"


def money(value, currency: str | None = None) -> str:
    if missing(value):
        return MISSING
    return f"{float(value):,.2f}" + (f" {currency}" if currency else "")


def share(value, digits: int = 0) -> str:
    """A fraction as a percentage: 0.153 → 15%."""
    if missing(value):
        return MISSING
    return f"{float(value) * 100:.{digits}f}%"


def measure(value, unit: str | None) -> str:
    """An indicator's value in its unit: percentages as %, money with separators."""
    if missing(value):
        return MISSING
    value = float(value)
    if unit in ("percent", "%"):
        return f"{value * 100:.1f}%"
    if unit and unit.isupper() and len(unit) == 3:  # a currency code
        return f"{value:,.0f}"
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def bar(fraction: float, width: int, style: str = "") -> Text:
    """A horizontal bar `width` cells wide, filled to `fraction` (eighths of a cell)."""
    if missing(fraction) or width <= 0:
        return Text(" " * max(width, 0))
    fraction = min(max(float(fraction), 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    body = BAR_FULL * full + (PARTIALS[part] if part else "")
    return Text(body.ljust(width), style=style)


def sparkline(values) -> str:
    """▁▃▆█ from a sequence of numbers; a space where a value is missing."""
    present = [float(v) for v in values if not missing(v)]
    if not present:
        return " " * len(list(values))
    low, high = min(present), max(present)
    span = high - low
    out = []
    for v in values:
        if missing(v):
            out.append(" ")
        elif span == 0:
            out.append(SPARKS[len(SPARKS) // 2])
        else:
            out.append(SPARKS[round((float(v) - low) / span * (len(SPARKS) - 1))])
    return "".join(out)


def scale_bar(value, threshold, target, stretch, better: str, width: int = 12) -> Text:
    """Where a value sits between threshold (left) and stretch (right), with the target
    marked: green at or past target, yellow between threshold and target, red below."""
    points = (value, threshold, stretch)
    if any(missing(p) for p in points) or better == "closer" or threshold == stretch:
        return Text(" " * width)
    low, high = float(threshold), float(stretch)
    position = (float(value) - low) / (high - low)  # works for `better lower` too: high < low
    fraction = min(max(position, 0.0), 1.0)
    at_target = None if missing(target) else (float(target) - low) / (high - low)
    reached = at_target is not None and position >= at_target
    style = "green" if reached else ("yellow" if position >= 0 else "red")
    text = bar(fraction, width, style)
    if at_target is not None and 0 <= at_target <= 1:
        mark = min(width - 1, int(at_target * width))
        text = text[:mark] + Text("│", style="bold white") + text[mark + 1 :]
    return text
