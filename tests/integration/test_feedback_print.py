"""The feedback sheets printed by Chromium: no page ends with a heading (or a heading
and its introduction), no date or period is split across lines, and a team's folder
holds a page per person that the index links.

The sheets are written by `kpirules feedback --format html -o DIR` (a manager's team,
in English and in Chinese) and printed with `chromium --headless --print-to-pdf`,
without the browser's own page header and footer. The headings and introductions are
read from the HTML; where they landed, from the PDF with pdftotext.
"""

from __future__ import annotations

import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpirules.cli import main
from tests.integration.pdf import Page, pages, program, run, squeeze

ROOT = Path(__file__).resolve().parents[2]
TEAMS = {
    "en": (ROOT / "policies" / "sales", "E1012"),
    "zh": (ROOT / "policies" / "zh_retail", "HC0101"),
}
# A date or period cut at a hyphen: "2027-03-" or "(2026-" at the end of a line.
_CUT = re.compile(r"\d{4}-(\d{2}-)?$")


class _Blocks(HTMLParser):
    """The text of each heading (h1–h3) and introduction (p.intro), in order."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[str, str]] = []  # (kind, text)
        self._open: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("h1", "h2", "h3") or (tag == "p" and "intro" in classes):
            self._open, self._text = ("intro" if tag == "p" else "heading"), []

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag in ("h1", "h2", "h3", "p"):
            self.blocks.append((self._open, squeeze("".join(self._text))))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)


def _print(html: Path, out: Path) -> list[Page]:
    chromium = program("chromium")
    with tempfile.TemporaryDirectory() as profile:
        run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-pdf-header-footer",
                f"--user-data-dir={profile}",
                f"--print-to-pdf={out}",
                html.as_uri(),
            ]
        )
    return pages(out)


@pytest.fixture(scope="module", params=sorted(TEAMS))
def team(request, tmp_path_factory) -> tuple[Path, str]:
    program("pdftotext")
    policy, manager = TEAMS[request.param]
    folder = tmp_path_factory.mktemp(f"feedback-{request.param}")
    args = ["feedback", str(policy), "--data", str(policy / "data.yaml"), "--as-of"]
    args += ["2027-01-04", "--manager", manager, "--format", "html", "-o", str(folder)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return folder, manager


def _lines(printed: list[Page]) -> list[tuple[int, str]]:
    return [
        (p.number, "".join(squeeze(w.text) for w in line)) for p in printed for line in p.lines()
    ]


def _locate(blocks: list[tuple[str, str]], lines: list[tuple[int, str]]) -> list[range]:
    """The PDF lines of each block, matched in order (a wrapped block spans several)."""
    found = []
    at = 0
    for kind, text in blocks:
        while at < len(lines) and not (lines[at][1] and text.startswith(lines[at][1])):
            at += 1
        assert at < len(lines), f"{kind} {text!r} not printed"
        first, done = at, lines[at][1]
        while done != text:
            at += 1
            done += lines[at][1]
            assert text.startswith(done), (text, done)
        at += 1
        found.append(range(first, at))
    return found


def test_no_page_ends_with_a_heading(team):
    """What follows a heading — past an introduction straight under it — is on the
    heading's page: a heading, or a heading and its introduction, never ends a page."""
    folder, manager = team
    bundle = folder / f"{manager}.html"
    printed = _print(bundle, folder / "bundle.pdf")
    assert len(printed) >= 3
    parser = _Blocks()
    parser.feed(bundle.read_text(encoding="utf-8"))
    lines = _lines(printed)
    where = _locate(parser.blocks, lines)
    headings = 0
    for number, ((kind, text), span) in enumerate(zip(parser.blocks, where)):
        if kind != "heading":
            continue
        headings += 1
        after = span.stop
        following = number + 1 < len(where) and parser.blocks[number + 1][0] == "intro"
        if following and where[number + 1].start == after:
            after = where[number + 1].stop
        page = lines[span.start][0]
        assert lines[after][0] == page, f"page {page} ends with the heading {text!r}"
    assert headings >= 20


def test_no_date_is_split_across_lines(team):
    folder, manager = team
    for name in (f"{manager}.html", "index.html"):
        printed = _print(folder / name, folder / f"{name}.pdf")
        cut = [
            (page.number, line[-1].text)
            for page in printed
            for line in page.lines()
            if _CUT.search(line[-1].text)
        ]
        assert not cut, f"{name}: dates split at a line's end: {cut}"


def test_the_index_links_a_page_per_person(team):
    """A person's page prints on its own; the index links it and the team's bundle."""
    folder, manager = team
    index = (folder / "index.html").read_text(encoding="utf-8")
    people = sorted(p.name for p in folder.glob("*.html") if p.name not in ("index.html",))
    people.remove(f"{manager}.html")
    assert len(people) >= 3
    links = re.findall(r'<a href="([^"]+)">', index)
    assert links[0] == f"{manager}.html"  # the team's bundle, then each person
    assert sorted(links[1:]) == people
    printed = _print(folder / people[0], folder / "person.pdf")
    text = "".join(line for _, line in _lines(printed))
    assert people[0].removesuffix(".html") in text
    assert 1 <= len(printed) <= 4
