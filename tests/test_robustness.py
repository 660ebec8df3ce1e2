"""Robustness: whatever bytes `check` and `fmt` are given, they answer with diagnostics.

The requirement: truncated files, random mutations of valid policies, binary data, an empty
file, a byte-order mark, CRLF line ends, 10,000 levels of nesting, a 50 MB file — `check` and
`fmt` answer with diagnostics and exit 1 (or 2 for usage), never a Python traceback, never a
hang. The property tests mutate the example policies and run the in-process pipeline under a
wall-clock limit; the explicit cases run the real command line.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpirules import formatter
from kpirules.check import check
from kpirules.cli import main
from kpirules.diagnostics import Diagnostic, Severity, has_errors
from kpirules.loader import MAX_FILE_BYTES, read_text
from kpirules.parser import normalize, parse

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_FILES = sorted((ROOT / "policies").glob("**/*.kpi"))
EXAMPLES = {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in EXAMPLE_FILES}
EXAMPLE_NAMES = sorted(EXAMPLES)

CALL_SECONDS = 2.0  # each pipeline call on a mutated example must answer within this
HANG_SECONDS = 20.0  # ... and is interrupted after this, so a hang fails instead of hanging
PATH = "mutant.kpi"
CODE = re.compile(r"^[EWI]\d{3}$")
DIAGNOSTIC_LINE = re.compile(
    r"^(?P<file>\S[^\n]*?):(?P<line>\d+):(?P<column>\d+): (?P<code>[EW]\d{3}) "
)

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HEADER = 'policy "Robustness" {\n  cadence monthly\n  currency CNY\n}\n'
ROSTER = (
    "roster employees {\n  key employee_id\n"
    "  columns { employee_id: text required  base_salary: money }\n}\n"
    "source orders {\n  subject rep_id   time closed_on   key order_id\n"
    "  columns { order_id: text required  rep_id: text required  closed_on: date required"
    "  amount: money required }\n}\n"
)


def indicator(formula: str) -> str:
    """A small policy whose one indicator has the given formula."""
    return f"{HEADER}{ROSTER}indicator revenue {{\n  unit money  better higher\n  = {formula}\n}}\n"


# ------------------------------------------------------------------ helpers


class PipelineHang(Exception):
    """A pipeline call did not answer within HANG_SECONDS."""


@contextmanager
def time_limit(seconds: float = CALL_SECONDS, hang: float = HANG_SECONDS) -> Iterator[None]:
    """Fail if the block takes `seconds` or more; interrupt it after `hang` seconds."""
    use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is (
        threading.main_thread()
    )
    previous = None
    if use_alarm:

        def on_alarm(signum, frame):
            raise PipelineHang(f"no answer after {hang:g} s")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, hang)
    start = time.perf_counter()
    try:
        yield
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - start
    assert elapsed < seconds, f"took {elapsed:.2f} s (limit {seconds:g} s)"


def assert_valid_diagnostics(diagnostics: list[Diagnostic], text: str, path: str = PATH) -> None:
    """Every diagnostic has a code, a message and a span that lies within `text`."""
    lines = normalize(text).split("\n")
    for d in diagnostics:
        assert isinstance(d, Diagnostic), d
        assert isinstance(d.severity, Severity), d
        assert CODE.match(d.code), d
        assert isinstance(d.message, str) and d.message.strip(), d
        span = d.span
        assert span.file == path, d
        assert 1 <= span.line <= len(lines) + 1, d
        assert span.column >= 1, d
        if span.line <= len(lines):
            assert span.column <= len(lines[span.line - 1]) + 1, d
        assert (span.end_line, span.end_column) >= (span.line, span.column), d


def run_pipeline(text: str, path: str = PATH) -> list[Diagnostic]:
    """parse → check → format in process, as `check` and `fmt` do; returns every diagnostic."""
    with time_limit():
        module, diagnostics = parse(text, path)
    assert_valid_diagnostics(diagnostics, text, path)
    if module is None:
        assert has_errors(diagnostics), "parse returned no module and no error"
    else:
        with time_limit():
            policy, checked = check([module], str(ROOT))
        assert_valid_diagnostics(checked, text, path)
        assert (policy is None) == has_errors(checked)
        diagnostics = diagnostics + checked
    with time_limit():
        formatted, format_diagnostics = formatter.format_source(text, path)
    assert_valid_diagnostics(format_diagnostics, text, path)
    if formatted is None:
        assert has_errors(format_diagnostics), "fmt refused without saying why"
    else:
        assert module is not None, "fmt formatted a file that does not parse"
        # (format_source itself re-parses its output and compares the trees)
        assert "\r" not in formatted and not formatted.startswith("\ufeff")
    if module is not None:
        assert formatted is not None, f"fmt refused a file that parses: {format_diagnostics}"
    return diagnostics


def invoke(*args: str, terminal: bool = False) -> Result:
    """Run the command line in process; it must never raise nor print a traceback.
    `terminal`: keep escape sequences, as click does when writing to a terminal."""
    result = CliRunner().invoke(main, list(args), color=terminal)
    output = result.output
    assert "Traceback" not in output, output
    assert "internal error" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def diagnostics_in(output: str) -> list[tuple[str, int, int, str]]:
    """The `file:line:col: CODE` lines of the output."""
    return [
        (m["file"], int(m["line"]), int(m["column"]), m["code"])
        for m in (DIAGNOSTIC_LINE.match(line) for line in output.splitlines())
        if m
    ]


def codes_in(output: str) -> set[str]:
    return {code for *_, code in diagnostics_in(output)}


def assert_answers(result: Result, code: str, exit_code: int = 1) -> None:
    """Exit `exit_code` with a `file:line:col: CODE` diagnostic, and no traceback."""
    assert result.exit_code == exit_code, result.output
    found = diagnostics_in(result.output)
    assert found, f"no file:line:col: CODE diagnostic in:\n{result.output}"
    assert code in {c for *_, c in found}, result.output
    for _, line, column, _ in found:
        assert line >= 1 and column >= 1, result.output


@pytest.fixture(scope="module", autouse=True)
def warm_parser() -> None:
    """Build the Lark parser once, so the first timed call does not pay for it."""
    parse("", PATH)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in an empty folder, so diagnostics name files by their short name."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------ mutations

SPECIAL = [
    *'{}()[]"#\n\\=>,.:%+-*/ \t_',
    "\r",
    "\ufeff",
    "\x00",
    "\x1b",
    "\x0c",
    "\u2028",
    "\u00a0",
    "é",
    "中",
    "\U0001f600",
    "\u0301",
]
TOKENS = [
    *"policy indicator scorecard rating incentive improvement feedback test import goal".split(),
    *"objective source roster columns weight threshold target stretch otherwise bands".split(),
    *"when missing gate cap floor if then else and or not in where over last for".split(),
    *'=> " "" "unterminated { } ( ) [ ] 1 0 -1 10% 3 days 2026-01-01 2026-Q1 FY2026'.split(),
    *r'1e5 0. .5 \u12 "\q" score rating sum( count() orders.amount employees.role'.split(),
    "\r\n",
    "# comment",
    "1_000 CNY",
    "9" * 40,
]
CHAR = st.one_of(st.sampled_from(SPECIAL), st.characters(codec="utf-8"))
SNIPPET = st.one_of(
    CHAR,
    st.sampled_from(TOKENS),
    st.text(alphabet=CHAR, min_size=1, max_size=12),
)


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    """An example policy with one to four random edits."""
    text = EXAMPLES[draw(st.sampled_from(EXAMPLE_NAMES))]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(
                ["truncate", "delete", "insert", "replace", "swap", "duplicate", "drop_line"]
            )
        )
        at = draw(st.integers(0, len(text)))
        if kind == "truncate":
            text = text[:at]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif kind == "insert":
            text = text[:at] + draw(SNIPPET) + text[at:]
        elif kind == "replace":
            text = text[:at] + draw(SNIPPET) + text[at + 1 :]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if kind == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            elif kind == "duplicate":
                lines.insert(j, lines[i])
            else:
                del lines[i]
            text = "\n".join(lines)
    return text


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    """An example policy as UTF-8 bytes with random bytes inserted, replaced or cut."""
    data = EXAMPLES[draw(st.sampled_from(EXAMPLE_NAMES))].encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.booleans()):
        data = data.replace(b"\n", b"\r\n")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "replace", "truncate"]))
        noise = draw(
            st.one_of(
                st.binary(min_size=1, max_size=16),
                st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\xe4\xb8", b"\x80", b"\x96"]),
                SNIPPET.map(lambda text: text.encode("utf-8")),
            )
        )
        if kind == "insert":
            data = data[:at] + noise + data[at:]
        elif kind == "replace":
            data = data[:at] + noise + data[at + len(noise) :]
        else:
            data = data[:at]
    return data


# ------------------------------------------------------------------ properties


def test_the_examples_are_there_and_clean() -> None:
    """The properties mutate these; if they were broken, the mutations would prove little."""
    assert len(EXAMPLES) >= 3, EXAMPLE_NAMES
    for name, text in EXAMPLES.items():
        module, diagnostics = parse(text, name)
        assert module is not None, diagnostics
        assert not has_errors(diagnostics), diagnostics


@PROPERTY_SETTINGS
@given(text=mutated_text())
def test_mutated_policies_get_diagnostics_not_exceptions(text: str) -> None:
    run_pipeline(text)


@PROPERTY_SETTINGS
@given(text=st.text(alphabet=CHAR, max_size=300))
def test_random_text_gets_diagnostics_not_exceptions(text: str) -> None:
    run_pipeline(text)


@PROPERTY_SETTINGS
@given(parts=st.lists(st.sampled_from([*TOKENS, " ", "\n", "\n\n"]), min_size=1, max_size=60))
def test_random_token_soup_gets_diagnostics_not_exceptions(parts: list[str]) -> None:
    run_pipeline(" ".join(parts))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bytes") / "mutant.kpi"


@settings(PROPERTY_SETTINGS, max_examples=150)
@given(data=mutated_bytes())
def test_mutated_bytes_are_read_or_refused_with_a_diagnostic(scratch: Path, data: bytes) -> None:
    scratch.write_bytes(data)
    with time_limit():
        text, problem = read_text(scratch, PATH)
    if text is None:
        assert problem is not None and problem.code == "E004", problem
        assert problem.span.file == PATH and problem.message, problem
        # Lines and columns count as the parser counts them: characters, and CRLF, LF or
        # a lone CR as a line end.
        lines = normalize(data.decode("utf-8", errors="replace")).split("\n")
        assert 1 <= problem.span.line <= len(lines), problem
        assert 1 <= problem.span.column <= len(lines[problem.span.line - 1]) + 1, problem
        return
    assert problem is None
    run_pipeline(text)


@settings(PROPERTY_SETTINGS, max_examples=40)
@given(data=mutated_bytes())
def test_mutated_files_through_the_command_line(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    """The real commands, render_text included: exit 0 or 1, never a traceback."""
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "mutant.kpi"
    path.write_bytes(data)
    with time_limit(2 * CALL_SECONDS):
        checked = invoke("check", str(path))
    assert checked.exit_code in (0, 1), checked.output
    if checked.exit_code == 1:
        assert diagnostics_in(checked.output), checked.output
    with time_limit(2 * CALL_SECONDS):
        formatted = invoke("fmt", "--check", str(path))
    assert formatted.exit_code in (0, 1), formatted.output
    if formatted.exit_code == 1:
        assert diagnostics_in(formatted.output) or "would reformat" in formatted.output


# ------------------------------------------------------------------ explicit cases: text


def test_truncated_policy(in_tmp: Path) -> None:
    text = EXAMPLES["policies/sales/catalogue.kpi"]
    cut = text.index("{", text.index("indicator new_customers")) + 1  # just inside the block
    (in_tmp / "cut.kpi").write_text(text[:cut], encoding="utf-8")
    checked = invoke("check", "cut.kpi")
    assert_answers(checked, "E001")
    assert "unexpected end of file" in checked.output
    assert_answers(invoke("fmt", "cut.kpi"), "E001")


@pytest.mark.parametrize("fraction", [0.1, 0.33, 0.5, 0.77, 0.99])
def test_truncated_at_many_points(in_tmp: Path, fraction: float) -> None:
    text = EXAMPLES["policies/engineering/policy.kpi"]
    (in_tmp / "cut.kpi").write_text(text[: int(len(text) * fraction)], encoding="utf-8")
    checked = invoke("check", "cut.kpi")
    assert checked.exit_code == 1, checked.output
    assert diagnostics_in(checked.output), checked.output
    assert invoke("fmt", "cut.kpi").exit_code == 1


def test_binary_data(in_tmp: Path) -> None:
    data = bytes(range(256)) * 4 + b"\x00\xff\xfe\xc3\x28" + os.urandom(4096)
    (in_tmp / "blob.kpi").write_bytes(data)
    checked = invoke("check", "blob.kpi")
    assert_answers(checked, "E004")
    # The first invalid byte is 0x80; before it, bytes are ASCII, one character each.
    # Line ends count as the parser counts them: CRLF, LF or a lone CR (0x0d is in there).
    prefix = data[:0x80].decode("ascii").replace("\r\n", "\n").replace("\r", "\n")
    line = prefix.count("\n") + 1
    column = len(prefix) - prefix.rfind("\n")
    assert ("blob.kpi", line, column, "E004") in diagnostics_in(checked.output)
    assert_answers(invoke("fmt", "blob.kpi"), "E004")
    assert (in_tmp / "blob.kpi").read_bytes() == data  # fmt left it alone


def test_diagnostics_do_not_echo_control_characters(in_tmp: Path) -> None:
    """Quoting a binary line must not send NUL or escape sequences to the terminal."""
    (in_tmp / "nul.kpi").write_bytes(HEADER.encode() + b"\x00\x1b[2J\x07\n")
    (in_tmp / "esc.kpi").write_bytes(HEADER.encode() + b"indicator \x1b[31mred {\n}\n")
    for name, code in (("nul.kpi", "E004"), ("esc.kpi", "E002")):
        for command in ("check", "fmt"):
            result = invoke(command, name, terminal=True)
            assert_answers(result, code)
            controls = sorted({c for c in result.output if ord(c) < 32 and c not in "\n"})
            assert not controls, f"{command} {name} printed {controls!r}"


def test_empty_file_is_an_empty_valid_policy_unit_and_fmt_leaves_it(in_tmp: Path) -> None:
    """An empty file declares nothing, which is not a mistake: `check` is clean (exit 0)."""
    (in_tmp / "empty.kpi").write_text("", encoding="utf-8")
    checked = invoke("check", "empty.kpi")
    assert checked.exit_code == 0, checked.output
    assert "no problems" in checked.output
    formatted = invoke("fmt", "empty.kpi")
    assert formatted.exit_code == 0, formatted.output
    assert (in_tmp / "empty.kpi").read_bytes() == b""
    assert invoke("fmt", "--check", "empty.kpi").exit_code == 0


def test_whitespace_and_comment_only_files_are_empty_units(in_tmp: Path) -> None:
    (in_tmp / "blank.kpi").write_text("\n\n   \t\n# nothing here yet\n", encoding="utf-8")
    assert invoke("check", "blank.kpi").exit_code == 0
    assert invoke("fmt", "blank.kpi").exit_code == 0
    assert "# nothing here yet" in (in_tmp / "blank.kpi").read_text(encoding="utf-8")


def _copy_examples(to: Path, transform) -> Path:
    """The example policies (and their fixtures) under `to`, each `.kpi` file's bytes
    passed through `transform`."""
    target = to / "policies"
    shutil.copytree(ROOT / "policies", target)
    for path in target.rglob("*.kpi"):
        path.write_bytes(transform(path.read_bytes()))
    (to / ".kpirules.toml").write_text("", encoding="utf-8")  # the project root for imports
    return target


def test_byte_order_mark_checks_clean_and_fmt_drops_it(in_tmp: Path) -> None:
    target = _copy_examples(in_tmp, lambda data: b"\xef\xbb\xbf" + data)
    checked = invoke("check", "policies")
    assert checked.exit_code == 0, checked.output
    assert invoke("fmt", "policies").exit_code == 0
    for path in target.rglob("*.kpi"):
        assert not path.read_bytes().startswith(b"\xef\xbb\xbf"), path
    assert invoke("check", "policies").exit_code == 0
    assert invoke("fmt", "--check", "policies").exit_code == 0


@pytest.mark.parametrize("newline", [b"\r\n", b"\r"], ids=["crlf", "cr"])
def test_windows_and_old_mac_line_ends_check_clean(in_tmp: Path, newline: bytes) -> None:
    target = _copy_examples(in_tmp, lambda data: data.replace(b"\n", newline))
    checked = invoke("check", "policies")
    assert checked.exit_code == 0, checked.output
    assert invoke("fmt", "policies").exit_code == 0
    for path in target.rglob("*.kpi"):
        assert b"\r" not in path.read_bytes(), path
    assert invoke("check", "policies").exit_code == 0


def test_line_numbers_count_crlf_as_one_line_end(in_tmp: Path) -> None:
    text = HEADER + "\n\nindicator 1bad {\n}\n"
    (in_tmp / "crlf.kpi").write_bytes(text.replace("\n", "\r\n").encode())
    checked = invoke("check", "crlf.kpi")
    assert checked.exit_code == 1
    assert diagnostics_in(checked.output)[0][:3] == ("crlf.kpi", 7, 11)


def test_ten_thousand_levels_of_parentheses(in_tmp: Path) -> None:
    depth = 10_000
    (in_tmp / "deep.kpi").write_text(indicator("(" * depth + "1" + ")" * depth))
    with time_limit(5):
        checked = invoke("check", "deep.kpi")
    assert_answers(checked, "E005")
    with time_limit(5):
        assert_answers(invoke("fmt", "deep.kpi"), "E005")


@pytest.mark.parametrize("opening", ["{", "[", "(", "{(["])
def test_ten_thousand_open_brackets(in_tmp: Path, opening: str) -> None:
    (in_tmp / "open.kpi").write_text(opening * 10_000, encoding="utf-8")
    with time_limit(5):
        assert_answers(invoke("check", "open.kpi"), "E005")
        assert_answers(invoke("fmt", "open.kpi"), "E005")


def test_brackets_just_below_the_nesting_limit(in_tmp: Path) -> None:
    (in_tmp / "nest.kpi").write_text(indicator("(" * 60 + "1" + ")" * 60), encoding="utf-8")
    checked = invoke("check", "nest.kpi")
    assert checked.exit_code == 1  # the formula reads no data
    assert "E005" not in codes_in(checked.output), checked.output
    (in_tmp / "blocks.kpi").write_text("{" * 60, encoding="utf-8")
    checked = invoke("check", "blocks.kpi")
    assert checked.exit_code == 1 and diagnostics_in(checked.output), checked.output


def test_ten_thousand_term_sum(in_tmp: Path) -> None:
    terms = "sum(orders.amount) + " + " + ".join(["1 CNY"] * 10_000)
    (in_tmp / "sum.kpi").write_text(indicator(terms), encoding="utf-8")
    for command in ("check", "fmt"):
        with time_limit(10):
            result = invoke(command, "sum.kpi")
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 1:
            assert diagnostics_in(result.output), result.output


LONG_CHAINS = {
    "product": "sum(orders.amount)" + " * 1" * 2_000,
    "difference": "sum(orders.amount)" + " - 1 CNY" * 2_000,
    "negation": "- " * 2_000 + "sum(orders.amount)",
    "not": "if " + "not " * 2_000 + "true then sum(orders.amount) else 0 CNY",
    "or": "if " + " or ".join(["true"] * 2_000) + " then sum(orders.amount) else 0 CNY",
    "and": "if " + " and ".join(["true"] * 2_000) + " then sum(orders.amount) else 0 CNY",
    "else_if": "if true then sum(orders.amount) else " * 2_000 + "0 CNY",
    "list": "if 1 in [" + ", ".join(["1"] * 5_000) + "] then sum(orders.amount) else 0 CNY",
    "arguments": "max(sum(orders.amount)" + ", 1 CNY" * 2_000 + ")",
}


@pytest.mark.parametrize("shape", sorted(LONG_CHAINS))
def test_long_chains_without_brackets(in_tmp: Path, shape: str) -> None:
    """Deep trees need no brackets: `a + a + …` nests one level per operator."""
    (in_tmp / "chain.kpi").write_text(indicator(LONG_CHAINS[shape]), encoding="utf-8")
    for command in ("check", "fmt"):
        with time_limit(10):
            result = invoke(command, "chain.kpi")
        assert result.exit_code in (0, 1), result.output
        if result.exit_code == 1:
            assert diagnostics_in(result.output), result.output


def test_very_long_single_line(in_tmp: Path) -> None:
    (in_tmp / "long.kpi").write_text("x" * 1_048_576 + "\n", encoding="utf-8")
    with time_limit(5):
        checked = invoke("check", "long.kpi")
    assert_answers(checked, "E001")
    assert len(checked.output) < 10_000  # the quoted line is cut around the caret
    with time_limit(5):
        assert_answers(invoke("fmt", "long.kpi"), "E001")


def test_very_long_string_and_comment(in_tmp: Path) -> None:
    text = HEADER.replace('"Robustness"', '"' + "é" * 500_000 + '"') + "# " + "x" * 500_000
    (in_tmp / "long.kpi").write_text(text, encoding="utf-8")
    with time_limit(5):
        assert invoke("check", "long.kpi").exit_code == 0
        assert invoke("fmt", "--check", "long.kpi").exit_code in (0, 1)


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('policy "Sales {\n  cadence monthly\n}\n', 1, 8),
        ('"', 1, 1),
        ('policy "P" {\n  description "no end\n}\n', 2, 15),
        (HEADER + 'indicator x "label\n', 5, 13),
    ],
    ids=["policy-name", "lone-quote", "description", "label-at-eof"],
)
def test_unterminated_strings(in_tmp: Path, text: str, line: int, column: int) -> None:
    (in_tmp / "open.kpi").write_text(text, encoding="utf-8")
    checked = invoke("check", "open.kpi")
    assert_answers(checked, "E003")
    assert ("open.kpi", line, column, "E003") in diagnostics_in(checked.output)
    assert_answers(invoke("fmt", "open.kpi"), "E003")


def test_nul_byte_in_an_otherwise_valid_file(in_tmp: Path) -> None:
    text = EXAMPLES["policies/sales/scorecards.kpi"]
    at = text.index("cap 150")
    (in_tmp / "nul.kpi").write_bytes((text[:at] + "\x00" + text[at:]).encode())
    line = text.count("\n", 0, at) + 1
    column = at - text.rfind("\n", 0, at)
    checked = invoke("check", "nul.kpi")
    assert_answers(checked, "E004")
    assert ("nul.kpi", line, column, "E004") in diagnostics_in(checked.output)
    assert_answers(invoke("fmt", "nul.kpi"), "E004")


def test_windows_1252_is_not_utf8(in_tmp: Path) -> None:
    text = 'policy "Caf\u00e9 \u201cPlus\u201d" {\n  cadence monthly\n}\n'
    (in_tmp / "ansi.kpi").write_bytes(text.encode("cp1252"))
    checked = invoke("check", "ansi.kpi")
    assert_answers(checked, "E004")
    assert ("ansi.kpi", 1, 12, "E004") in diagnostics_in(checked.output)  # 0xE9, the é
    assert "0xE9" in checked.output
    assert_answers(invoke("fmt", "ansi.kpi"), "E004")


def test_utf16_is_not_utf8(in_tmp: Path) -> None:
    (in_tmp / "wide.kpi").write_bytes(HEADER.encode("utf-16"))
    assert_answers(invoke("check", "wide.kpi"), "E004")
    assert_answers(invoke("fmt", "wide.kpi"), "E004")


def test_truncated_multibyte_character(in_tmp: Path) -> None:
    data = HEADER.encode() + "# 中文".encode()[:-1]
    (in_tmp / "cut.kpi").write_bytes(data)
    checked = invoke("check", "cut.kpi")
    assert_answers(checked, "E004")
    # Columns count characters everywhere, as the caret under the quoted line does:
    # "# 中" is three characters, so the broken one is the fourth (not byte 6).
    assert ("cut.kpi", 5, 4, "E004") in diagnostics_in(checked.output)


def test_many_broken_declarations_answer_fast(in_tmp: Path) -> None:
    """Error recovery re-parses each declaration; the cost must stay linear in the file."""
    # 4,000 broken goals, 100 lines apart: re-parsing each one with all the lines before it
    # as padding costs 4,000 x 200,000 newlines; parsing each on its own costs milliseconds.
    (in_tmp / "broken.kpi").write_text(("goal 1\n" + "\n" * 100) * 4_000, encoding="utf-8")
    with time_limit(3, hang=30):
        checked = invoke("check", "broken.kpi")
    assert_answers(checked, "E001")


# ------------------------------------------------------------------ explicit cases: files


def test_fifty_megabyte_file_is_refused_fast(in_tmp: Path) -> None:
    """Through a real process: E006, exit 1, well within 5 s, and a short answer."""
    chunk = EXAMPLES["policies/sales/catalogue.kpi"].encode()
    size = 50 * 1024 * 1024
    with (in_tmp / "huge.kpi").open("wb") as out:
        written = 0
        while written < size:
            out.write(chunk)
            written += len(chunk)
    assert written > MAX_FILE_BYTES
    for command in ("check", "fmt"):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "kpirules", command, "huge.kpi"],
            cwd=in_tmp,
            capture_output=True,
            text=True,
            timeout=60,
        )
        elapsed = time.perf_counter() - start
        output = done.stdout + done.stderr
        assert elapsed < 5, f"{command} took {elapsed:.1f} s"
        assert done.returncode == 1, output
        assert "Traceback" not in output
        assert ("huge.kpi", 1, 1, "E006") in diagnostics_in(output), output
        assert len(output) < 10_000


def test_the_installed_command_exits_with_its_codes(in_tmp: Path) -> None:
    """The process exit codes, not just click's: 1 for findings, 2 for usage, 0 for clean."""
    command = Path(sys.executable).parent / "kpirules"
    program = [str(command)] if command.exists() else [sys.executable, "-m", "kpirules"]
    (in_tmp / "cut.kpi").write_text('policy "P" {\n  cadence', encoding="utf-8")
    (in_tmp / "blob.kpi").write_bytes(b"\x00\xff" * 100)
    (in_tmp / "ok.kpi").write_text(HEADER, encoding="utf-8")
    cases = [
        (["check", "cut.kpi"], 1),
        (["fmt", "blob.kpi"], 1),
        (["check", "missing.kpi"], 2),
        (["check", "ok.kpi"], 0),
    ]
    for args, expected in cases:
        done = subprocess.run(
            program + args, cwd=in_tmp, capture_output=True, text=True, timeout=60
        )
        output = done.stdout + done.stderr
        assert done.returncode == expected, (args, output)
        assert "Traceback" not in output, output
        if expected == 1:
            assert diagnostics_in(done.stdout), output


@pytest.mark.parametrize("command", ["check", "fmt"])
def test_nonexistent_path_is_a_usage_error(in_tmp: Path, command: str) -> None:
    result = invoke(command, "nowhere.kpi")
    assert result.exit_code == 2, result.output
    assert "nowhere.kpi" in result.output


@pytest.mark.parametrize("command", ["check", "fmt"])
def test_folder_without_policies_is_a_usage_error(in_tmp: Path, command: str) -> None:
    (in_tmp / "empty").mkdir()
    (in_tmp / "dir.kpi").mkdir()  # a folder named like a file
    for name in ("empty", "dir.kpi"):
        result = invoke(command, name)
        assert result.exit_code == 2, result.output
        assert name in result.output


@pytest.mark.parametrize("command", ["check", "fmt"])
def test_folder_named_like_a_policy_file_inside_a_unit(in_tmp: Path, command: str) -> None:
    (in_tmp / "unit").mkdir()
    (in_tmp / "unit" / "ok.kpi").write_text(HEADER, encoding="utf-8")
    (in_tmp / "unit" / "sub.kpi").mkdir()
    result = invoke(command, "unit")
    assert result.exit_code == 0, result.output  # a folder is not a policy file: skip it


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _symlink_loop(path: Path) -> None:
    path.symlink_to(path.name)


def _dangling_symlink(path: Path) -> None:
    path.symlink_to("nowhere.kpi")


@pytest.mark.parametrize(
    "make", [_fifo, _symlink_loop, _dangling_symlink], ids=["fifo", "loop", "dangling"]
)
@pytest.mark.parametrize("command", ["check", "fmt"])
def test_special_files_named_like_policy_files_inside_a_unit(
    in_tmp: Path, command: str, make
) -> None:
    """A named pipe must not block the command; a symlink loop must not crash it."""
    (in_tmp / "unit").mkdir()
    (in_tmp / "unit" / "ok.kpi").write_text(HEADER, encoding="utf-8")
    make(in_tmp / "unit" / "odd.kpi")
    with time_limit(5, hang=5):
        result = invoke(command, "unit")
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert diagnostics_in(result.output), result.output


def test_unreadable_file(in_tmp: Path) -> None:
    path = in_tmp / "secret.kpi"
    path.write_text(HEADER, encoding="utf-8")
    path.chmod(0)
    try:
        readable = os.access(path, os.R_OK)  # root reads it anyway
        for command in ("check", "fmt"):
            result = invoke(command, "secret.kpi")
            if readable:
                assert result.exit_code in (0, 1), result.output
            else:
                assert_answers(result, "E007")
    finally:
        path.chmod(0o644)


def test_read_error_is_a_diagnostic(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whoever runs the tests (root reads a chmod 000 file), a failing read is E007."""
    (in_tmp / "secret.kpi").write_text(HEADER, encoding="utf-8")

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    for command in ("check", "fmt"):
        result = invoke(command, "secret.kpi")
        assert_answers(result, "E007")
        assert "Permission denied" in result.output


def test_import_of_binary_and_missing_files(in_tmp: Path) -> None:
    (in_tmp / ".kpirules.toml").write_text("", encoding="utf-8")
    (in_tmp / "blob.kpi").write_bytes(b"\xff\xfe\x00" * 10)
    (in_tmp / "main").mkdir()
    (in_tmp / "main" / "policy.kpi").write_text(
        'import "../blob.kpi"\nimport "../nowhere.kpi"\nimport "/etc/passwd.kpi"\n' + HEADER,
        encoding="utf-8",
    )
    checked = invoke("check", "main")
    assert checked.exit_code == 1, checked.output
    assert {"E004", "E101", "E102"} <= codes_in(checked.output), checked.output


def test_import_cycle(in_tmp: Path) -> None:
    (in_tmp / ".kpirules.toml").write_text("", encoding="utf-8")
    (in_tmp / "a.kpi").write_text('import "b.kpi"\n' + HEADER, encoding="utf-8")
    (in_tmp / "b.kpi").write_text('import "a.kpi"\n', encoding="utf-8")
    checked = invoke("check", "a.kpi")
    assert_answers(checked, "E103")


# ------------------------------------------------------------------ the benchmark's generator


def _load_bench():
    path = ROOT / "bench" / "bench_parse.py"
    spec = importlib.util.spec_from_file_location("bench_parse", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_policy_generator_checks_clean(in_tmp: Path) -> None:
    bench = _load_bench()
    text = bench.generate_policy(500)
    assert 500 <= text.count("\n") < 1_000
    (in_tmp / "bench.kpi").write_text(text, encoding="utf-8")
    checked = invoke("check", "bench.kpi")
    assert checked.exit_code == 0, checked.output
    assert "no problems" in checked.output
    module, diagnostics = parse(text, "bench.kpi")
    assert module is not None, diagnostics
    policy, found = check([module], str(in_tmp))
    assert policy is not None and not found, found[:5]
    assert len(policy.indicators) >= 30 and len(policy.scorecards) >= 3


def test_benchmark_script_runs(in_tmp: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_parse.py"), "300"],
        cwd=in_tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^parse \+ check: \d+\.\d+ s", done.stdout, re.MULTILINE), done.stdout
