"""The HR workbook printed by LibreOffice: every header readable in full, clear of the
first data row, on every page; small summary tables never split.

Both demo workbooks (sales, and the Chinese retail policy) are converted to PDF with
`soffice --headless --convert-to pdf`. What each sheet should show is read from the
.xlsx with openpyxl (header texts, captions, column A); where it landed is read from
the PDF with pdftotext. A page belongs to the sheet named in its footer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from kpirules.cli import main
from tests.integration.pdf import Page, Word, pages, program, run, squeeze

ROOT = Path(__file__).resolve().parents[2]
POLICIES = {"sales": ROOT / "policies" / "sales", "zh": ROOT / "policies" / "zh_retail"}
AS_OF = "2027-01-04"


@dataclass(frozen=True)
class Printed:
    book: openpyxl.Workbook
    sheets: dict[str, list[Page]]  # sheet name → its pages, in order


@pytest.fixture(scope="module", params=sorted(POLICIES))
def printed(request, tmp_path_factory) -> Printed:
    soffice = program("soffice")
    program("pdftotext")
    folder = tmp_path_factory.mktemp(f"print-{request.param}")
    policy = POLICIES[request.param]
    xlsx = folder / f"{request.param}.xlsx"
    args = ["report", str(policy), "--data", str(policy / "data.yaml"), "--as-of", AS_OF]
    result = CliRunner().invoke(main, [*args, "-o", str(xlsx)])
    assert result.exit_code == 0, result.output
    # A profile of its own: another LibreOffice running on the machine does not interfere.
    profile = f"-env:UserInstallation=file://{folder / 'profile'}"
    run([soffice, profile, "--headless", "--convert-to", "pdf", "--outdir", str(folder), str(xlsx)])
    book = openpyxl.load_workbook(xlsx)
    sheets: dict[str, list[Page]] = {name: [] for name in book.sheetnames}
    for page in pages(folder / f"{request.param}.pdf"):
        sheets[_footer_sheet(page, book.sheetnames)].append(page)
    return Printed(book, sheets)


def _footer_sheet(page: Page, names: list[str]) -> str:
    """The sheet named in the page's footer ("Sheet name … 3 / 24")."""
    bottom = [line for line in page.lines() if line[0].y0 > page.height - 40]
    assert bottom, f"page {page.number} has no footer"
    words = bottom[-1]
    assert [w.text for w in words[-3:]][1] == "/", [w.text for w in words]
    name = " ".join(w.text for w in words[:-3])
    assert name in names, (page.number, name)
    return name


def _left(page: Page) -> float:
    return min(w.x0 for w in page.words)


def _column_points(sheet, column: int, scale: int) -> float:
    """A column's printed width: Excel's conversion of characters to pixels (a digit is
    7 pixels, 5 of padding), in points, at the print scale."""
    letter = openpyxl.utils.get_column_letter(column)
    for dimension in sheet.column_dimensions.values():
        if dimension.min <= column <= dimension.max:
            width = dimension.width
            break
    else:
        raise AssertionError(f"{sheet.title}: no width for column {letter}")
    return int(width * 7 + 5) * 0.75 * scale / 100


def _cell_text_at(page: Page, start: Word, right: float, bottom: float) -> str:
    """The text of a cell whose first word is `start`: the words from it down to
    `bottom`, left of `right`, in reading order, without spaces."""
    words = [
        w
        for w in page.words
        if start.x0 - 1 <= w.x0 < right and w.y0 >= start.y0 - 1 and w.y0 < bottom
    ]
    words.sort(key=lambda w: (round(w.y0), w.x0))
    return "".join(squeeze(w.text) for w in words)


def _frozen_sheets(book) -> list[str]:
    return [s.title for s in book.worksheets if s.freeze_panes]


def test_every_sheet_printed(printed):
    assert all(printed.sheets[name] for name in printed.book.sheetnames), {
        name: len(p) for name, p in printed.sheets.items()
    }


def test_every_page_of_a_list_carries_its_full_header_clear_of_the_data(printed):
    """On every page of a sheet with a frozen header (scorecards, actions, goals,
    findings): the header row on top, each header cell's text complete (all the lines
    of a wrapped header, inside its column) and entirely above the first data row."""
    checked = 0
    for name in _frozen_sheets(printed.book):
        sheet = printed.book[name]
        header_row = sheet[sheet.freeze_panes].row - 1
        headers = [c for c in sheet[header_row] if c.value is not None]
        first = squeeze(str(headers[0].value))
        ids = {squeeze(str(c.value)) for c in sheet["A"][header_row:] if c.value is not None}
        scale = sheet.page_setup.scale or 100
        found: set[str] = set()
        for page in printed.sheets[name]:
            left = _left(page)
            tops = [w for w in page.words if abs(w.x0 - left) < 2 and squeeze(w.text) == first]
            assert tops, f"{name}, page {page.number}: no header row"
            top = min(tops, key=lambda w: w.y0)
            below = [
                w
                for w in page.words
                if abs(w.x0 - left) < 2 and w.y0 > top.y0 + 1 and squeeze(w.text) in ids
            ]
            assert below, f"{name}, page {page.number}: no data row under the header"
            data_top = min(w.y0 for w in below)
            # The words of a line differ in their top by a fraction of a point.
            band = [w for w in page.words if top.y0 - 1 <= w.y0 < data_top - 1]
            # Header text and the first data row do not overlap vertically.
            assert max(w.y1 for w in band) <= data_top + 0.5, (name, page.number)
            for cell in headers:
                wanted = squeeze(str(cell.value))
                right = _column_points(sheet, cell.column, scale)
                for start in band:
                    text = _cell_text_at(page, start, start.x0 + right - 1, data_top - 1)
                    if text.startswith(wanted):
                        found.add(cell.coordinate)
                        break
            checked += 1
        missing = [str(c.value) for c in headers if c.coordinate not in found]
        assert not missing, f"{name}: headers not printed in full: {missing}"
    assert checked >= 8


def _tables(sheet) -> list[tuple[int, int]]:
    """The (caption row, last row) of each captioned table on a sheet of tables."""
    out = []
    for (cell,) in sheet.iter_rows(min_col=1, max_col=1):
        if cell.value is not None and cell.font.b and cell.font.sz == 12:
            row = cell.row + 1
            while any(c.value is not None for c in sheet[row + 1]):
                row += 1
            out.append((cell.row, row))
    return out


def _page_of_rows(sheet, printed_pages: list[Page]) -> dict[int, int]:
    """Row number → the page it is printed on, matching column A's texts in order with
    the first word of each line at the page's left margin (a wrapped or cut cell
    prints a prefix of its text)."""
    expected = [
        (cell.row, squeeze(str(cell.value)))
        for (cell,) in sheet.iter_rows(min_col=1, max_col=1)
        if cell.value is not None and squeeze(str(cell.value))
    ]
    printed_lines = []
    for page in printed_pages:
        left = _left(page)
        for line in page.lines():
            if abs(line[0].x0 - left) < 2 and line[0].y0 < page.height - 40:
                printed_lines.append((page.number, squeeze(line[0].text)))
    where: dict[int, int] = {}
    at = 0
    for row, text in expected:
        while at < len(printed_lines) and not (
            text.startswith(printed_lines[at][1]) or printed_lines[at][1].startswith(text)
        ):
            at += 1
        assert at < len(printed_lines), f"{sheet.title}: row {row} {text!r} not printed"
        where[row] = printed_lines[at][0]
        at += 1
    return where


def test_summary_tables_are_whole_or_start_a_page(printed):
    """A caption and a header never end a page, and a table that is split across
    pages starts at the top of one (it is longer than a page)."""
    name = printed.book.sheetnames[0]
    sheet = printed.book[name]
    where = _page_of_rows(sheet, printed.sheets[name])
    first_on_page = {}
    for row, page in sorted(where.items()):
        first_on_page.setdefault(page, row)
    tables = _tables(sheet)
    assert len(tables) >= 8
    for caption, last in tables:
        assert where[caption] == where[caption + 1] == where[caption + 2], (caption, where)
        if where[last] != where[caption]:
            assert first_on_page[where[caption]] == caption, f"{name}: table at row {caption}"
