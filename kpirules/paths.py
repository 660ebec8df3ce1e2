"""The project-root rule: every file kpirules reads or writes stays inside a root.

Policy files, imports, test fixtures, data files, the data binding, the lint
configuration and every output (`-o`, `--record`, `fmt` rewrites) are resolved — symbolic
links followed — and refused when they land outside their root. A committed symbolic link
`policies/evil.kpi -> /etc/passwd` is then neither read (its first line would be quoted
in a CI log) nor rewritten.

The root of a path the user gives is the nearest folder at or above it holding one of
ROOT_MARKERS, else its own folder (or `--root`). A folder the user names is taken as
resolved; a *file* the user names is not: its root is found from the folder it sits in,
so a link there cannot carry the root along with it.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_MARKERS = ("pyproject.toml", ".kpirules.toml", "kpirules.toml", ".git")


def display_path(path: str | os.PathLike) -> str:
    """Paths in messages: relative to the working directory when below it."""
    try:
        resolved = Path(path).resolve()
        cwd = Path.cwd().resolve()
    except (OSError, RuntimeError):  # a symlink loop, a vanished folder
        return str(path)
    if resolved.is_relative_to(cwd):
        return str(resolved.relative_to(cwd))
    return str(resolved)


def find_root(start: str | os.PathLike) -> Path:
    """The project root of `start` (a file or folder), resolved."""
    start = Path(start)
    folder = start.resolve() if start.is_dir() else Path(os.path.abspath(start)).parent.resolve()
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    return folder


def confine(path: str | os.PathLike, root: Path, base: Path | None = None) -> Path | None:
    """`path` (relative to `base` when given) resolved, or None when it leads outside
    `root`. The one test of the rule; everything that reads or writes a file uses it."""
    try:
        target = ((base / path) if base is not None else Path(path)).resolve()
        inside = target.is_relative_to(Path(root).resolve())
    except (OSError, RuntimeError):  # a symbolic link loop
        return None
    return target if inside else None


class OutsideRoot(ValueError):
    """An output path that leads outside its root; the message says which and where."""


def output_path(path: str | os.PathLike) -> Path:
    """Where an output named `path` lands, checked: a file or folder that is (or sits in)
    a symbolic link leading outside the project root of the folder `path` is named in
    is refused."""
    root = find_root(Path(os.path.abspath(path)).parent)
    target = confine(path, root)
    if target is None:
        raise OutsideRoot(
            f"{os.fspath(path)}: refusing to write there: it is a symbolic link (or lies "
            f"in one) that leads outside the project root ({display_path(root)})"
        )
    return target
