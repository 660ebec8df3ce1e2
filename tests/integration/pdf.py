"""Printing through real programs, and reading where the text landed on the pages.

The integration tests drive LibreOffice (the workbook) and Chromium (the feedback
sheets) headless, then read the PDF with poppler's `pdftotext -bbox-layout`: every word
with its box on its page, in points from the page's top left corner. A missing program
fails the test with what to install; it is never skipped.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL = {
    "soffice": "libreoffice-calc-nogui",
    "pdftotext": "poppler-utils",
    "pdftoppm": "poppler-utils",
    "chromium": "chromium",
}
_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    width: float
    height: float
    words: tuple[Word, ...]

    def lines(self) -> list[list[Word]]:
        """The words grouped into lines, top to bottom, left to right: a word joins the
        line whose middle lies within its box (Chinese and Latin fonts give the words
        of one line boxes of different heights)."""
        out: list[list[Word]] = []
        for word in sorted(self.words, key=lambda w: ((w.y0 + w.y1) / 2, w.x0)):
            if out:
                first = out[-1][0]
                middle = (first.y0 + first.y1) / 2
                if word.y0 < middle < word.y1:
                    out[-1].append(word)
                    continue
            out.append([word])
        return [sorted(line, key=lambda w: w.x0) for line in out]


def program(name: str) -> str:
    """The path of a program the test needs; fails (never skips) when it is missing."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: apt-get install {INSTALL.get(name, name)}")
    return found


def run(args: list[str], timeout: float = 240) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{args[0]} failed: {done.stderr}{done.stdout}"


def pages(pdf: Path) -> list[Page]:
    """Every page of `pdf` with its words."""
    out = subprocess.run(
        [program("pdftotext"), "-bbox-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = []
    for number, (width, height, body) in enumerate(_PAGE.findall(out), 1):
        words = tuple(
            Word(html.unescape(text), float(a), float(b), float(c), float(d))
            for a, b, c, d, text in _WORD.findall(body)
        )
        found.append(Page(number, float(width), float(height), words))
    return found


def squeeze(text: str) -> str:
    """Text without white space: how a wrapped cell compares with its lines' words."""
    return re.sub(r"\s+", "", text)
