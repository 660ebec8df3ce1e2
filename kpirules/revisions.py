"""Policies at a git revision: `REV:PATH`, spelled as `git show` spells it.

`parse_spec` tells a revision spec from a plain path; `checkout(spec)` finds the git work
tree around the current directory, resolves REV to a commit, and writes the policy files
of that commit into a temporary directory, so the loader and the checker run on them
unchanged, confined to the copy's project root. The directory is removed on exit.

PATH is relative to the repository's top folder, as in git, unless it starts with `./`
or `../`, which are relative to the current directory. `X:Y` is a spec only when no file
or folder `X:Y` exists, so a real path with a colon in it keeps working.
"""

from __future__ import annotations

import os
import posixpath
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpirules.ast import unescape
from kpirules.loader import EXTENSION
from kpirules.paths import ROOT_MARKERS, display_path

GIT_TIMEOUT = 60  # seconds per git call; reading a local repository takes milliseconds
FILE_MARKERS = tuple(marker for marker in ROOT_MARKERS if marker != ".git")
REGULAR_MODES = ("100644", "100755")  # symlinks (120000) and submodules are not copied
STRING = re.compile(r'"((?:[^"\\\n]|\\[^\n])*)"')  # the grammar's STRING token


class RevisionError(Exception):
    """A REV:PATH that cannot be read; the message is one line for the user."""


class SpecError(RevisionError):
    """A malformed REV:PATH: a usage error."""


@dataclass(frozen=True)
class Spec:
    text: str  # as the user wrote it
    rev: str
    path: str


@dataclass(frozen=True)
class Entry:
    mode: str
    kind: str  # blob | commit (a submodule)
    oid: str


@dataclass(frozen=True)
class Checkout:
    """The policy of one commit, copied into `top` (the copy of the repository's top
    folder). `policy` is what the loader reads, `root` its project root in the copy."""

    spec: Spec
    commit: str
    short: str
    path: str  # the policy's path in the commit, from the top folder ("" is the top)
    top: Path
    policy: Path
    root: Path

    @property
    def label(self) -> str:
        return f"{self.spec.text} ({self.short})"

    def revision(self) -> dict[str, Any]:
        return {"rev": self.spec.rev, "path": self.path, "commit": self.commit, "short": self.short}

    def unmask(self, text: str) -> str:
        """`text` with paths in the temporary copy written as `REV:path`."""
        for shown in dict.fromkeys([str(self.top), display_path(self.top)]):
            text = text.replace(shown + os.sep, f"{self.spec.rev}:")
            text = text.replace(shown, f"{self.spec.rev}:")
        return text


def parse_spec(text: str) -> Spec | None:
    """The `REV:PATH` in `text`, or None when `text` is a plain path: it has no colon,
    it exists on disk, or it is a Windows drive path (`C:\\x`, `C:/x`)."""
    if ":" not in text or _exists(text):
        return None
    rev, path = text.split(":", 1)
    if len(rev) == 1 and rev.isascii() and rev.isalpha() and path[:1] in ("/", "\\"):
        return None
    return Spec(text, rev, path)


def _exists(text: str) -> bool:
    try:
        return Path(text).exists()
    except (OSError, ValueError):  # a name too long, a NUL byte: not a file
        return False


@contextmanager
def checkout(spec: Spec, cwd: Path | None = None) -> Iterator[Checkout]:
    """Materialise the policy named by `spec` in a temporary directory, for the block."""
    cwd = Path.cwd() if cwd is None else cwd
    _validate(spec)
    prefix = _work_tree(spec, cwd)
    commit = _commit(spec, cwd)
    short = _git(["rev-parse", "--short", commit], spec, cwd).decode().strip()
    path = _tree_path(spec, prefix)
    entries = _list_tree(commit, spec, cwd)
    kind = _kind(path, entries)
    if kind is None:
        raise RevisionError(f"{spec.text}: no such path at {spec.rev} ({short})")
    with tempfile.TemporaryDirectory(prefix="kpirules-rev-", ignore_cleanup_errors=True) as tmp:
        top = Path(tmp).resolve()
        _materialise(entries, path, top, spec, cwd)
        policy = top.joinpath(*path.split("/")) if path else top
        if kind == "folder":
            policy.mkdir(parents=True, exist_ok=True)  # a folder without .kpi files
        root = _project_root(top, policy if kind == "folder" else policy.parent)
        yield Checkout(spec, commit, short, path, top, policy, root)


# ------------------------------------------------------------------ git


def _git(args: list[str], spec: Spec, cwd: Path, stdin: bytes | None = None) -> bytes:
    """Run git (an argument list, never a shell); its output, or RevisionError."""
    completed = _run(args, spec, cwd, stdin)
    if completed.returncode != 0:
        lines = completed.stderr.decode(errors="replace").strip().splitlines()
        reason = lines[0] if lines else f"exit status {completed.returncode}"
        raise RevisionError(f"{spec.text}: git {args[0]} failed: {reason}")
    return completed.stdout


def _run(
    args: list[str], spec: Spec, cwd: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    # LC_ALL=C: git's messages in English, which `_work_tree` recognises.
    env = {**os.environ, "LC_ALL": "C"}
    streams: dict[str, Any] = (
        {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    )
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, timeout=GIT_TIMEOUT, **streams
        )
    except FileNotFoundError:
        raise RevisionError(f"{spec.text}: git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise RevisionError(f"{spec.text}: git {args[0]} took over {GIT_TIMEOUT} s") from None
    except OSError as exc:
        raise RevisionError(f"{spec.text}: cannot run git: {exc.strerror or exc}") from None


def _validate(spec: Spec) -> None:
    if not spec.rev:
        raise SpecError(f"{spec.text}: name a revision before the colon, e.g. HEAD:{spec.path}")
    if spec.rev.startswith("-"):
        raise SpecError(f"{spec.text}: {spec.rev!r} is not a revision")
    if "\x00" in spec.text or "\n" in spec.text:
        raise SpecError(f"{spec.text!r}: control characters in a revision spec")
    if spec.path.startswith("/"):
        raise SpecError(f"{spec.text}: the path after the colon must be relative")


def _work_tree(spec: Spec, cwd: Path) -> str:
    """The current directory's place in the work tree (git's `--show-prefix`)."""
    completed = _run(["rev-parse", "--show-toplevel", "--show-prefix"], spec, cwd)
    if completed.returncode != 0:
        message = completed.stderr.decode(errors="replace")
        if "not a git repository" in message:
            raise RevisionError(
                f"{spec.text}: no such file or folder, and not a revision either: "
                f"{cwd.resolve()} is not in a git repository"
            )
        lines = message.strip().splitlines()
        raise RevisionError(f"{spec.text}: git rev-parse failed: {lines[0] if lines else ''}")
    lines = os.fsdecode(completed.stdout).split("\n")
    return lines[1] if len(lines) > 1 else ""


def _commit(spec: Spec, cwd: Path) -> str:
    completed = _run(["rev-parse", "--verify", "--quiet", f"{spec.rev}^{{commit}}"], spec, cwd)
    if completed.returncode != 0:
        raise RevisionError(f"{spec.text}: unknown revision {spec.rev!r}")
    return completed.stdout.decode().strip()


def _tree_path(spec: Spec, prefix: str) -> str:
    """The path in the commit, from the top folder, as git reads `REV:PATH`."""
    path = spec.path
    from_cwd = path in (".", "..") or path.startswith(("./", "../"))
    joined = posixpath.join(prefix, path) if from_cwd else path
    normal = posixpath.normpath(joined) if joined else "."
    if normal == ".." or normal.startswith("../"):
        raise SpecError(f"{spec.text}: the path leaves the repository")
    return "" if normal == "." else normal


def _list_tree(commit: str, spec: Spec, cwd: Path) -> dict[str, Entry]:
    """Every file of the commit (blobs, submodules), by path from the top folder."""
    out = _git(["ls-tree", "-r", "-z", "--full-tree", commit], spec, cwd)
    entries = {}
    for record in out.split(b"\x00"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, oid = meta.decode().split(" ")
        entries[os.fsdecode(name)] = Entry(mode, kind, oid)
    return entries


def _kind(path: str, entries: dict[str, Entry]) -> str | None:
    """Whether `path` is a file or a folder of the commit; None when it has no such path."""
    if path in entries:
        return "file"
    if not path or any(name.startswith(path + "/") for name in entries):
        return "folder"
    return None


def _read_blobs(oids: set[str], spec: Spec, cwd: Path) -> dict[str, bytes]:
    """The contents of the blobs, with one `git cat-file --batch` (no argument limit)."""
    order = sorted(oids)
    if not order:
        return {}
    out = _git(["cat-file", "--batch"], spec, cwd, stdin=("\n".join(order) + "\n").encode())
    blobs, at = {}, 0
    for oid in order:
        end = out.find(b"\n", at)
        header = out[at:end].split(b" ") if end >= 0 else []
        if len(header) != 3 or header[1] != b"blob":
            raise RevisionError(f"{spec.text}: git cat-file: cannot read object {oid}")
        start = end + 1
        size = int(header[2])
        blobs[oid] = out[start : start + size]
        at = start + size + 1  # the content is followed by a newline
    return blobs


# ------------------------------------------------------------------ the copy


def _materialise(entries: dict[str, Entry], path: str, top: Path, spec: Spec, cwd: Path) -> None:
    """Write what the loader and checker can read: every .kpi file of the commit (an
    import may reach any folder of the project, e.g. policies/shared), the root markers
    (they decide the project root, as in a checkout), the named file itself, then the
    files that a string in those .kpi files names (test fixtures, which the checker
    requires to exist). Data is not needed: the diff reads the current binding. On this
    repository that is 17 files, 150 KB, in 30 ms, against 4.4 MB for the whole tree; in a
    repository that keeps data next to its policies the difference is larger still."""
    wanted = sorted(name for name in entries if _policy_file(name, path))
    texts = _write(wanted, entries, top, spec, cwd)
    named = set()
    for name, data in texts.items():
        if name.endswith(EXTENSION):
            named |= _named_files(name, data.decode("utf-8", errors="replace"), entries)
    _write(sorted(named - set(texts)), entries, top, spec, cwd)


def _policy_file(name: str, path: str) -> bool:
    base = posixpath.basename(name)
    return name == path or base.endswith(EXTENSION) or base in FILE_MARKERS


def _named_files(name: str, text: str, entries: dict[str, Entry]) -> set[str]:
    """Files of the commit that string literals in `name` name, relative to its folder.
    A label that happens to name a file copies one file too many, which is harmless."""
    folder = posixpath.dirname(name)
    found = set()
    for match in STRING.finditer(text):
        candidate = posixpath.normpath(posixpath.join(folder, unescape(match.group(1))))
        if candidate in entries:
            found.add(candidate)
    return found


def _write(
    names: list[str], entries: dict[str, Entry], top: Path, spec: Spec, cwd: Path
) -> dict[str, bytes]:
    """Write the regular files among `names` below `top`; their contents by name."""
    regular = [n for n in names if entries[n].kind == "blob" and entries[n].mode in REGULAR_MODES]
    blobs = _read_blobs({entries[n].oid for n in regular}, spec, cwd)
    written = {}
    for name in regular:
        parts = name.split("/")
        if any(part in ("", ".", "..") for part in parts):  # git never stores these
            continue
        target = top.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blobs[entries[name].oid])
        written[name] = blobs[entries[name].oid]
    return written


def _project_root(top: Path, folder: Path) -> Path:
    """The loader's rule (the nearest folder with a root marker) inside the copy. The
    top folder is the root when no marker is nearer: in a checkout it holds `.git`."""
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in FILE_MARKERS):
            return candidate
        if candidate == top:
            break
    return top
