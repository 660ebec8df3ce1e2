"""Read a source's file into a raw frame: cells as the file holds them, columns renamed,
and `_row`, the row number the user sees (CSV/Excel: the header is row 1).

Typing is not done here: CSV cells stay text, Excel and Parquet cells keep their own types,
and the data-quality stage turns them into the declared types.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from kpirules import model
from kpirules.check.expressions import suggest
from kpirules.data.binding import DataError, FileSpec

ROW = "_row"
SNIFF_BYTES = 8192  # enough to tell a binary file from text
PREVIEW_ROWS = 20  # rows kept (as text) to find a header that is lower than declared
# A cell that says a row holds totals: "Total", "Grand total", "Sum", 合计, 总计, 小计 …
TOTALS = re.compile(
    r"(?i)^\s*(?:grand\s+|sub-?)?(?:totals?|sum)\b.*|^\s*(?:合计|总计|小计|共计|总和)"
)


@dataclass(frozen=True)
class Note:
    """Something the reader saw that the user should know: a source-level finding, or
    one about a row (the data-quality stage turns it into a finding)."""

    check: str
    message: str
    row: int | None = None
    column: str | None = None
    severity: str | None = None  # None: the check's level


@dataclass(frozen=True)
class RawTable:
    source: str
    file: str  # for messages
    frame: pd.DataFrame  # raw cells, plus ROW (int64); a RangeIndex
    options: dict = field(default_factory=dict)  # the binding's layout and format options
    notes: tuple[Note, ...] = ()
    preview: tuple[tuple[int, tuple[str, ...]], ...] = ()  # (row, cells) above the header
    from_file: bool = False  # a file is expected to hold rows; a DataFrame may be empty


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
    readers = {
        "csv": _read_csv,
        "xlsx": _read_xlsx,
        "parquet": _read_parquet,
        "database": _read_database,
    }
    notes: list[Note] = []
    preview: list = []
    try:
        frame = readers[spec.format](spec, notes, preview)
    except DataError:
        raise
    except Exception as exc:  # parsers raise many types; the user needs the file and the cause
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{spec.shown}: cannot read as {spec.format}: {detail}") from None
    frame = _rename(frame, spec.rename, spec.shown)
    return RawTable(
        spec.source,
        spec.shown,
        frame,
        {**spec.options, "rename": dict(spec.rename)},
        tuple(notes),
        tuple(preview),
        from_file=True,
    )


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


def _read_csv(spec: FileSpec, notes: list[Note], preview: list) -> pd.DataFrame:
    with open(spec.path, "rb") as handle:
        if b"\x00" in handle.read(SNIFF_BYTES):
            raise DataError(f"{spec.shown}: binary data, not a CSV text file")
    skipped = spec.option("header_row", 1) - 1
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
            skiprows=skipped,  # a title or notes above the header (`header_row`)
        )
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[0]
        hint = ""
        if skipped == 0 and re.search(r"Expected 1 fields in line \d+", detail):
            hint = (
                "; if the first lines are a title or notes, set `header_row:` in the binding "
                "to the row that names the columns"
            )
        raise DataError(f"{spec.shown}: cannot read as csv: {detail}{hint}") from None
    except pd.errors.EmptyDataError:
        if spec.path.stat().st_size:  # only blank lines, or a blank first line
            raise DataError(f"{spec.shown}: row 1 is empty; it must name the columns") from None
        raise DataError(f"{spec.shown}: the file is empty; row 1 must name the columns") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{spec.shown}: not {spec.encoding} text (byte 0x{exc.object[exc.start]:02X} at "
            f"offset {exc.start}); set `encoding:` in the binding"
        ) from None
    # The row numbers a spreadsheet shows (rows skipped above the header still count).
    cells.index = pd.RangeIndex(skipped + 1, skipped + len(cells) + 1)
    return _with_header(cells, spec, notes, preview)


def _read_xlsx(spec: FileSpec, notes: list[Note], preview: list) -> pd.DataFrame:
    import openpyxl  # only when an Excel file is read

    book = openpyxl.load_workbook(spec.path, read_only=True, data_only=True)
    try:
        sheet = _pick_sheet(book, spec, notes)
        cells, merged = _used_cells(book, sheet)
    finally:
        book.close()
    if cells.empty:
        others = [name for name in book.sheetnames if name != sheet.title]
        hint = (
            f"; the workbook also has {', '.join(map(repr, others))}: name one with `sheet:`"
            if others and spec.sheet is None
            else ""
        )
        raise DataError(
            f"{spec.shown}: sheet {sheet.title!r} is empty; row 1 must name the columns" + hint
        )
    header_row = spec.option("header_row", 1)
    merged = [m for m in merged if m[1] > header_row]  # data rows only (not the header)
    if merged and spec.option("merged") == "fill":
        cells = _fill_merged(cells, merged)
    elif merged:
        for first_col, first_row, last_col, last_row in merged:
            ref = f"{_letters(first_col)}{first_row}:{_letters(last_col)}{last_row}"
            notes.append(
                Note(
                    "merged_cells",
                    f"cells {ref} are merged: only {_letters(first_col)}{first_row} holds the "
                    "value, the other cells read as empty; set `merged: fill` in the binding "
                    "to copy the value into every cell",
                    row=first_row,
                )
            )
    return _with_header(cells, spec, notes, preview)


def _pick_sheet(book, spec: FileSpec, notes: list[Note]):
    """The named sheet; else the first visible one. Say which was read when there was a
    choice, and which hidden sheets were passed over."""
    if spec.sheet is not None:
        if spec.sheet not in book.sheetnames:
            raise DataError(
                f"{spec.shown}: no sheet {spec.sheet!r} (sheets: {', '.join(book.sheetnames)})"
            )
        return book[spec.sheet]
    sheets = book.worksheets
    visible = [s for s in sheets if getattr(s, "sheet_state", "visible") == "visible"]
    if not visible:
        raise DataError(f"{spec.shown}: every sheet is hidden; name the one to read with `sheet:`")
    sheet = visible[0]
    hidden = [s.title for s in sheets if s not in visible]
    if len(sheets) > 1:
        skipped = f"; hidden sheets are not read: {', '.join(map(repr, hidden))}" if hidden else ""
        notes.append(
            Note(
                "sheet",
                f"read sheet {sheet.title!r}, the first visible one of {len(sheets)}"
                f"{skipped}; name another with `sheet:` in the binding",
                severity="warning" if hidden and sheets[0] is not sheet else "info",
            )
        )
    return sheet


def _used_cells(book, sheet) -> tuple[pd.DataFrame, list[tuple[int, int, int, int]]]:
    """The cells that hold a value, as a frame indexed by sheet row and labelled by
    column position (0 is A); plus the merged ranges (first col, first row, last col,
    last row; columns 0-based). Empty cells — formatted ones far away, like XFD1048576 —
    take no memory and no time: only the cells the file lists with a value are kept."""
    from openpyxl.worksheet._reader import WorkSheetParser

    rows: dict[int, dict[int, object]] = {}
    with book._archive.open(sheet._worksheet_path) as source:
        parser = WorkSheetParser(
            source,
            book.shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for number, row in parser.parse():
            kept = {c["column"] - 1: c["value"] for c in row if not _is_blank(c["value"])}
            if kept:
                rows[number] = kept
        merged_cells = parser.merged_cells
    columns = sorted({c for row in rows.values() for c in row})
    numbers = sorted(rows)
    cells = pd.DataFrame(
        {c: [rows[n].get(c) for n in numbers] for c in columns},
        index=pd.Index(numbers, dtype="int64"),
        dtype=object,
    )
    merged = []
    for cell_range in getattr(merged_cells, "mergeCell", None) or ():
        from openpyxl.utils.cell import range_boundaries

        min_col, min_row, max_col, max_row = range_boundaries(cell_range.ref)
        if (min_col, min_row) != (max_col, max_row):
            merged.append((min_col - 1, min_row, max_col - 1, max_row))
    return cells, sorted(merged, key=lambda m: (m[1], m[0]))


def _fill_merged(cells: pd.DataFrame, merged: list) -> pd.DataFrame:
    """Copy each merged range's value (its top-left cell) into every cell it covers."""
    cells = cells.copy()
    for first_col, first_row, last_col, last_row in merged:
        if first_row not in cells.index or first_col not in cells.columns:
            continue  # the range holds no value
        value = cells.at[first_row, first_col]
        for column in range(first_col, last_col + 1):
            if column not in cells.columns:
                cells[column] = pd.Series(None, index=cells.index, dtype=object)
            for row in range(first_row, last_row + 1):
                if row not in cells.index:
                    cells.loc[row] = None
                cells.at[row, column] = value
    return cells.sort_index().reindex(columns=sorted(cells.columns))


def _read_parquet(spec: FileSpec, notes: list[Note], preview: list) -> pd.DataFrame:
    import pyarrow.parquet as pq

    frame = pq.read_table(spec.path).to_pandas(date_as_object=False)
    frame = _index_as_columns(frame)
    frame.columns = [str(c).strip() for c in frame.columns]
    _refuse_duplicates(list(frame.columns), spec.shown)
    frame[ROW] = pd.RangeIndex(1, len(frame) + 1, dtype="int64")
    return frame


# ------------------------------------------------------------------ shared


def _read_database(spec: FileSpec, notes: list[Note], preview: list) -> pd.DataFrame:
    """A PostgreSQL table or query, in a read-only transaction: typed cells (numbers,
    dates, truth values) as the database holds them, numbered in the order it returns
    them (a query with ORDER BY numbers them the same way every time)."""
    import psycopg
    from psycopg import sql

    table, query = spec.option("table"), spec.option("query")
    try:
        with psycopg.connect(spec.option("url"), connect_timeout=10) as connection:
            connection.read_only = True  # every transaction READ ONLY: a query cannot write
            with connection.cursor() as cursor:
                if table is not None:
                    cursor.execute(
                        sql.SQL("SELECT * FROM {}").format(sql.Identifier(*table.split(".")))
                    )
                else:
                    cursor.execute(query)
                if cursor.description is None:
                    raise DataError(f"{spec.shown}: the query returns no rows to read")
                names = [column.name for column in cursor.description]
                rows = cursor.fetchall()
    except psycopg.Error as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{spec.shown}: {detail}") from None
    _refuse_duplicates(names, spec.shown)
    frame = pd.DataFrame.from_records(rows, columns=names)
    for name in names:  # numeric columns come as Decimal: read them as numbers
        column = frame[name]
        if column.dtype == object and isinstance(_first_value(column), Decimal):
            frame[name] = pd.to_numeric(column.map(_float_or_none))
    frame[ROW] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame


def _first_value(column: pd.Series):
    present = column.dropna()
    return present.iloc[0] if len(present) else None


def _float_or_none(value):
    return None if value is None else float(value)


def _with_header(
    cells: pd.DataFrame, spec: FileSpec, notes: list[Note], preview: list
) -> pd.DataFrame:
    """The header row (row 1 unless the binding says `header_row`) names the columns; the
    data starts below it. Rows above the header and blank rows are not data.

    `cells` is indexed by the row number the user sees and labelled by column position
    (0 is column A); rows missing from it are blank."""
    shown, header_row = spec.shown, spec.option("header_row", 1)
    blank = _blank(cells).to_numpy()
    found = np.flatnonzero((cells.index.to_numpy() == header_row) & ~blank)
    if not len(found):
        raise DataError(f"{shown}: row {header_row} is empty; it must name the columns")
    at = int(found[0])
    above = cells.iloc[:at][~blank[:at]]
    preview.extend(
        (int(n), tuple("" if _is_blank(v) else str(v).strip() for v in row))
        for n, row in zip(above.index, above.itertuples(index=False), strict=True)
    )
    header = cells.iloc[at]
    data = cells.iloc[at + 1 :]
    names: list[str] = []
    keep: list[int] = []
    for position, value in enumerate(header):
        name = "" if _is_blank(value) else str(value).strip()
        if not name and _blank(data.iloc[:, [position]]).all():
            continue  # an unnamed, empty column: formatting, not data
        names.append(name or f"(column {_letters(int(cells.columns[position]))})")
        keep.append(position)
    _refuse_duplicates(names, shown)
    frame = data.iloc[:, keep].copy()
    frame.columns = names
    frame[ROW] = frame.index.to_numpy(dtype="int64")
    frame = frame[~blank[at + 1 :]].reset_index(drop=True)
    if len(frame):
        last = frame.iloc[-1]
        label = next(
            (str(v).strip() for v in last.drop(ROW) if isinstance(v, str) and TOTALS.match(v)),
            None,
        )
        row = int(last[ROW])
        if spec.option("totals_row"):
            notes.append(
                Note(
                    "totals_row",
                    f"row {row} is the totals row the binding declares (`totals_row: true`); "
                    "it is not read" + (f" ({label!r})" if label else ""),
                    row=row,
                    severity="info",
                )
            )
            frame = frame.iloc[:-1]
        elif label is not None:
            notes.append(
                Note(
                    "totals_row",
                    f"row {row} looks like a totals row ({label!r}) but is read as data; "
                    "if it holds totals, set `totals_row: true` in the binding",
                    row=row,
                )
            )
    return frame


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
