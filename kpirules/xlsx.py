"""Styled tables → an .xlsx workbook, written with XlsxWriter.

The model here is small: a sheet holds title lines, context tables and a main table; a
table is columns of values (pandas Series) with a Style per column or per row. This
module lays them out (rows, widths from the content, frozen header, filter, sheets
continued past Excel's row limit) and turns each column into Python values once, with
vectorised pandas operations; XlsxWriter writes the file.

Why XlsxWriter: it is well maintained and its files open cleanly in Excel, LibreOffice
and Google Sheets; its `constant_memory` mode streams each row to disk as soon as the
next one starts, so memory stays flat however long the tables are. Rows are therefore
written strictly in order, one `write_row` per row.

Pages are laid out for print as well as the screen (see `_page_setup`): A4 landscape,
the main table's header repeated on every page, a header row tall enough for all the
lines of its wrapped cells, a small table never split across pages, and a legible scale:
fit to the page's width when that keeps the text at least MIN_SCALE percent of its size,
else pages run across with the frozen id and name columns repeated on each.

Text is always text: the workbook is opened with `strings_to_formulas`,
`strings_to_urls` and `strings_to_numbers` off, so `=HYPERLINK(…)`, `http://…` or
`007` in the data stays a string. Control characters that XML does not allow are
removed. The output is deterministic: XlsxWriter fixes the zip timestamps and the
creation date is set to a constant, so the same tables give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

MAX_ROWS = 1_048_576  # Excel's limit per sheet, header rows included
MAX_SHEET_NAME = 31
MAX_TEXT = 32_767  # Excel's limit on the length of a cell's text (UTF-16 units)
CHUNK_ROWS = 50_000  # rows turned into Python values at a time: bounds memory
CREATED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # fixed, so that the bytes are too
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_FORBIDDEN_IN_NAME = str.maketrans({c: "_" for c in "[]:*?/\\"})
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"  # not allowed in XML 1.0
# Print: A4 landscape, in points (1/72 inch), and the margins in inches.
PAGE_WIDTH, PAGE_HEIGHT = 842.0, 595.0
MARGIN_SIDE, MARGIN_TOP, MARGIN_BOTTOM, MARGIN_HEADER = 0.4, 0.6, 0.6, 0.25
PRINT_WIDTH = PAGE_WIDTH - 2 * 72 * MARGIN_SIDE
PRINT_HEIGHT = PAGE_HEIGHT - 72 * (MARGIN_TOP + MARGIN_BOTTOM)
MIN_SCALE = 75  # percent: 11 pt text prints at 8.25 pt, still easy to read
FIT_SLACK = 0.95  # spreadsheet programs measure fonts a little differently
HEIGHT_SLACK = 0.97  # and title rows, whose height the program chooses
LINE_HEIGHT = 15.0  # points per line of 11 pt text, Excel's default row height
KEEP_ROWS = 3  # a list starts on a page with room for its header and this many rows
# East Asian wide and full-width characters take two columns of width.
_WIDE = (
    r"[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
    r"\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]"
)


@dataclass(frozen=True)
class Style:
    """How a cell looks. Colours are RGB hex ("C6EFCE")."""

    number_format: str = "General"
    bold: bool = False
    size: float = 11
    font_color: str | None = None
    fill: str | None = None
    border: bool = False
    wrap: bool = False
    italic: bool = False


@dataclass(frozen=True)
class Column:
    """One column of a table: a header and its values (numbers, text, dates or booleans;
    missing values stay empty cells). `styles`, when given, holds a Style per row and
    overrides `style` where it is not None (rating colours, a unit per row)."""

    header: str
    values: pd.Series
    style: Style = Style()
    styles: pd.Series | None = None
    max_width: float = 60


@dataclass(frozen=True)
class Table:
    """A block of rows under a header row, with an optional bold caption above it."""

    columns: tuple[Column, ...]
    caption: str | None = None

    @property
    def height(self) -> int:
        return len(self.columns[0].values) if self.columns else 0


@dataclass(frozen=True)
class Sheet:
    """A sheet: title lines, context tables, then the main table, whose header row is
    frozen and filterable. A main table longer than Excel allows continues on further
    sheets named "Name (2)", "Name (3)", …"""

    name: str
    main: Table
    title: tuple[str, ...] = ()
    context: tuple[Table, ...] = ()
    # Columns kept in view when scrolling right (e.g. id, name), and repeated on each
    # printed page when the table is too wide for one.
    freeze_columns: int = 0
    # The main table is the sheet's list: its header is frozen, filterable and printed
    # on every page. Not on a summary of small tables, which are kept whole instead.
    frozen: bool = True


HEADER = Style(bold=True, font_color="FFFFFF", fill="1F4E78", border=True, wrap=True)
CAPTION = Style(bold=True, size=12)
TITLE = Style(bold=True, size=14)
SUBTITLE = Style(italic=True, font_color="595959")


def sheet_name(wanted: str, taken: Iterable[str]) -> str:
    """A valid, unique sheet name: no []:*?/\\, at most 31 characters, not blank, not
    starting or ending with an apostrophe, unique ignoring case (as Excel compares)."""
    name = wanted.translate(_FORBIDDEN_IN_NAME).strip().strip("'") or "Sheet"
    name = name[:MAX_SHEET_NAME]
    used = {t.casefold() for t in taken}
    candidate, number = name, 1
    while candidate.casefold() in used or candidate.casefold() == "history":
        number += 1
        suffix = f" ({number})"
        candidate = name[: MAX_SHEET_NAME - len(suffix)] + suffix
    return candidate


def write_workbook(path: Path, sheets: Sequence[Sheet], *, title: str = "") -> None:
    """Write the sheets to `path` as an .xlsx workbook."""
    options = {
        "constant_memory": True,  # rows go to disk as they are written
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "use_zip64": True,  # only used when a part passes 4 GB
    }
    with xlsxwriter.Workbook(str(path), options) as book:
        book.set_properties({"title": title, "author": "kpirules", "created": CREATED})
        formats = _Formats(book)
        for sheet in _split_long(sheets):
            _write_sheet(book.add_worksheet(sheet.name), sheet, formats)


# ------------------------------------------------------------------ layout


def _split_long(sheets: Sequence[Sheet]) -> list[Sheet]:
    out: list[Sheet] = []
    taken: list[str] = []
    for sheet in sheets:
        room = MAX_ROWS - _header_rows(sheet)[-1]
        parts = max(1, -(-sheet.main.height // room))
        for part in range(parts):
            rows = slice(part * room, (part + 1) * room)
            columns = tuple(
                Column(
                    c.header,
                    c.values.iloc[rows],
                    c.style,
                    None if c.styles is None else c.styles.iloc[rows],
                    c.max_width,
                )
                for c in sheet.main.columns
            )
            wanted = sheet.name if part == 0 else f"{sheet.name} ({part + 1})"
            name = sheet_name(wanted, taken)
            taken.append(name)
            out.append(
                Sheet(
                    name,
                    Table(columns, sheet.main.caption),
                    sheet.title,
                    sheet.context if part == 0 else (),
                    sheet.freeze_columns,
                    sheet.frozen,
                )
            )
    return out


def _header_rows(sheet: Sheet) -> list[int]:
    """The header row (1-based) of each table: title lines, a blank, each context table
    (caption, header, rows, blank), then the main table (caption, header, rows)."""
    row = len(sheet.title) + (1 if sheet.title else 0) + 1
    starts = []
    for table in (*sheet.context, sheet.main):
        row += 1 if table.caption else 0
        starts.append(row)
        row += table.height + 2
    return starts


def display_width(values: pd.Series) -> float:
    """The widest text among `values` in character columns (wide characters count 2)."""
    text = pd.Series(values.dropna().unique()).astype(str)
    if text.empty:
        return 0
    return float((text.str.len() + text.str.count(_WIDE)).max())


def _number_width(values: pd.Series, number_format: str) -> float:
    numbers = pd.to_numeric(values, errors="coerce")
    numbers = numbers[np.isfinite(numbers)]
    if numbers.empty:
        return 0
    biggest = float(numbers.abs().max())
    if "%" in number_format:
        biggest *= 100
    digits = len(f"{biggest:,.0f}") + (1 if (numbers < 0).any() else 0)
    decimals = number_format.split(".")[1] if "." in number_format else ""
    places = len(decimals) - len(decimals.lstrip("0"))
    suffix = number_format.split('"')[1] if number_format.count('"') >= 2 else ""
    return digits + (places + 1 if places else 0) + len(suffix) + 2


def _width(column: Column) -> float:
    header = display_width(pd.Series([column.header]))
    kind = _kind(column.values)
    if kind == "number":
        body = _number_width(column.values, column.style.number_format)
    elif kind == "date":
        body = 10
    else:
        body = display_width(column.values)
    # Headers wrap, so a long header does not force a wide column of short numbers.
    wanted = max(body, min(header, max(body, 12)))
    return round(min(max(wanted + 2, 8), column.max_width), 1)


# Widths of characters of Calibri 11 (Excel's default font, and LibreOffice's Carlito)
# in column units, the width of a digit (7 pixels): close enough to tell how a header
# wraps. Bold text is a little wider.
_NARROW = frozenset(" ijlI.,:;'!|`")
_SMALL = frozenset('frt()[]{}-/\\"')
_LOWER_NARROW = frozenset("csz")
_BROAD = frozenset("mwMW%@")
_BOLD = 1.04


def _char_width(char: str) -> float:
    """A character's width in column units (see above); East Asian wide and full-width
    characters are a square of the font's size, 11 pt = 14.7 pixels."""
    if char.isascii():
        if char in _NARROW:
            return 0.5
        if char in _SMALL:
            return 0.7
        if char in _LOWER_NARROW:
            return 0.85
        if char in _BROAD:
            return 1.7
        return 1.25 if char.isupper() else 1.05
    return 2.1 if unicodedata.east_asian_width(char) in "WF" else 1.1


# Words wrap at spaces; East Asian text wraps between any two characters.
_TOKENS = re.compile(r" +|[\u1100-\uffff]|[^ \u1100-\uffff]+")


def wrapped_lines(text: str, width: float, *, bold: bool = False) -> int:
    """How many lines `text` takes in a wrapping cell `width` column units wide,
    breaking as a spreadsheet program does: at spaces, between East Asian characters,
    and inside a word longer than a line."""
    room = max(width - 0.3, 1.0)  # the cell's padding
    factor = _BOLD if bold else 1.0
    lines = 0
    for paragraph in text.split("\n"):
        lines += 1
        used = 0.0
        for token in _TOKENS.findall(paragraph):
            size = factor * sum(_char_width(c) for c in token)
            if token.startswith(" "):
                used += size if used else 0.0  # a line break swallows the spaces
                continue
            if used + size <= room:
                used += size
                continue
            if used:
                lines += 1
            used = 0.0
            for char in token:  # a word longer than a line breaks anywhere
                step = factor * _char_width(char)
                if used + step > room and used:
                    lines += 1
                    used = 0.0
                used += step
    return max(lines, 1)


def _points(width: float) -> float:
    """A column width in characters → points, as Excel converts it (a digit of the
    default font is 7 pixels wide, plus 5 pixels of padding; 0.75 points a pixel)."""
    return math.trunc(width * 7 + 5) * 0.75 if width > 0 else 0.0


def _header_height(table: Table, widths: dict[int, float]) -> float:
    """The header row's height in points: enough lines for its tallest wrapped cell."""
    lines = max(
        (
            wrapped_lines(c.header, widths.get(n, 8.43), bold=HEADER.bold)
            for n, c in enumerate(table.columns)
        ),
        default=1,
    )
    return min(lines * LINE_HEIGHT * HEADER.size / 11 + 2, 409)  # 409: Excel's limit


def _scale(layout: Sheet, widths: dict[int, float], header_heights: list[float]) -> int:
    """The print scale in percent: 100 when the columns fit the page's width; smaller
    to fit them, as long as the text stays legible; else MIN_SCALE, with the pages
    running across. A sheet of small tables (not `frozen`) is also made small enough,
    within the same limit, for its longest table to fit on one page."""
    total = sum(_points(w) for w in widths.values())
    fit = PRINT_WIDTH * FIT_SLACK / total * 100 if total else 100
    if not layout.frozen:
        tables = [*layout.context, layout.main]
        tallest = max(_block_height(table, header) for table, header in zip(tables, header_heights))
        fit = min(fit, PRINT_HEIGHT * HEIGHT_SLACK / tallest * 100)
    if fit >= 100:
        return 100
    return math.floor(fit) if fit >= MIN_SCALE else MIN_SCALE


def _block_height(table: Table, header: float) -> float:
    """A table's height in points: caption, header and rows."""
    return (_row_height(CAPTION) if table.caption else 0.0) + header + LINE_HEIGHT * table.height


def _row_height(style: Style) -> float:
    return LINE_HEIGHT * max(style.size, 11) / 11


def _page_breaks(layout: Sheet, header_heights: list[float], scale: int) -> list[int]:
    """Rows (0-based) that start a new printed page, so that a table that fits on a
    page is never split and a longer one starts on a page of its own (a list with
    its header repeated: with its header and KEEP_ROWS rows); a page never ends with
    a caption or a header. Rows are counted at their default height; the page's
    height is shortened by HEIGHT_SLACK for the difference."""
    room = PRINT_HEIGHT * HEIGHT_SLACK * 100 / scale
    breaks: list[int] = []
    titles = [_row_height(TITLE if n == 0 else SUBTITLE) for n in range(len(layout.title))]
    used = sum(titles) + (LINE_HEIGHT if titles else 0)  # and the blank row under them
    tables = [*layout.context, layout.main]
    for table, start, header in zip(tables, _header_rows(layout), header_heights):
        top = start - 2 if table.caption else start - 1  # 0-based first row of the block
        whole = _block_height(table, header)
        # A table that does not fit in what is left of the page starts the next one; so
        # a long table is split no more often than it must be. A list (the main table
        # of a frozen sheet) has its header on every page: it only needs room for its
        # header and first rows.
        needed = whole
        if table is layout.main and layout.frozen:
            needed = whole - LINE_HEIGHT * max(table.height - KEEP_ROWS, 0)
        if used + needed > room and used > 0:
            breaks.append(top)
            used = 0.0
        used += whole + LINE_HEIGHT  # the table, then the blank row under it
        if used > room:
            # A long table flows on by itself, and where its last page ends is a guess:
            # the next table starts a page of its own.
            used = room
    return breaks


def _page_setup(sheet: Worksheet, layout: Sheet, scale: int, breaks: list[int]) -> None:
    """Paper, margins, scale, titles repeated on every page, page breaks, footer."""
    sheet.set_paper(9)  # A4
    sheet.set_landscape()
    sheet.set_margins(MARGIN_SIDE, MARGIN_SIDE, MARGIN_TOP, MARGIN_BOTTOM)
    sheet.set_print_scale(scale)
    # Pages of the same rows follow each other when a table runs across pages.
    sheet.print_across()
    header_row = _header_rows(layout)[-1] - 1
    if layout.frozen and layout.main.columns:
        sheet.repeat_rows(header_row)
        if scale == MIN_SCALE:
            # Too wide for one page: the key columns (at least the first) are repeated,
            # so that a page of the right-hand columns still says whose rows they are.
            sheet.repeat_columns(0, max(layout.freeze_columns, 1) - 1)
    if breaks:
        sheet.set_h_pagebreaks(breaks)
    # The sheet's name and the page number, so a loose page says where it belongs.
    sheet.set_footer("&L&A&R&P / &N", {"margin": MARGIN_HEADER})


# ------------------------------------------------------------------ cells


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "bool"
    if pd.api.types.is_numeric_dtype(values):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    return "text"


def _values(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A column as an object array of what XlsxWriter writes: float (numbers; dates as
    Excel serial days), bool or str, None where a value is missing (no cell); where a
    value is present; where the text looks like rich-text XML (see _write_cell)."""
    kind = _kind(values)
    out = np.full(len(values), None, dtype=object)
    rich = np.zeros(len(values), dtype=bool)
    if kind == "bool":
        present = values.notna().to_numpy()
        out[present] = values[present].astype(bool).tolist()
    elif kind == "number":
        floats = values.to_numpy(dtype="float64", na_value=np.nan)
        present = np.isfinite(floats)
        out[present] = floats[present].tolist()
    elif kind == "date":
        if getattr(values.dtype, "tz", None) is not None:
            values = values.dt.tz_localize(None)  # Excel has no time zones: wall time
        stamps = values.to_numpy(dtype="datetime64[ms]")
        present = ~np.isnat(stamps)
        out[present] = ((stamps[present] - _EXCEL_EPOCH) / np.timedelta64(1, "D")).tolist()
    else:
        # Text repeats (periods, departments, titles): clean each distinct value once.
        codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
        text = pd.Series(uniques, dtype=object).astype(str)
        text = text.str.replace(_CONTROL, "", regex=True).map(_clip)
        looks_rich = (text.str.startswith("<r>") & text.str.endswith("</r>")).to_numpy(bool)
        out = np.append(text.to_numpy(dtype=object), None)[codes]  # code -1: missing
        present = codes >= 0
        rich = np.append(looks_rich, False)[codes]
    return out, present, rich


def _clip(text: str) -> str:
    """Cut text to Excel's limit, counted in UTF-16 units as Excel does."""
    if len(text) <= MAX_TEXT // 2:
        return text
    return text.encode("utf-16-le")[: 2 * MAX_TEXT].decode("utf-16-le", "ignore")


class _Cell(NamedTuple):
    """A value written with a format of its own rather than its column's."""

    value: object
    format: Format | None


def _write_cell(sheet: Worksheet, row: int, col: int, cell: _Cell, _=None) -> int:
    """XlsxWriter's write handler for _Cell. In constant_memory mode XlsxWriter passes
    text shaped like "<r>…</r>" through unescaped, as rich-text XML; such text is
    written as a rich string of runs in the cell's font instead, which shows the same."""
    value, cell_format = cell
    if isinstance(value, str) and value.startswith("<r>") and value.endswith("</r>"):
        runs = (value[:1], value[1:2], value[2:])
        if cell_format is None:
            return sheet.write_rich_string(row, col, *runs)
        styled = [part for run in runs for part in (cell_format, run)]
        return sheet.write_rich_string(row, col, *styled, cell_format)
    return sheet.write(row, col, value, cell_format)


class _Formats:
    """Styles → XlsxWriter formats, each made once per workbook."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self.made: dict[Style, Format] = {}

    def __call__(self, style: Style) -> Format:
        if style not in self.made:
            properties: dict[str, object] = {"font_size": style.size}
            if style.number_format != "General":
                properties["num_format"] = style.number_format
            if style.bold:
                properties["bold"] = True
            if style.italic:
                properties["italic"] = True
            if style.font_color:
                properties["font_color"] = "#" + style.font_color
            if style.fill:
                properties |= {"pattern": 1, "bg_color": "#" + style.fill}
            if style.border:
                properties |= {"border": 1, "border_color": "#BFBFBF"}
            if style.wrap:
                properties |= {"text_wrap": True, "valign": "top"}
            self.made[style] = self.book.add_format(properties)
        return self.made[style]

    def rows(self, column: Column) -> tuple[np.ndarray, np.ndarray]:
        """The format of each row of `column`, and where it differs from the column's."""
        base = self(column.style)
        if column.styles is None:
            count = len(column.values)
            return np.full(count, base, dtype=object), np.zeros(count, dtype=bool)
        codes, uniques = pd.factorize(column.styles.to_numpy(dtype=object))
        made = np.array([*(self(s) for s in uniques), base], dtype=object)
        differs = np.array([*(s != column.style for s in uniques), False], dtype=bool)
        return made[codes], differs[codes]


# ------------------------------------------------------------------ sheets


def _write_sheet(sheet: Worksheet, layout: Sheet, formats: _Formats) -> None:
    sheet.add_write_handler(_Cell, _write_cell)
    tables = [*layout.context, layout.main]
    widths: dict[int, float] = {}
    for table in tables:
        for number, column in enumerate(table.columns):
            widths[number] = max(widths.get(number, 0), _width(column))
    # A header row is as tall as its tallest wrapped cell, so that every line of a long
    # header shows (a program does not grow a row to fit on opening the file).
    header_heights = [_header_height(table, widths) for table in tables]
    scale = _scale(layout, widths, header_heights)
    _page_setup(sheet, layout, scale, _page_breaks(layout, header_heights, scale))
    # Most main-table cells take their column's format, set here (XlsxWriter writes it
    # on each cell without a format of its own); other cells carry their own format.
    main = {number: column.style for number, column in enumerate(layout.main.columns)}
    for number, width in sorted(widths.items()):
        style = main.get(number)
        shared = style is not None and _shared(style)
        sheet.set_column(number, number, width, formats(style) if shared else None)
    for row, line in enumerate(layout.title):
        sheet.write_row(row, 0, [_Cell(line, formats(TITLE if row == 0 else SUBTITLE))])
    starts = _header_rows(layout)
    for table, start, height in zip(tables, starts, header_heights):
        if table.caption:
            sheet.write_row(start - 2, 0, [_Cell(table.caption, formats(CAPTION))])
        header = formats(HEADER)
        sheet.set_row(start - 1, height)  # before the row: rows are streamed in order
        sheet.write_row(start - 1, 0, [_Cell(c.header, header) for c in table.columns])
        _write_rows(sheet, table, start, formats, column_formats=table is layout.main)
    header_row, count = starts[-1], len(layout.main.columns)
    if layout.frozen:
        sheet.freeze_panes(header_row, layout.freeze_columns)
        if count:
            last_row = header_row + layout.main.height
            sheet.autofilter(header_row - 1, 0, last_row - 1, count - 1)


def _shared(style: Style) -> bool:
    """Whether `style` can be the column's format: invisible on the column's empty
    cells (no fill, no border)."""
    return style.fill is None and not style.border


def _write_rows(
    sheet: Worksheet, table: Table, first_row: int, formats: _Formats, *, column_formats: bool
) -> None:
    """The table's rows from `first_row` (0-based), a chunk of rows at a time: each
    column turned into a list at once, then one write_row per row. With
    `column_formats` a cell in a column whose format was set takes that format unless
    its row has a style of its own; every other cell is a _Cell carrying its format."""
    for start in range(0, table.height, CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        columns = []
        for column in table.columns:
            part = Column(
                column.header,
                column.values.iloc[rows],
                column.style,
                None if column.styles is None else column.styles.iloc[rows],
            )
            values, present, rich = _values(part.values)
            wanted, differs = formats.rows(part)
            if not (column_formats and _shared(column.style)):
                differs[:] = True
            for index in np.flatnonzero(differs & present | rich):
                values[index] = _Cell(values[index], wanted[index])
            columns.append(values.tolist())
        for row, cells in enumerate(zip(*columns), first_row + start):
            sheet.write_row(row, 0, cells)


__all__ = [
    "CAPTION",
    "HEADER",
    "MAX_ROWS",
    "Column",
    "Sheet",
    "Style",
    "Table",
    "display_width",
    "sheet_name",
    "wrapped_lines",
    "write_workbook",
]
