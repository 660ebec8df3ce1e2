"""Read a source's file into a raw frame: cells as the file holds them, columns renamed,
and `_row`, the row number the user sees (CSV/Excel: the header is row 1).

Typing is not done here: CSV cells stay text, Excel and Parquet cells keep their own types,
and the data-quality stage turns them into the declared types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from kpirules import model
from kpirules.check.expressions import suggest
from kpirules.data.binding import DataError, FileSpec

ROW = "_row"
SNIFF_BYTES = 8192  # enough to tell a binary file from text


@dataclass(frozen=True)
class RawTable:
    source: str
    file: str  # for messages
    frame: pd.DataFrame  # raw cells, plus ROW (int64); a RangeIndex


def read_all(specs: Mapping[str, FileSpec]) -> dict[str, RawTable]:
    """Read every file; report every unreadable one at once."""
    tables: dict[str, RawTable] = {}
    problems: list[str] = []
    for name, spec in specs.items():
        try:
            tables[name] = read(spec)
        except DataError as exc:
            problems.extend(exc.problems)
    if problems:
        raise DataError(problems)
    return tables


def read(spec: FileSpec) -> RawTable:
    readers = {"csv": _read_csv, "xlsx": _read_xlsx, "parquet": _read_parquet}
    try:
        frame = readers[spec.format](spec)
    except DataError:
        raise
    except Exception as exc:  # parsers raise many types; the user needs the file and the cause
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{spec.shown}: cannot read as {spec.format}: {detail}") from None
    return RawTable(spec.source, spec.shown, _rename(frame, spec.rename, spec.shown))


def from_frames(frames: Mapping[str, object], policy: model.Policy) -> dict[str, RawTable]:
    """A notebook's DataFrames, one per declared source."""
    problems: list[str] = []
    tables: dict[str, RawTable] = {}
    for name, frame in frames.items():
        if name not in policy.sources:
            hint = suggest(str(name), policy.sources)
            problems.append(
                f"the policy declares no source '{name}'" + (f" ({hint})" if hint else "")
            )
        elif not isinstance(frame, pd.DataFrame):
            problems.append(f"source '{name}': expected a pandas DataFrame, got {type(frame)}")
        else:
            try:
                tables[name] = from_frame(name, frame)
            except DataError as exc:
                problems.extend(exc.problems)
    for name in policy.sources:
        if name not in frames:
            problems.append(f"no data for source '{name}'")
    if problems:
        raise DataError(problems)
    return tables


def from_frame(source: str, frame: pd.DataFrame) -> RawTable:
    shown = f"<DataFrame {source}>"
    frame = _index_as_columns(frame.copy())
    frame.columns = [str(c).strip() for c in frame.columns]
    _refuse_duplicates([c for c in frame.columns if c != ROW], shown)
    if list(frame.columns).count(ROW) > 1:
        raise DataError(f"{shown}: column '{ROW}' appears more than once")
    if ROW in frame.columns:  # a typed frame fed back in keeps its row numbers
        rows = frame.pop(ROW)
        if rows.isna().any() or rows.dtype.kind not in "iu":
            raise DataError(f"{shown}: column '{ROW}' is reserved for row numbers (integers)")
        frame[ROW] = rows.astype("int64")
    else:
        frame[ROW] = pd.RangeIndex(1, len(frame) + 1, dtype="int64")
    return RawTable(source, shown, frame.reset_index(drop=True))


def empty_frame(spec: model.Source) -> pd.DataFrame:
    """No rows, every declared column: for a source a test or notebook has no data for."""
    return pd.DataFrame({name: pd.Series([], dtype=object) for name in spec.columns})


# ------------------------------------------------------------------ formats


def _read_csv(spec: FileSpec) -> pd.DataFrame:
    with open(spec.path, "rb") as handle:
        if b"\x00" in handle.read(SNIFF_BYTES):
            raise DataError(f"{spec.shown}: binary data, not a CSV text file")
    try:
        # Every cell as text, nothing guessed as missing: typing is the quality stage's job.
        cells = pd.read_csv(
            spec.path,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,  # blank lines still count, so row numbers match the file
            encoding=spec.encoding,
            sep=spec.delimiter,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        if spec.path.stat().st_size:  # only blank lines, or a blank first line
            raise DataError(f"{spec.shown}: row 1 is empty; it must name the columns") from None
        raise DataError(f"{spec.shown}: the file is empty; row 1 must name the columns") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{spec.shown}: not {spec.encoding} text (byte 0x{exc.object[exc.start]:02X} at "
            f"offset {exc.start}); set `encoding:` in the binding"
        ) from None
    return _with_header(cells, spec.shown)


def _read_xlsx(spec: FileSpec) -> pd.DataFrame:
    import openpyxl  # only when an Excel file is read

    book = openpyxl.load_workbook(spec.path, read_only=True, data_only=True)
    try:
        if spec.sheet is not None and spec.sheet not in book.sheetnames:
            raise DataError(
                f"{spec.shown}: no sheet {spec.sheet!r} (sheets: {', '.join(book.sheetnames)})"
            )
        sheet = book[spec.sheet] if spec.sheet is not None else book.worksheets[0]
        sheet.reset_dimensions()  # some writers record a wrong used range; read what is there
        rows = list(sheet.iter_rows(min_row=1, values_only=True))
    finally:
        book.close()
    width = max((len(r) for r in rows), default=0)
    cells = pd.DataFrame([(*r, *[None] * (width - len(r))) for r in rows], dtype=object)
    if cells.empty:
        raise DataError(f"{spec.shown}: the sheet is empty; row 1 must name the columns")
    return _with_header(cells, spec.shown)


def _read_parquet(spec: FileSpec) -> pd.DataFrame:
    import pyarrow.parquet as pq

    frame = pq.read_table(spec.path).to_pandas(date_as_object=False)
    frame = _index_as_columns(frame)
    frame.columns = [str(c).strip() for c in frame.columns]
    _refuse_duplicates(list(frame.columns), spec.shown)
    frame[ROW] = pd.RangeIndex(1, len(frame) + 1, dtype="int64")
    return frame


# ------------------------------------------------------------------ shared


def _with_header(cells: pd.DataFrame, shown: str) -> pd.DataFrame:
    """Row 1 names the columns; the data starts on row 2. Blank rows are not data."""
    cells = cells.reset_index(drop=True)
    blank = _blank(cells)
    if blank.iloc[0]:
        raise DataError(f"{shown}: row 1 is empty; it must name the columns")
    header = cells.iloc[0]
    data = cells.iloc[1:]
    names: list[str] = []
    keep: list[int] = []
    for position, value in enumerate(header):
        name = "" if _is_blank(value) else str(value).strip()
        if not name and _blank(data.iloc[:, [position]]).all():
            continue  # an unnamed, empty column: formatting, not data
        names.append(name or f"(column {_letters(position)})")
        keep.append(position)
    _refuse_duplicates(names, shown)
    frame = data.iloc[:, keep].copy()
    frame.columns = names
    frame[ROW] = (frame.index + 1).astype("int64")  # index 0 is the header, row 1
    return frame[~blank.iloc[1:].to_numpy()].reset_index(drop=True)


def _blank(cells: pd.DataFrame) -> pd.Series:
    """Per row: every cell missing or whitespace."""
    if cells.shape[1] == 0:
        return pd.Series(True, index=cells.index)
    text = cells.astype("string")
    empty = text.apply(lambda column: column.str.strip().fillna("").eq(""))
    return empty.all(axis=1)


def _letters(position: int) -> str:
    """A spreadsheet column name: 0 → A, 26 → AA."""
    number, name = position + 1, ""
    while number:
        number, rest = divmod(number - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or not str(value).strip()


def _refuse_duplicates(names: list[str], shown: str) -> None:
    seen: set[str] = set()
    twice = sorted({n for n in names if n in seen or seen.add(n)})
    if twice:
        raise DataError(f"{shown}: column {', '.join(map(repr, twice))} appears more than once")
    if ROW in names:
        raise DataError(f"{shown}: column name '{ROW}' is reserved for row numbers")


def _index_as_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A named index (e.g. `set_index('order_id')`) holds data; make it columns again."""
    if any(name is not None for name in frame.index.names):
        return frame.reset_index()
    return frame.reset_index(drop=True)


def _rename(frame: pd.DataFrame, rename: dict[str, str], shown: str) -> pd.DataFrame:
    if not rename:
        return frame
    problems = [
        f"{shown}: rename: the file has no column {old!r}"
        + (f" ({hint})" if (hint := suggest(old, frame.columns)) else "")
        for old in rename
        if old not in frame.columns
    ]
    names = [rename.get(c, c) for c in frame.columns]
    clashes = sorted({n for n in names if names.count(n) > 1})
    problems += [f"{shown}: rename: two columns would be called {n!r}" for n in clashes]
    if problems:
        raise DataError(problems)
    return frame.rename(columns=rename)
