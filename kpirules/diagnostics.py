"""One diagnostic type for every stage: parser, checker, linter and evaluator."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from rich.cells import cell_len

from kpirules.text import neutralise


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns count from 1."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


NO_SPAN = Span("<none>", 0, 0, 0, 0)


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span = NO_SPAN
    hint: str | None = None
    notes: tuple[tuple[str, Span], ...] = field(default=())

    @property
    def sort_key(self) -> tuple:
        return (self.span.file, self.span.line, self.span.column, self.code, self.message)

    def to_dict(self) -> dict:
        data: dict = {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
        }
        if self.hint:
            data["hint"] = self.hint
        return data


def error(code: str, message: str, span: Span = NO_SPAN, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, hint)


def warning(code: str, message: str, span: Span = NO_SPAN, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span, hint)


class KpiError(Exception):
    """Raised by the Python API when a policy does not load; carries every diagnostic."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=lambda d: d.sort_key)
        first = self.diagnostics[0] if self.diagnostics else None
        summary = f"{first.span}: {first.code} {first.message}" if first else "policy did not load"
        more = len(self.diagnostics) - 1
        super().__init__(summary + (f" (and {more} more)" if more > 0 else ""))


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity >= Severity.ERROR for d in diagnostics)


class SourceCache:
    """Keeps the text of every file read so diagnostics can quote their line."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def add(self, file: str, text: str) -> None:
        self._lines[file] = text.split("\n")

    def merge(self, other: SourceCache) -> None:
        self._lines.update(other._lines)

    def line(self, file: str, number: int) -> str | None:
        lines = self._lines.get(file)
        if lines is None:
            # A file not read by the loader: quoted only when it is a plain file, never
            # through a symbolic link (the loader refuses those that leave the root).
            try:
                if Path(file).is_symlink():
                    return None
                text = Path(file).read_text(encoding="utf-8-sig", errors="replace")
            except OSError:
                return None
            lines = text.replace("\r\n", "\n").split("\n")
            self._lines[file] = lines
        if 1 <= number <= len(lines):
            return lines[number - 1]
        return None


def visible(text: str) -> str:
    """One line for the terminal: tabs as spaces, every other control or invisible
    formatting character as its visible escape (`\\x1b`), so a policy file cannot send
    escape sequences to the terminal (kpirules.text.neutralise)."""
    return neutralise(text.replace("\t", " "), keep="")


def render_text(diagnostic: Diagnostic, sources: SourceCache | None = None) -> str:
    """`file:line:col: CODE message`, the source line with a caret, then the hint."""
    span = diagnostic.span
    out = [neutralise(f"{span}: {diagnostic.code} {diagnostic.message}")]
    source_line = sources.line(span.file, span.line) if sources and span.line else None
    if source_line is not None:
        raw = source_line.rstrip("\r")
        # Columns count characters of the raw line; an escaped character takes several.
        caret_col = len(visible(raw[: max(span.column, 1) - 1])) + 1
        width = 1
        if span.end_line == span.line and span.end_column > span.column:
            width = len(visible(raw[span.column - 1 : span.end_column - 1]))
        shown = visible(raw)
        if len(shown) > 200:  # a minified or binary line: show the region around the caret
            start = max(0, caret_col - 80)
            shown = ("…" if start else "") + shown[start : start + 160]
            caret_col = caret_col - start + (1 if start else 0)
        width = min(width, max(1, len(shown) - caret_col + 1))
        gutter = f"{span.line:>5} | "
        out.append(gutter + shown)
        # Pad by display cells so the caret stays under CJK text, which is two cells wide.
        pad = cell_len(shown[: max(caret_col, 1) - 1])
        out.append(" " * (len(gutter) + pad) + "^" * max(width, 1))
    if diagnostic.hint:
        out.append(neutralise(f"  hint: {diagnostic.hint}"))
    return "\n".join(out)
