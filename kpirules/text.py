"""What kpirules shows a person: text whose control characters are made visible.

Policy text and data come from many hands. A cell holding `ESC ] 0 ; … BEL` sets the
terminal's window title, `ESC [ 2 J` clears the screen, U+202E turns the rest of a line
around. `neutralise` is the one function that turns every such character into a visible
escape (`\\x1b`, `\\u202e`); the writers apply it, so no command has to:

- `SafeConsole` — every rich table, tree and line the commands print;
- `to_json` — JSON output (json.dumps escapes C0; this escapes DEL, C1 and bidi too);
- `neutralise_frame` — tables a screen draws cell by cell (the TUI's session);
- the CLI's plain-text writer (`kpirules.cli.common.echo` / `emit`) and the Markdown
  files `feedback -o` writes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
from rich.console import Console
from rich.segment import Segment
from rich.text import Text

# C0 and C1 controls and DEL; the invisible characters that reorder or hide text: the
# bidi embeddings, overrides and isolates, the directional marks, line and paragraph
# separators, zero-width space, word joiner and the byte-order mark. (The zero-width
# joiner and non-joiner are left alone: Persian, Indic and emoji text needs them.)
_UNSAFE = "\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_UNSAFE_RE = re.compile(f"[{_UNSAFE}]")
# In JSON text a raw newline, CR or tab can only be layout (json.dumps escapes them in
# strings): the rest is what a document must not carry raw.
_JSON_UNSAFE_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f" + _UNSAFE.removeprefix("\x00-\x1f") + "]"
)


def escape_char(char: str) -> str:
    """`\\x1b` for a character below U+0100, `\\u202e` above."""
    point = ord(char)
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}"


def neutralise(text: str, keep: str = "\n\t") -> str:
    """`text` with every control or invisible formatting character (but those in `keep`)
    replaced by its visible escape. Idempotent: the result holds none of them."""
    if not _UNSAFE_RE.search(text):  # the common case, at the cost of one scan
        return text
    return _UNSAFE_RE.sub(lambda m: m[0] if m[0] in keep else escape_char(m[0]), text)


def clip(text: str, limit: int = 40) -> str:
    """The first `limit` characters of `text`, neutralised, with `…` when cut: for
    quoting a file that may hold anything."""
    cut = text[:limit]
    return neutralise(cut, keep="") + ("…" if len(text) > limit else "")


def to_json(value: Any, **options: Any) -> str:
    """json.dumps(value, ensure_ascii=False, …), with DEL, C1 and the invisible formatting
    characters written as `\\uXXXX` too: the same JSON value, nothing raw for a terminal.
    (They can only occur inside strings, so the replacement keeps the document valid.)"""
    return escape_json(json.dumps(value, ensure_ascii=False, **options))


def escape_json(text: str) -> str:
    """JSON text with DEL, C1 and the invisible formatting characters as `\\uXXXX`.
    json.dumps leaves no raw C0 in strings: what is left of it is the layout (indent)."""
    if not _JSON_UNSAFE_RE.search(text):
        return text
    return _JSON_UNSAFE_RE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with `neutralise` applied to every text cell (a copy where anything changed):
    for a screen that draws cells itself (the TUI) rather than through these writers."""
    changed = {}
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind not in "OSUT" and not pd.api.types.is_string_dtype(values):
            continue
        texts = values.map(lambda v: isinstance(v, str) and bool(_UNSAFE_RE.search(v)))
        unsafe = texts.astype(bool)
        if unsafe.any():
            changed[column] = values.where(~unsafe, values[unsafe].map(neutralise))
    return frame.assign(**changed) if changed else frame


def plain(value: object) -> Text:
    """A value from data or a policy as rich text: never read as markup (so `[link=…]`
    in a name stays text), its control characters neutralised."""
    return Text(neutralise(str(value)))


class SafeConsole(Console):
    """A rich Console that neutralises what it prints: strings before layout (so columns
    stay aligned), and every segment of text after (for renderables built elsewhere).
    Rich's own styling is not text and is left alone."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(neutralise(text), **options)

    def render(self, renderable, options=None):
        for segment in super().render(renderable, options):
            if segment.control is None and _UNSAFE_RE.search(segment.text):
                yield Segment(neutralise(segment.text), segment.style)
            else:
                yield segment
