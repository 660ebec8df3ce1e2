"""Column widths for the width a table has (no Textual).

Every table of the TUI sizes its columns the same way: each column wants its widest
text (counted in terminal cells, so a Chinese character is two). Columns join in order
of importance while they fit; a text column may shorten (down to its minimum) to make
room for columns that matter enough (`yields_to`), and the rest are left out — their
values are shown elsewhere (a line under the table), never cut in the table itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len


@dataclass(frozen=True)
class Want:
    """What one column asks for."""

    key: str
    natural: int  # cells for its widest text (header included)
    minimum: int | None = None  # may shrink to this (None: never shrinks)
    rank: int = 0  # importance: 0 first; the highest rank is left out first
    yields_to: int = 1_000  # shrinks only to make room for columns up to this rank


@dataclass(frozen=True)
class Fit:
    widths: dict[str, int]  # the columns shown, in their order, with their widths
    hidden: tuple[str, ...]  # the columns left out, in their order


def widest(texts: Iterable[str], at_least: int = 1) -> int:
    """The widest of `texts` in terminal cells (CJK characters count two)."""
    return max([at_least, *(cell_len(t) for t in texts)])


def _floor(column: Want, shown: list[Want]) -> int:
    """The narrowest `column` may be beside `shown`: its minimum only when every less
    important column there is one it yields to."""
    if column.minimum is None:
        return column.natural
    lesser = [c.rank for c in shown if c.rank > column.rank]
    return column.minimum if all(r <= column.yields_to for r in lesser) else column.natural


def fit(wants: Sequence[Want], available: int, padding: int = 1) -> Fit:
    """Widths for `wants` in `available` cells; each column also takes `padding` cells
    on both sides. The most important column is always shown, however narrow."""

    def need(columns: list[Want]) -> int:
        return sum(_floor(c, columns) + 2 * padding for c in columns)

    by_rank = sorted(wants, key=lambda c: (c.rank, wants.index(c)))
    shown = by_rank[:1]
    for candidate in by_rank[1:]:  # the next most important, if it fits
        if need([*shown, candidate]) <= available:
            shown.append(candidate)
    widths = {c.key: c.natural for c in shown}
    excess = sum(c.natural + 2 * padding for c in shown) - available
    floors = {c.key: _floor(c, shown) for c in shown}
    # Take the cells still missing from the widest shrinkable columns first, so a long
    # name is shortened before a short one.
    while excess > 0:
        room = [c for c in shown if widths[c.key] > floors[c.key]]
        if not room:
            break
        victim = max(room, key=lambda c: widths[c.key] - floors[c.key])
        widths[victim.key] -= 1
        excess -= 1
    if len(shown) == 1 and excess > 0:  # one column wider than the screen: cut it
        only = shown[0].key
        widths[only] = max(1, widths[only] - excess)
    kept = {c.key for c in shown}
    return Fit(
        {c.key: widths[c.key] for c in wants if c.key in kept},
        tuple(c.key for c in wants if c.key not in kept),
    )
