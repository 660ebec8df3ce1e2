"""Run records: an evaluation's inputs, parameters and results, frozen in a folder, and the
check that re-runs them to prove nothing changed since.

A record (`kpirules eval … --record DIR`) holds

    manifest.json   what was run (parameters, sources, every file's role and SHA-256), and
                    `manifest_sha256`, the SHA-256 of the manifest's canonical JSON
    results.json    exactly what `eval --format json` prints for the run
    policy/…        every policy file of the unit, its imports and its test fixtures, at their
                    paths relative to the policy's project root
    data/…          the data binding (if any) and every data file it resolved, at their paths
                    relative to the data's project root

The evaluation that produces results.json runs on the copies, not the originals, and
`verify` runs it again the same way: paths inside the results (a finding's file, an
action's rule) are the project-relative paths, whatever the working directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from kpirules import __version__, ast, model
from kpirules.api import check_unit
from kpirules.diagnostics import Severity
from kpirules.loader import Unit, find_root
from kpirules.resources import schema

FORMAT = "kpirules-run-record"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
RESULTS = "results.json"
POLICY_DIR = "policy"
DATA_DIR = "data"
ROLES = ("policy", "fixture", "binding", "data", "results")
ROLE_FOLDER = {"policy": POLICY_DIR, "fixture": POLICY_DIR, "binding": DATA_DIR, "data": DATA_DIR}
UNHASHED = ("manifest_sha256", "created_at")  # what the manifest hash leaves out
MAX_DIFFERENCES = 10
MAX_MANIFEST_BYTES = 10 * 1024 * 1024
CHUNK = 1024 * 1024


class RecordError(Exception):
    """A run record cannot be written (the folder is not empty, a file cannot be copied)."""


class RunError(Exception):
    """The recorded run cannot be re-run (the copied policy no longer checks, …)."""

    def __init__(self, message: str, details: list[str] | None = None):
        super().__init__(message)
        self.details = details or []


# ------------------------------------------------------------------ hashing


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def canonical(manifest: dict) -> bytes:
    """What `manifest_sha256` is computed over: the manifest without that field and the
    timestamp, as JSON with sorted keys, no whitespace, UTF-8."""
    body = {key: value for key, value in manifest.items() if key not in UNHASHED}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


def manifest_sha256(manifest: dict) -> str:
    return hashlib.sha256(canonical(manifest)).hexdigest()


# ------------------------------------------------------------------ writing


def write_record(
    target: str | Path,
    unit: Unit,
    policy: model.Policy,
    data: str,
    period: str | None,
    as_of: date | None = None,
    policy_arg: str | None = None,
    progress=None,
):
    """Copy the inputs of `policy` (already loaded and checked from `unit`) and `data` into
    the empty or new folder `target`, evaluate the copies, and write results.json and
    manifest.json. Returns (results, manifest hash). Raises RecordError, or the engine's
    DataError / EvaluationError; on any failure nothing is left at `target`."""
    from kpirules.data.binding import BINDING_NAMES, resolve

    target = Path(target)
    _refuse_existing(target)
    specs = resolve(data, policy)  # DataError: the caller reports it
    in_database = sorted(name for name, spec in specs.items() if spec.path is None)
    if in_database:  # a record re-runs from its own copies; a database is not copied
        raise RecordError(
            f"source {', '.join(in_database)} is read from a database, and a run record keeps "
            "copies of files only: export it (e.g. to Parquet) and bind the file to record"
        )
    as_of = as_of or date.today()

    policy_root = unit.root.resolve()
    data_path = Path(data)
    if data_path.is_dir():  # as `resolve` does: its data.yaml if it has one
        binding = next((data_path / n for n in BINDING_NAMES if (data_path / n).is_file()), None)
    else:
        binding = data_path
    data_root = find_root(data_path).resolve()

    inputs: list[tuple[str, Path, str]] = []  # role, original, path in the record
    for original in sorted({Path(module.path).resolve() for module in unit.modules}):
        inputs.append(("policy", original, _place(POLICY_DIR, original, policy_root)))
    for original in _fixture_files(unit, policy_root):
        inputs.append(("fixture", original, _place(POLICY_DIR, original, policy_root)))
    if binding is not None:
        inputs.append(("binding", binding.resolve(), _place(DATA_DIR, binding, data_root)))
    sources: dict[str, dict] = {}
    seen_data: set[str] = set()
    for name in sorted(specs):
        spec = specs[name]
        placed = _place(DATA_DIR, spec.path, data_root)
        sources[name] = {
            "path": placed,
            "format": spec.format,
            "sheet": spec.sheet,
            "encoding": spec.encoding,
            "delimiter": spec.delimiter,
            "rename": dict(spec.rename),
            "options": dict(spec.options),  # layout and formats (header_row, formats, …)
        }
        if placed not in seen_data:  # two sources may read the same file
            seen_data.add(placed)
            inputs.append(("data", spec.path.resolve(), placed))

    unit_path = Path(unit.name).resolve()
    if not unit_path.is_relative_to(policy_root):
        raise RecordError(f"{unit.name} is outside its project root {policy_root}")
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kpirules_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": {
            "policy_arg": unit.name if policy_arg is None else policy_arg,
            "data_arg": str(data),
            "policy": unit_path.relative_to(policy_root).as_posix(),
            "period": period,
            "as_of": as_of.isoformat(),
        },
        "sources": sources,
        "files": [],
    }

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as exc:
        raise RecordError(f"cannot create the run record {target}: {_reason(exc)}") from None
    try:
        files = []
        for role, original, placed in inputs:
            copy = staging / placed
            try:
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(original, copy)
            except OSError as exc:
                raise RecordError(
                    f"cannot copy {original} into the record: {_reason(exc)}"
                ) from None
            files.append(_entry(role, placed, copy))
        results = run(staging, manifest, progress=progress)
        (staging / RESULTS).write_bytes(results.to_json().encode("utf-8"))
        files.append(_entry("results", RESULTS, staging / RESULTS))
        manifest["files"] = sorted(files, key=lambda f: (ROLES.index(f["role"]), f["path"]))
        manifest["manifest_sha256"] = manifest_sha256(manifest)
        text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
        (staging / MANIFEST).write_bytes(text.encode("utf-8"))
        for path in staging.rglob("*"):
            if path.is_file():
                path.chmod(0o444)
        _refuse_existing(target)  # nobody wrote there meanwhile
        if target.is_dir():
            target.rmdir()
        staging.rename(target)
    except OSError as exc:
        _remove(staging)
        raise RecordError(f"cannot write the run record {target}: {_reason(exc)}") from None
    except BaseException:
        _remove(staging)
        raise
    return results, manifest["manifest_sha256"]


def _refuse_existing(target: Path) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise RecordError(f"{target} exists and is not a folder; a run record needs a new folder")
    if target.is_dir():
        try:
            empty = next(target.iterdir(), None) is None
        except OSError as exc:
            raise RecordError(f"cannot read {target}: {_reason(exc)}") from None
        if not empty:
            raise RecordError(
                f"{target} is not empty; a run record is never overwritten (choose a new folder)"
            )


def _fixture_files(unit: Unit, root: Path) -> list[Path]:
    """Files the policy's test blocks read (`given orders from "…"`): the checker insists
    they exist, so the copied policy needs them too."""
    found: set[Path] = set()
    for module in unit.modules:
        base = Path(module.path).resolve().parent
        for item in module.items:
            if not isinstance(item, ast.TestDecl):
                continue
            for stmt in item.body:
                if isinstance(stmt, ast.GivenFile):
                    target = (base / stmt.path.value).resolve()
                    if target.is_file() and target.is_relative_to(root):
                        found.add(target)
    return sorted(found)


def _place(folder: str, path: Path, root: Path) -> str:
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(root):
        raise RecordError(f"{path} is outside the project root {root}")
    return (PurePosixPath(folder) / PurePosixPath(resolved.relative_to(root).as_posix())).as_posix()


def _entry(role: str, placed: str, path: Path) -> dict:
    return {
        "role": role,
        "path": placed,
        "sha256": file_sha256(path),
        "bytes": path.stat().st_size,
    }


def _remove(folder: Path) -> None:
    """Remove a half-written record (its files may already be read-only)."""
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            path.chmod(stat.S_IRUSR | stat.S_IWUSR | (stat.S_IXUSR if path.is_dir() else 0))
    shutil.rmtree(folder, ignore_errors=True)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


# ------------------------------------------------------------------ running


def run(base: Path, manifest: dict, progress=None):
    """Evaluate the copies in the record folder `base` with the manifest's parameters.
    Raises RunError, DataError or EvaluationError."""
    from kpirules.data import load_data
    from kpirules.data.binding import FileSpec
    from kpirules.engine import evaluate

    params = manifest["parameters"]
    as_of = date.fromisoformat(params["as_of"])
    policy_dir = (base / POLICY_DIR).resolve()
    if params["policy"] == ".":
        unit_path = policy_dir
    else:
        unit_path = _inside(base / POLICY_DIR, params["policy"], "the policy")
    # Spans (and so the `rule` of every action) carry paths relative to the working
    # directory: load from inside the copied project root so they read as in the project.
    with contextlib.chdir(policy_dir):
        _, policy, diagnostics = check_unit(unit_path, policy_dir)
    if policy is None:
        errors = [d for d in diagnostics if d.severity == Severity.ERROR]
        raise RunError(
            "the recorded policy does not check",
            [
                f"{POLICY_DIR}/{d.span.file}:{d.span.line}:{d.span.column}: {d.code} {d.message}"
                for d in errors
            ],
        )
    specs = {}
    for name, entry in manifest["sources"].items():
        shown = PurePosixPath(entry["path"]).relative_to(DATA_DIR).as_posix()
        specs[name] = FileSpec(
            source=name,
            path=_inside(base / DATA_DIR, shown, f"source {name}'s"),
            shown=shown,
            format=entry["format"],
            sheet=entry["sheet"],
            encoding=entry["encoding"],
            delimiter=entry["delimiter"],
            rename=dict(entry["rename"]),
            options=dict(entry.get("options", {})),  # records before formats have none
        )
    declared, bound = set(policy.sources), set(specs)
    if declared != bound:
        raise RunError(
            "the manifest's sources do not match the policy's: "
            f"declared {', '.join(sorted(declared)) or 'none'}; "
            f"bound {', '.join(sorted(bound)) or 'none'}"
        )
    loaded = load_data(policy, specs, as_of=as_of)  # the recorded source → file mapping
    return evaluate(policy, loaded, params["period"], as_of=as_of, progress=progress)


def _inside(folder: Path, relative: str, what: str) -> Path:
    target = (folder / relative).resolve()
    if unsafe(relative) or not target.is_relative_to(folder.resolve()):
        raise RunError(f"{what} path {relative!r} in the manifest leaves {folder.name}/")
    return target


def unsafe(relative: str) -> str | None:
    """Why a path from a manifest may not be used inside the record, or None."""
    if not relative or "\\" in relative or "\x00" in relative:
        return "not a plain relative path"
    pure = PurePosixPath(relative)
    if pure.is_absolute() or any(part in ("..", "") for part in relative.split("/")):
        return "not a plain relative path"
    return None


# ------------------------------------------------------------------ verifying


@dataclass
class Verification:
    folder: str
    lines: list[str] = field(default_factory=list)  # what was checked, in order
    problems: int = 0

    def ok(self, text: str) -> None:
        self.lines.append(f"ok    {text}")

    def fail(self, text: str, details: list[str] | None = None) -> None:
        self.problems += 1
        self.lines.append(f"FAIL  {text}")
        self.lines.extend(f"        {line}" for line in details or [])

    def note(self, text: str) -> None:
        self.lines.append(f"note  {text}")

    def summary(self) -> str:
        if self.problems:
            noun = "problem" if self.problems == 1 else "problems"
            return f"NOT VERIFIED: {self.problems} {noun} in the run record {self.folder}"
        return f"verified: the run record {self.folder} is intact and its results reproduce"


def verify(folder: str | Path, expected: str | None = None) -> Verification:
    """Check a run record: its manifest, every file's SHA-256, no extra files, and a re-run
    from the recorded inputs that must give results.json byte for byte. `expected`: the
    manifest hash noted when the record was made, kept elsewhere. Never raises for a bad
    record: every problem becomes a FAIL line."""
    report = Verification(str(folder))
    base = Path(folder)
    try:
        manifest = _read_manifest(base, report)
        if manifest is None:
            return report
        _check_manifest_hash(manifest, report, expected)
        _check_files(base, manifest, report)
        _check_rerun(base, manifest, report)
    except Exception as exc:  # a record is untrusted input: report, never crash
        if os.environ.get("KPIRULES_DEBUG"):
            import traceback

            traceback.print_exc()
        report.fail(f"cannot verify: {type(exc).__name__}: {exc}")
    return report


def _read_manifest(base: Path, report: Verification) -> dict | None:
    if not base.exists():
        report.fail(f"no run record at {base}: no such folder")
        return None
    if not base.is_dir():
        report.fail(f"{base} is not a folder; a run record is a folder")
        return None
    path = base / MANIFEST
    if not path.exists() and not path.is_symlink():
        if next(base.iterdir(), None) is None:
            report.fail(f"{base} is empty: not a run record (no {MANIFEST})")
        else:
            report.fail(f"{MANIFEST} is missing: not a run record, or an incomplete one")
        return None
    if path.is_symlink() or not path.is_file():
        report.fail(f"{MANIFEST} is not a regular file")
        return None
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        report.fail(f"{MANIFEST} is {path.stat().st_size} bytes: too large to be a manifest")
        return None
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        report.fail(f"{MANIFEST} is not UTF-8 text (byte offset {exc.start})")
        return None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        report.fail(f"{MANIFEST} is not valid JSON ({where}: {exc.msg}): corrupt or truncated")
        return None
    if isinstance(manifest, dict) and manifest.get("format_version") not in (None, FORMAT_VERSION):
        report.fail(
            f"{MANIFEST} is record format version {manifest.get('format_version')!r}; "
            f"kpirules {__version__} reads version {FORMAT_VERSION}"
        )
        return None
    from jsonschema import Draft202012Validator

    errors = sorted(
        Draft202012Validator(schema("record.schema.json")).iter_errors(manifest),
        key=lambda e: ([str(p) for p in e.absolute_path], e.message),
    )
    if errors:
        details = [_describe(e) for e in errors[:MAX_DIFFERENCES]]
        if len(errors) > MAX_DIFFERENCES:
            details.append(f"… and {len(errors) - MAX_DIFFERENCES} more")
        report.fail(f"{MANIFEST} does not match the run record schema:", details)
        return None
    problems = _layout_problems(manifest)
    if problems:
        report.fail(f"{MANIFEST} lists what cannot be in a run record:", problems)
        return None
    params = manifest["parameters"]
    report.lines.append(
        f"run record {base}: kpirules {manifest['kpirules_version']}, "
        f"created {manifest.get('created_at') or 'at an unknown time'}"
    )
    report.lines.append(
        f"      policy {params['policy_arg']} · data {params['data_arg']} · "
        f"period {params['period'] or 'all'} · as of {params['as_of']}"
    )
    if manifest["kpirules_version"] != __version__:
        report.note(
            f"recorded with kpirules {manifest['kpirules_version']}, verifying with "
            f"kpirules {__version__}: a difference in the results may come from the version"
        )
    return manifest


def _describe(error) -> str:
    location = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
    ).lstrip(".")
    return f"{location}: {error.message}" if location else error.message


def _layout_problems(manifest: dict) -> list[str]:
    problems = []
    seen: set[str] = set()
    results = 0
    for entry in manifest["files"]:
        role, path = entry["role"], entry["path"]
        why = unsafe(path)
        if why:
            problems.append(f"{path!r}: {why}")
        elif role == "results" and path != RESULTS:
            problems.append(f"{path}: the results file must be {RESULTS}")
        elif role != "results" and not path.startswith(ROLE_FOLDER[role] + "/"):
            problems.append(f"{path}: a {role} file must be under {ROLE_FOLDER[role]}/")
        elif path == MANIFEST:
            problems.append(f"{path}: the manifest cannot list itself")
        if path in seen:
            problems.append(f"{path}: listed twice")
        seen.add(path)
        results += role == "results"
    if results != 1:
        problems.append(f"the manifest must list {RESULTS} once (role results), not {results}")
    data = {e["path"] for e in manifest["files"] if e["role"] == "data"}
    for name, source in manifest["sources"].items():
        if source["path"] not in data:
            problems.append(f"source {name}: {source['path']} is not listed as a data file")
    policy = manifest["parameters"]["policy"]
    if policy != "." and unsafe(policy):
        problems.append(f"parameters.policy {policy!r}: not a plain relative path")
    try:
        date.fromisoformat(manifest["parameters"]["as_of"])
    except ValueError:
        problems.append(f"parameters.as_of {manifest['parameters']['as_of']!r}: not a date")
    return problems


def _check_manifest_hash(manifest: dict, report: Verification, expected: str | None) -> None:
    computed = manifest_sha256(manifest)
    if computed != manifest["manifest_sha256"]:
        report.fail(
            f"{MANIFEST} was modified: its content hashes to {computed}, "
            f"but it records manifest_sha256 {manifest['manifest_sha256']}"
        )
    else:
        report.ok(f"{MANIFEST} hash {computed}")
    if expected is None:
        return
    if expected.strip().lower() == computed:
        report.ok("the manifest hash is the expected one")
    else:
        report.fail(
            f"the manifest hashes to {computed}, not the expected {expected.strip()}: "
            "this is not the record that was made, or it was rewritten"
        )


def _check_files(base: Path, manifest: dict, report: Verification) -> None:
    """Re-hash every listed file; report modified, missing and unexpected ones."""
    listed = {MANIFEST}
    problems_before = report.problems
    for entry in manifest["files"]:
        role, relative = entry["role"], entry["path"]
        listed.add(relative)
        path = base / relative
        label = f"{role} file {relative}"
        if path.is_symlink():
            report.fail(f"{label} was replaced by a symbolic link")
        elif not path.exists():
            report.fail(f"{label} is missing")
        elif not path.is_file():
            report.fail(f"{label} is not a regular file")
        else:
            actual = file_sha256(path)
            if actual != entry["sha256"]:
                report.fail(
                    f"{label} was modified (sha256 now {actual}, recorded {entry['sha256']})"
                )
    for extra in _all_files(base):
        if extra not in listed:
            report.fail(f"unexpected file {extra}: not listed in the manifest")
    if report.problems == problems_before:
        counts = {}
        for entry in manifest["files"]:
            counts[entry["role"]] = counts.get(entry["role"], 0) + 1
        roles = ", ".join(f"{counts[r]} {r}" for r in ROLES if r in counts)
        total = len(manifest["files"])
        report.ok(f"{total} files match their recorded SHA-256 ({roles}); no other files")


def _all_files(base: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(base):
        here = Path(folder)
        for name in files + [d for d in dirs if (here / d).is_symlink()]:
            found.append((here / name).relative_to(base).as_posix())
    return sorted(found)


def _check_rerun(base: Path, manifest: dict, report: Verification) -> None:
    from kpirules.data import DataError
    from kpirules.engine import EvaluationError

    inputs = [e["path"] for e in manifest["files"] if e["role"] != "results"]
    missing = [p for p in inputs if not (base / p).is_file() or (base / p).is_symlink()]
    if missing:
        report.fail(
            f"not re-run: {len(missing)} recorded input file{'s' * (len(missing) != 1)} "
            "missing or replaced"
        )
        return
    try:
        results = run(base, manifest)
    except RunError as exc:
        report.fail(f"re-run failed: {exc}", exc.details[:MAX_DIFFERENCES])
        return
    except DataError as exc:
        report.fail("re-run failed: the recorded data cannot be read", exc.problems)
        return
    except EvaluationError as exc:
        report.fail(f"re-run failed: {exc}")
        return
    fresh = results.to_json().encode("utf-8")
    path = base / RESULTS
    if not path.is_file() or path.is_symlink():
        report.fail(f"re-run not compared: {RESULTS} is missing")
        return
    recorded = path.read_bytes()
    if recorded == fresh:
        report.ok(f"re-run reproduces {RESULTS} byte for byte")
        return
    try:
        old = json.loads(recorded.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.fail(f"re-run differs from {RESULTS}, which is not valid JSON ({exc})")
        return
    differences: list[str] = []
    total = _diff(old, json.loads(fresh), "", differences)
    if not total:
        report.fail(f"re-run differs from {RESULTS} in layout only (the same values, other bytes)")
        return
    shown = differences[:MAX_DIFFERENCES]
    if total > len(shown):
        shown.append(f"… and {total - len(shown)} more")
    noun = "value" if total == 1 else "values"
    report.fail(f"re-run differs from {RESULTS} in {total} {noun} ({RESULTS} ≠ re-run):", shown)


def _diff(old: Any, new: Any, where: str, out: list[str]) -> int:
    """Count the differing leaves of two JSON documents; describe the first few in `out`."""
    if isinstance(old, dict) and isinstance(new, dict):
        count = 0
        for key in list(old) + [k for k in new if k not in old]:
            here = _key(where, key)
            if key not in new:
                count += _add(out, f"{here}: {_show(old[key])} ≠ (absent)")
            elif key not in old:
                count += _add(out, f"{here}: (absent) ≠ {_show(new[key])}")
            else:
                count += _diff(old[key], new[key], here, out)
        return count
    if isinstance(old, list) and isinstance(new, list):
        count = sum(_diff(a, b, f"{where}[{i}]", out) for i, (a, b) in enumerate(zip(old, new)))
        if len(old) != len(new):
            count += _add(out, f"{where or '(top)'}: {len(old)} items ≠ {len(new)} items")
        return count
    if old == new and type(old) is type(new):
        return 0
    return _add(out, f"{where or '(top)'}: {_show(old)} ≠ {_show(new)}")


def _add(out: list[str], line: str) -> int:
    if len(out) < MAX_DIFFERENCES:
        out.append(line)
    return 1


def _key(where: str, key: str) -> str:
    if key.isidentifier():
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key, ensure_ascii=False)}]"


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:59] + "…"
