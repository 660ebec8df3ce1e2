"""Find policy files, read them safely, follow imports.

A *policy unit* is what `check`, `eval` and the API work on: a folder's `.kpi` files
(they share one namespace), or a single file, plus everything they import. Imports and
data paths are confined to the project root: the nearest folder above the policy with a
`pyproject.toml`, `.kpirules.toml`, `kpirules.toml` or `.git`, else the policy's folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kpirules import ast
from kpirules.diagnostics import NO_SPAN, Diagnostic, SourceCache, Span, error
from kpirules.parser import normalize, parse
from kpirules.paths import confine, display_path, find_root

MAX_FILE_BYTES = 5 * 1024 * 1024  # no real policy file comes near this
EXTENSION = ".kpi"


@dataclass
class Unit:
    """The files of one policy, parsed, in a stable order (entry files, then imports)."""

    name: str  # the path the user gave (folder or file)
    root: Path
    modules: list[ast.Module] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: SourceCache = field(default_factory=SourceCache)


def discover(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Expand the paths the user gave into policy units: one per folder holding `.kpi`
    files (searched recursively), or one per file named directly. Returns (units, missing)."""
    units: list[Path] = []
    missing: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            units.append(path)
        elif path.is_dir():
            folders = sorted({p.parent for p in policy_files(path)})
            units.extend(folders)
            if not folders:
                missing.append(raw)
        else:
            missing.append(raw)
    seen: set[Path] = set()
    unique = []
    for unit in units:
        key = unit.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(unit)
    return unique, missing


def policy_files(folder: Path) -> list[Path]:
    """Every policy file under `folder`: regular `.kpi` files, hidden folders skipped
    (a pipe or a folder named like a policy file is not one)."""
    return sorted(p for p in folder.rglob(f"*{EXTENSION}") if _visible(p, folder) and p.is_file())


def _visible(path: Path, base: Path) -> bool:
    parts = path.relative_to(base).parts
    return not any(
        part.startswith(".") or part in ("__pycache__", "node_modules") for part in parts
    )


def read_text(path: Path, shown: str) -> tuple[str | None, Diagnostic | None]:
    """Read a policy file as UTF-8 text, refusing what is not text."""
    first = Span(shown, 1, 1, 1, 2)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, error(
                "E006",
                f"file is {size / 1048576:.1f} MB; policy files are "
                f"limited to {MAX_FILE_BYTES // 1048576} MB",
                first,
                hint="split the policy into several files",
            )
        data = path.read_bytes()
    except OSError as exc:
        return None, error("E007", f"cannot read file: {exc.strerror or exc}", first)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _position(data[: exc.start].decode("utf-8", errors="replace"))
        return None, error(
            "E004",
            f"not UTF-8 text: byte 0x{data[exc.start]:02X} at offset {exc.start}",
            Span(shown, line, column, line, column + 1),
            hint="save the file as UTF-8",
        )
    if "\x00" in text:
        line, column = _position(text[: text.index("\x00")])
        return None, error(
            "E004",
            "binary data (a NUL byte) in a policy file",
            Span(shown, line, column, line, column + 1),
        )
    return text, None


def _position(before: str) -> tuple[int, int]:
    """Line and column (in characters) just after `before`, counting line ends as the
    parser does (CRLF, LF or a lone CR)."""
    before = normalize(before)
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def load_unit(path: str | Path, root: Path | None = None) -> Unit:
    """Parse a policy unit (folder or file) and everything it imports."""
    path = Path(path)
    root = (root or find_root(path)).resolve()
    unit = Unit(str(path), root)
    entries = sorted(path.glob(f"*{EXTENSION}")) if path.is_dir() else [path]
    entries = [p for p in entries if p.is_file()]
    if not entries:
        unit.diagnostics.append(
            error("E105", f"no {EXTENSION} files in {path}", Span(str(path), 1, 1, 1, 1))
        )
        return unit
    loaded: dict[Path, ast.Module | None] = {}
    # Depth-first over imports; `stack` holds the chain for cycle detection.
    for entry in entries:
        target = confine(entry, root)
        if target is None:
            unit.diagnostics.append(outside_root(entry, root))
            continue
        _load_file(target, unit, loaded, [])
    return unit


def outside_root(entry: Path, root: Path) -> Diagnostic:
    """E102 for a policy file (a symbolic link) whose target lies outside the root: named
    by the link, never read, so nothing of the target is shown."""
    return error(
        "E102",
        f"policy file '{entry}' leads outside the project root ({display_path(root)})",
        Span(str(entry), 1, 1, 1, 1),
        hint="it is a symbolic link to a file outside the project; copy the file in instead",
    )


def _load_file(path: Path, unit: Unit, loaded: dict, stack: list[Path]) -> None:
    if path in loaded:
        return
    shown = display_path(path)
    text, problem = read_text(path, shown)
    if problem:
        loaded[path] = None
        unit.diagnostics.append(problem)
        return
    unit.sources.add(shown, normalize(text))
    module, diagnostics = parse(text, shown)
    loaded[path] = module
    unit.diagnostics.extend(diagnostics)
    if module is None:
        return
    unit.modules.append(module)
    for item in module.items:
        if isinstance(item, ast.Import):
            target = _resolve_import(item, path, unit, [*stack, path])
            if target is not None:
                _load_file(target, unit, loaded, [*stack, path])


def _resolve_import(item: ast.Import, importer: Path, unit: Unit, chain: list[Path]) -> Path | None:
    raw = item.path.value
    span = item.path.span
    if not raw.endswith(EXTENSION):
        unit.diagnostics.append(
            error("E104", f"imports must name a {EXTENSION} file: {raw!r}", span)
        )
        return None
    target = confine(raw, unit.root, importer.parent)
    if target is None:
        unit.diagnostics.append(
            error(
                "E102",
                f"import {raw!r} points outside the project root ({display_path(unit.root)})",
                span,
                hint="keep shared policy files inside the project",
            )
        )
        return None
    if target in chain:
        cycle = " → ".join(display_path(p) for p in [*chain[chain.index(target) :], target])
        unit.diagnostics.append(
            error(
                "E103",
                f"import cycle: {cycle}",
                span,
                hint="move the shared declarations into a third file",
            )
        )
        return None
    if not target.is_file():
        unit.diagnostics.append(error("E101", f"imported file not found: {raw!r}", span))
        return None
    return target


def confined(
    path: str, base: Path, root: Path, span: Span = NO_SPAN
) -> tuple[Path | None, Diagnostic | None]:
    """Resolve a data or fixture path against `base`, refusing anything outside `root`."""
    target = confine(path, root, base)
    if target is None:
        return None, error("E102", f"path {path!r} points outside the project root", span)
    return target, None
