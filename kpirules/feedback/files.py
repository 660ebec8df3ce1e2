"""Writing sheets into an output folder: safe file names, and nothing outside the folder.

File names come from roster ids, which come from data: `../x`, `a/b`, `CON` or `index`
must neither escape the folder, nor clash with another file, nor overwrite the index.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

from kpirules.feedback.display import Formatter
from kpirules.feedback.labels import Labels
from kpirules.feedback.render import IndexEntry, Words, render, render_index
from kpirules.feedback.sheet import Sheet

INDEX = "index"
_UNSAFE = re.compile(r"[^\w\-]+")  # \w is Unicode: Chinese ids stay readable
_RESERVED = {"con", "prn", "aux", "nul", INDEX}
_RESERVED |= {f"{device}{n}" for device in ("com", "lpt") for n in range(10)}
MAX_STEM = 80


class OutputError(OSError):
    """The output folder cannot be written as asked."""


def safe_name(key: str, extension: str) -> str:
    """A file name for `key`: the key itself when it is safe, else a cleaned version with a
    short hash of the original, so that two different ids never share a file."""
    stem = _UNSAFE.sub("_", key).strip("._")[:MAX_STEM]
    if stem != key or stem.lower() in _RESERVED or not stem:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
        stem = f"{stem}-{digest}" if stem else digest
    return f"{stem}.{extension}"


def prepare(folder: str | os.PathLike) -> Path:
    """The output folder, created if needed; an existing file there is an error."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{folder} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {folder}: {exc.strerror or exc}") from None
    return path


def write(folder: Path, name: str, text: str) -> Path:
    """Write `text` to `folder/name`. The name must be a plain file name, and an existing
    symbolic link there is refused rather than followed out of the folder."""
    if name != Path(name).name or name in ("", ".", ".."):
        raise OutputError(f"not a plain file name: {name!r}")
    target = folder / name
    if target.is_symlink():
        raise OutputError(f"refusing to write through the symbolic link {target}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(target, flags, 0o644)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def write_sheets(
    folder: str | os.PathLike,
    sheets: Sequence[Sheet],
    output_format: str,
    labels: Labels,
    *,
    manager: tuple[str, str] | None = None,
    as_of: str | None = None,
) -> list[Path]:
    """One file per sheet, then the index linking each. With `manager` (id, display
    name) also the team's bundle (an overview, then every sheet: one file to print
    the team), first in the index. Returns the files written, index last."""
    path = prepare(folder)
    words = Words(labels, Formatter(labels, sheets[0].currency if sheets else None))
    entries: list[IndexEntry] = []
    written: list[Path] = []
    people = [safe_name(sheet.person.subject, output_format) for sheet in sheets]
    if manager is not None:
        key, shown = manager
        name = safe_name(key, output_format)
        if name in people:  # a manager on their own team: the bundle gets another name
            name = safe_name(f"{key}/team", output_format)
        text = render(sheets, output_format, labels, manager=shown, as_of=as_of)
        written.append(write(path, name, text))
        detail = labels.format("sheets_count", count=len(sheets))
        entries.append(IndexEntry(name, shown, sheets[0].period if sheets else "", detail))
    for sheet, name in zip(sheets, people, strict=True):
        written.append(write(path, name, render([sheet], output_format, labels, as_of=as_of)))
        detail = "; ".join(words.labelled(c.label, words.outcome(c)) for c in sheet.cards)
        person = words.person(sheet.person.name, sheet.person.subject)
        entries.append(IndexEntry(name, person, sheet.period, detail))
    policy = sheets[0].policy if sheets else ""
    index = render_index(entries, output_format, labels, policy, count=len(sheets))
    written.append(write(path, f"{INDEX}.{output_format}", index))
    return written
