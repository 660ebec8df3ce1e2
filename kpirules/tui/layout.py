"""Column widths for the width a table has (no Textual).

Every table of the TUI sizes its columns the same way: each column wants its widest
text (counted in terminal cells, so a Chinese character is two); when that does not fit,
text columns that may shrink give up cells down to their minimum, and when even that
does not fit, the least important columns are left out — their values are shown
elsewhere (a detail line under the table), never cut mid-word in the table itself.
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
    rank: int = 0  # importance: the highest rank is left out first


@dataclass(frozen=True)
class Fit:
    widths: dict[str, int]  # the columns shown, in their order, with their widths
    hidden: tuple[str, ...]  # the columns left out, in their order


def widest(texts: Iterable[str], at_least: int = 1) -> int:
    """The widest of `texts` in terminal cells (CJK characters count two)."""
    return max([at_least, *(cell_len(t) for t in texts)])


def fit(wants: Sequence[Want], available: int, padding: int = 1) -> Fit:
    """Widths for `wants` in `available` cells; each column also takes `padding` cells
    on both sides. The first column (by rank) is always shown, however narrow."""
    shown = list(wants)

    def need(columns: list[Want], shrunk: bool) -> int:
        return sum(
            (c.minimum if shrunk and c.minimum is not None else c.natural) + 2 * padding
            for c in columns
        )

    # Leave out the least important columns until the rest fit at their minimum.
    while len(shown) > 1 and need(shown, shrunk=True) > available:
        shown.remove(max(shown, key=lambda c: (c.rank, shown.index(c))))
    widths = {c.key: c.natural for c in shown}
    excess = need(shown, shrunk=False) - available
    # Then take the cells still missing from the widest shrinkable columns first, so
    # a long name is shortened before a short one.
    while excess > 0:
        room = [c for c in shown if c.minimum is not None and widths[c.key] > c.minimum]
        if not room:
            break
        victim = max(room, key=lambda c: widths[c.key] - c.minimum)
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
