"""Where each source's data lives: a `data.yaml` binding, or a folder of files named after
the sources. Resolves every path inside the project root and reports every problem at once.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml
from jsonschema import Draft202012Validator

from kpirules import model
from kpirules.check.expressions import suggest
from kpirules.loader import confined, display_path, find_root
from kpirules.paths import confine
from kpirules.resources import schema
from kpirules.text import clip

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".parquet": "parquet", ".pq": "parquet"}
DEFAULT_EXTENSIONS = (".csv", ".xlsx", ".parquet")  # what a folder binding looks for
BINDING_NAMES = ("data.yaml", "data.yml")  # a folder holding one of these uses it
DEFAULT_ENCODING = "utf-8-sig"  # tolerates the BOM Excel writes into CSV exports
MAX_BINDING_BYTES = 1024 * 1024
# Binding keys kept as they are on the FileSpec (and in run records).
LAYOUT_OPTIONS = ("header_row", "totals_row", "merged", "extra_columns", "allow_empty")
FORMAT_OPTIONS = ("formats", "columns")


class DataError(Exception):
    """The data cannot be read at all: bad binding, missing or unreadable file."""

    def __init__(self, problems: str | Iterable[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class FileSpec:
    """One source's file, resolved, with the options the reader needs."""

    source: str
    path: Path | None  # None: a database source (`options` holds url, table or query)
    shown: str  # for messages: relative to the working directory when below it
    format: str
    sheet: str | None = None
    encoding: str = DEFAULT_ENCODING
    delimiter: str = ","
    rename: dict[str, str] = field(default_factory=dict)
    # How the file is laid out and writes its values: header_row, totals_row, merged,
    # extra_columns, allow_empty, formats, columns (the binding's keys, as validated).
    options: dict = field(default_factory=dict)

    def option(self, name: str, default=None):
        return self.options.get(name, default)


def resolve(data: str | Path, policy: model.Policy) -> dict[str, FileSpec]:
    """A binding file, or a folder (its data.yaml if any, else files named after sources)."""
    path = Path(data)
    if path.is_dir():
        for name in BINDING_NAMES:
            if (path / name).is_file():
                return load_binding(path / name, policy)
        return default_binding(path, policy)
    if path.is_file():
        return load_binding(path, policy)
    if path.exists():
        raise DataError(f"{data}: not a file or folder that can be read")
    raise DataError(f"{data}: no such file or folder")


def load_binding(path: Path, policy: model.Policy) -> dict[str, FileSpec]:
    shown = display_path(path)
    if confine(path, find_root(path)) is None:  # a link out of the project: not read
        raise DataError(f"{path}: the binding leads outside the project root; not read")
    document = _read_yaml(path, shown)
    if document is None:
        raise DataError(f"{shown}: the binding is empty; it needs `version: 1` and `sources:`")
    errors = sorted(
        Draft202012Validator(schema("binding.schema.json")).iter_errors(document),
        key=lambda e: ([str(p) for p in e.absolute_path], e.message),
    )
    # Schema errors are reported with everything else wrong: the entries the schema
    # accepts are still checked (paths, options, encodings, the sources declared).
    problems: list[str] = [f"{shown}: {_describe(e)}" for e in errors]
    entries = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise DataError(problems)
    broken = {str(e.absolute_path[1]) for e in errors if len(e.absolute_path) > 1}
    base, root = path.resolve().parent, find_root(path)
    specs: dict[str, FileSpec] = {}
    for name, entry in sorted(entries.items(), key=lambda item: str(item[0])):
        where = f"{shown}: sources.{name}"
        if name not in policy.sources:
            hint = suggest(str(name), policy.sources) or "declared: " + ", ".join(policy.sources)
            problems.append(f"{where}: the policy declares no source '{name}' ({hint})")
            continue
        if str(name) in broken:
            continue
        declared = policy.sources[name].columns
        for column in entry.get("columns", {}):
            if column not in declared:
                hint = suggest(column, declared) or "declared: " + ", ".join(declared)
                problems.append(
                    f"{where}.columns: source '{name}' declares no column '{column}' ({hint})"
                )
        spec = _entry(name, entry, base, root, where, problems)
        if spec is not None:
            specs[name] = spec
    for name in policy.sources:
        if name not in entries:
            problems.append(f"{shown}: source '{name}' has no entry under 'sources'")
    if problems:
        raise DataError(problems)
    return specs


def default_binding(folder: Path, policy: model.Policy) -> dict[str, FileSpec]:
    """Each source reads `<folder>/<source>.csv|.xlsx|.parquet`; exactly one must exist."""
    root = find_root(folder)
    shown = display_path(folder)
    problems: list[str] = []
    specs: dict[str, FileSpec] = {}
    for name in policy.sources:
        found = [name + ext for ext in DEFAULT_EXTENSIONS if (folder / (name + ext)).is_file()]
        folders = [name + ext for ext in DEFAULT_EXTENSIONS if (folder / (name + ext)).is_dir()]
        if not found and folders:
            problems.append(
                f"{shown}/{folders[0]} is a folder, not a file; source '{name}' needs a file"
            )
        elif not found:
            wanted = ", ".join(name + ext for ext in DEFAULT_EXTENSIONS)
            problems.append(f"{shown}: no data for source '{name}' (looked for {wanted})")
        elif len(found) > 1:
            problems.append(
                f"{shown}: several files for source '{name}': {', '.join(found)}; "
                "keep one, or write a data.yaml binding"
            )
        else:
            target, problem = confined(found[0], folder.resolve(), root)
            if problem:
                problems.append(f"{shown}/{found[0]}: {problem.message}")
                continue
            specs[name] = FileSpec(name, target, display_path(target), FORMATS[target.suffix])
    if problems:
        raise DataError(problems)
    return specs


def _read_yaml(path: Path, shown: str) -> object:
    try:
        if path.stat().st_size > MAX_BINDING_BYTES:
            raise DataError(f"{shown}: a binding file is limited to 1 MB")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{shown}: cannot read the binding: {exc}") from None
    try:
        return yaml.load(text, Loader=BindingLoader)  # a SafeLoader subclass: safe_load, stricter
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, RefusedYAML):
            raise DataError(f"{shown}: refused{where}: {problem}") from None
        raise DataError(f"{shown}: not valid YAML{where}: {problem}") from None


class RefusedYAML(yaml.MarkedYAMLError):
    """Valid YAML that a binding may not use (a repeated key, an anchor or alias)."""


class BindingLoader(yaml.SafeLoader):
    """`yaml.safe_load`, stricter: a key given twice in one mapping is an error (the
    last one would silently win), and anchors and aliases are refused before anything is
    built (a few hundred bytes of nested aliases expand to gigabytes)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise RefusedYAML(
                None,
                None,
                f"aliases (*{event.anchor}) are not allowed in a binding file; "
                "write the value out in full",
                event.start_mark,
            )
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise RefusedYAML(
                None,
                None,
                f"anchors (&{anchor}) are not allowed in a binding file; "
                "write the value out in full",
                event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if first is not key_node.start_mark:
                raise RefusedYAML(
                    None,
                    None,
                    f"the key {key!r} appears twice in one mapping (first at line "
                    f"{first.line + 1}); keep one",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def _describe(error) -> str:
    """A schema error as `sources.orders: 'path' is a required property`. The value in
    question is quoted by its first 40 characters at most: `--data /etc/passwd` must not
    print the file."""
    location = ".".join(str(part) for part in error.absolute_path)
    message = error.message
    quoted = repr(error.instance)
    if len(quoted) > 40 and quoted in message:
        message = message.replace(quoted, clip(quoted, 40))
    if not location and not isinstance(error.instance, dict):
        message += "; a binding is a mapping with `version: 1` and `sources:`"
    return f"{location}: {message}" if location else message


def _entry(
    name: str, entry: dict, base: Path, root: Path, where: str, problems: list[str]
) -> FileSpec | None:
    database = [option for option in DATABASE_OPTIONS if option in entry]
    if "url" in entry:
        if "path" in entry:
            problems.append(f"{where}: a source is read from a path or a url, not both")
            return None
        if ("table" in entry) == ("query" in entry):
            problems.append(f"{where}: a database source needs `table:` or `query:` (one of them)")
            return None
        return _database_entry(name, entry, where, problems)
    if database:
        problems.append(f"{where}: {', '.join(database)} need `url:` (a database to read from)")
        return None
    raw_path: str = entry["path"]
    target, problem = confined(raw_path, base, root)
    if problem:
        problems.append(f"{where}: {problem.message} ({display_path(root)})")
        return None
    fmt = entry.get("format") or FORMATS.get(target.suffix.lower())
    if fmt is None:
        problems.append(
            f"{where}: cannot tell the format of {raw_path!r} from its extension; "
            "add `format: csv`, `format: xlsx` or `format: parquet`"
        )
        return None
    for option, only in (("sheet", "xlsx"), ("encoding", "csv"), ("delimiter", "csv")):
        if option in entry and fmt != only:
            problems.append(f"{where}: '{option}' applies to {only} files only, not {fmt}")
    encoding = entry.get("encoding", DEFAULT_ENCODING)
    try:
        codecs.lookup(encoding)
    except LookupError:
        problems.append(f"{where}: unknown encoding {encoding!r}")
    for option, only in (("merged", "xlsx"),):
        if option in entry and fmt != only:
            problems.append(f"{where}: '{option}' applies to {only} files only, not {fmt}")
    for option in ("header_row", "totals_row"):
        if option in entry and fmt == "parquet":
            problems.append(f"{where}: '{option}' applies to csv and xlsx files only")
    source_formats = entry.get("formats", {})
    for key, formats in [("formats", source_formats)] + [
        (f"columns.{column}", {**source_formats, **value})
        for column, value in entry.get("columns", {}).items()
    ]:
        if formats:
            problems.extend(f"{where}.{key}: {p}" for p in check_formats(formats))
    if target.is_dir():
        problems.append(f"{where}: {display_path(target)} is a folder, not a file")
        return None
    if not target.is_file():
        problems.append(f"{where}: file not found: {display_path(target)}")
        return None
    return FileSpec(
        name,
        target,
        display_path(target),
        fmt,
        sheet=entry.get("sheet"),
        encoding=encoding,
        delimiter=entry.get("delimiter", ","),
        rename=dict(entry.get("rename", {})),
        options={k: entry[k] for k in (*LAYOUT_OPTIONS, *FORMAT_OPTIONS) if k in entry},
    )


DATABASE_OPTIONS = ("url", "table", "query")
# Options about a file's layout or text that a database's typed rows do not have.
FILE_ONLY = ("format", "sheet", "encoding", "delimiter", "header_row", "totals_row", "merged")


def _database_entry(name: str, entry: dict, where: str, problems: list[str]) -> FileSpec | None:
    """A source read from a PostgreSQL table or query. Credentials never sit in the
    binding (it is committed next to the policy): the driver takes the password from
    PGPASSWORD or ~/.pgpass, as psql does."""
    url = entry["url"]
    parts = urlsplit(url)
    wrong = [option for option in FILE_ONLY if option in entry]
    if wrong:
        problems.append(f"{where}: {', '.join(wrong)} apply to files, not to a database source")
    if parts.password is not None or "password=" in parts.query.lower():
        problems.append(
            f"{where}: the url carries a password; leave it out and set PGPASSWORD or "
            "~/.pgpass (the binding is committed with the policy)"
        )
        return None
    if not parts.hostname and "host=" not in parts.query:
        problems.append(f"{where}: the url names no host: {url!r}")
        return None
    what = f"table {entry['table']}" if "table" in entry else "query"
    return FileSpec(
        name,
        None,
        f"{urlunsplit(parts._replace(query=''))} ({what})",
        "database",
        rename=dict(entry.get("rename", {})),
        options={
            k: entry[k] for k in (*DATABASE_OPTIONS, *LAYOUT_OPTIONS, *FORMAT_OPTIONS) if k in entry
        },
    )


def check_formats(formats: dict) -> list[str]:
    """What the schema cannot say about a `formats` entry."""
    problems: list[str] = []
    pattern = formats.get("date")
    if pattern is not None and pattern != "excel":
        problems.extend(_check_date_pattern(pattern, formats))
    decimal, thousands = formats.get("decimal", "."), formats.get("thousands")
    if thousands is None and decimal == ",":
        thousands = ""  # a decimal comma cannot also group thousands
    if thousands and thousands == decimal:
        problems.append(f"'decimal' and 'thousands' are both {decimal!r}; they must differ")
    yes = [str(w).strip().lower() for w in formats.get("true_words", ())]
    no = [str(w).strip().lower() for w in formats.get("false_words", ())]
    both = sorted(set(yes) & set(no))
    if both:
        problems.append(f"{', '.join(map(repr, both))} is given for both true and false")
    words = yes + no
    if any(not w for w in words):
        problems.append("a word for true or false is empty")
    return problems


def _check_date_pattern(pattern: str, formats: dict) -> list[str]:
    """A date pattern must name a year, a month and a day, and read back what it writes."""
    import datetime as dt

    if pattern.count("%") == 0:
        return [f"date {pattern!r} has no % codes; write it as in strftime, e.g. %m/%d/%Y"]
    sample = dt.datetime(2001, 2, 3)
    try:
        written = sample.strftime(pattern)
        back = dt.datetime.strptime(written, pattern)
    except ValueError as exc:
        return [f"date {pattern!r} is not a pattern Python can read ({exc})"]
    if (back.year, back.month, back.day) != (2001, 2, 3):
        return [f"date {pattern!r} must name the year, the month and the day (%Y or %y, %m, %d)"]
    if "%y" in pattern and "two_digit_years_from" not in formats:
        return [
            f"date {pattern!r} writes years with two digits (%y): say which hundred years "
            "they stand for with `two_digit_years_from`, e.g. 1940 (40–99 are 1940–1999, "
            "00–39 are 2000–2039)"
        ]
    return []
