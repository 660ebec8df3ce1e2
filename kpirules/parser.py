"""Text → syntax tree, with syntax diagnostics. The grammar lives in grammar/kpi.lark."""

from __future__ import annotations

import dataclasses
import itertools
import re
import threading
from functools import cache
from typing import ClassVar

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from kpirules import ast
from kpirules.diagnostics import NO_SPAN, Diagnostic, Span, error
from kpirules.resources import resource

MAX_NESTING = 64  # brackets deeper than this are refused before parsing
MAX_SYNTAX_ERRORS = 100  # per file; past this the rest is noise
MAX_EXPRESSION_DEPTH = 200  # the checker and evaluator walk expressions recursively

TOP_LEVEL_KEYWORDS = (
    "import policy source roster objective goal indicator benchmark scorecard rating "
    "incentive improvement feedback test"
).split()
_DECL_START = re.compile(r"^(?:{})\b".format("|".join(TOP_LEVEL_KEYWORDS)), re.MULTILINE)


def normalize(text: str) -> str:
    """Drop a byte-order mark and turn CRLF / CR line ends into LF."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(text: str, path: str = "<string>") -> tuple[ast.Module | None, list[Diagnostic]]:
    """Parse one file. Returns the module, or None with at least one error."""
    text = normalize(text)
    too_deep = _check_nesting(text, path)
    if too_deep:
        return None, [too_deep]
    module, diagnostic = _parse_whole(text, path)
    if diagnostic is None:
        problems = _tree_diagnostics(module)
        return (None if problems else module), problems
    # Report every broken declaration, not just the first: re-parse each top-level
    # declaration on its own and keep the errors of those that fail.
    diagnostics = []
    starts = [m.start() for m in _DECL_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    starts.append(len(text))
    line = 1
    for begin, end in itertools.pairwise(starts):
        chunk = text[begin:end]
        if chunk.strip():
            _, chunk_error = _parse_whole(chunk, path)
            if chunk_error is not None:
                diagnostics.append(_shifted(chunk_error, line - 1))
                if len(diagnostics) == MAX_SYNTAX_ERRORS:
                    break
        line += chunk.count("\n")
    if not diagnostics:  # the split hid the problem (e.g. an unclosed brace)
        diagnostics.append(diagnostic)
    return None, diagnostics


def _shifted(diagnostic: Diagnostic, lines: int) -> Diagnostic:
    """A chunk's diagnostic placed in the whole file (chunks start at a line start)."""
    span = diagnostic.span
    moved = Span(span.file, span.line + lines, span.column, span.end_line + lines, span.end_column)
    return dataclasses.replace(diagnostic, span=moved)


# ------------------------------------------------------------------ internals

_lock = threading.Lock()


class _State:
    """Per-parse state for the shared parser (guarded by `_lock`)."""

    path = "<string>"
    comments: ClassVar[list[Token]] = []


@cache
def _parser() -> Lark:
    return Lark(
        resource("grammar", "kpi.lark").read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"COMMENT": _State.comments.append},
    )


def grammar_text() -> str:
    return resource("grammar", "kpi.lark").read_text(encoding="utf-8")


def _parse_whole(text: str, path: str) -> tuple[ast.Module | None, Diagnostic | None]:
    with _lock:
        _State.path = path
        _State.comments.clear()
        try:
            items = _to_ast(_parser().parse(text))
        except UnexpectedInput as exc:
            return None, _syntax_error(exc, text, path)
        except RecursionError:
            return None, error("E005", "the file nests too deeply to parse", Span(path, 1, 1, 1, 2))
        comments = tuple(
            ast.Comment(str(tok), span=_token_span(tok, path)) for tok in _State.comments
        )
    return ast.Module(path, items, comments, span=Span(path, 1, 1, 1, 1)), None


def _check_nesting(text: str, path: str) -> Diagnostic | None:
    depth = 0
    line, column = 1, 0
    in_string = in_comment = escaped = False
    for ch in text:
        column += 1
        if ch == "\n":
            line, column = line + 1, 0
            in_comment = in_string = False  # strings cannot span lines
            continue
        if in_comment:
            continue
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == "#":
            in_comment = True
        elif ch == '"':
            in_string = True
        elif ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                return error(
                    "E005",
                    f"brackets nest more than {MAX_NESTING} levels deep",
                    Span(path, line, column, line, column + 1),
                    hint="split the expression into named indicators",
                )
        elif ch in ")]}":
            depth = max(0, depth - 1)
    return None


def _syntax_error(exc: UnexpectedInput, text: str, path: str) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        line, column = exc.line, exc.column
        char = exc.char
        span = Span(path, line, column, line, column + 1)
        if char == '"':
            return error(
                "E003",
                "this string is not closed on its line",
                span,
                hint='close it with " before the end of the line',
            )
        shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
        return error(
            "E002", f"unexpected character {shown}", span, hint=_expected_hint(exc.allowed)
        )
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        tok = exc.token
        span = _token_span(tok, path)
        return error(
            "E001", f"unexpected {_describe_token(tok)}", span, hint=_expected_hint(exc.expected)
        )
    # End of file: point just after the last character.
    lines = text.split("\n")
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    line = len(lines)
    column = len(lines[-1]) + 1
    expected = getattr(exc, "expected", None)
    return error(
        "E001",
        "unexpected end of file",
        Span(path, line, column, line, column + 1),
        hint=_expected_hint(expected) if expected else "a block is not closed with '}'",
    )


_TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "PERCENT": "a percentage",
    "DATE": "a date",
    "PERIOD": "a period",
    "UNIT": "a unit",
    "COMPARE": "a comparison",
    "ADD": "'+' or '-'",
    "MUL": "'*' or '/'",
    "$END": "end of file",
}


def _describe_terminal(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    try:
        pattern = _parser().get_terminal(name).pattern
    except KeyError:
        return name.lower()
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return name.lower()


def _describe_token(tok: Token) -> str:
    kind = _describe_terminal(tok.type)
    value = str(tok)
    if kind.startswith("'"):
        return kind
    if len(value) > 30:
        value = value[:27] + "..."
    if kind.startswith("a "):
        return f"{kind[2:]} {value!r}"
    return repr(value)


def _expected_hint(expected) -> str | None:
    if not expected:
        return None
    names = sorted({_describe_terminal(n) for n in expected if not n.startswith("__")})
    if not names:
        return None
    if len(names) > 8:
        return "expected one of " + ", ".join(names[:8]) + ", …"
    return "expected " + (names[0] if len(names) == 1 else "one of " + ", ".join(names))


def _token_span(tok: Token, path: str) -> Span:
    if tok.line is None:
        return NO_SPAN
    return Span(
        path, tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1
    )


def _span(meta) -> Span:
    if getattr(meta, "empty", True):
        return NO_SPAN
    return Span(_State.path, meta.line, meta.column, meta.end_line, meta.end_column)


def _ident(tok: Token) -> ast.Ident:
    return ast.Ident(str(tok), span=_token_span(tok, _State.path))


def _string(tok: Token) -> ast.String:
    return ast.String(str(tok), span=_token_span(tok, _State.path))


def _opt_string(tok: Token | None) -> ast.String | None:
    return None if tok is None else _string(tok)


def _present(items) -> tuple:
    return tuple(item for item in items if item is not None)


def _tree_diagnostics(module: ast.Module) -> list[Diagnostic]:
    """Unknown escapes in strings (kept as written, but said), and expressions too deep
    for the recursive stages after parsing (a sum of thousands of terms nests that deep)."""
    found = []
    stack: list = [(module, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXPRESSION_DEPTH:
            found.append(
                error(
                    "E005",
                    f"an expression nests more than {MAX_EXPRESSION_DEPTH} operations deep",
                    node.span,
                    hint="split it into several indicators",
                )
            )
            break
        if isinstance(node, ast.String):
            for offset in ast.bad_escapes(node.raw):
                span = node.span
                col = span.column + offset
                found.append(
                    error(
                        "E008",
                        f"unknown escape '\\{node.raw[offset + 1]}' in a string",
                        Span(span.file, span.line, col, span.line, col + 2),
                        hint='known escapes: \\" \\\\ \\n \\t \\r \\uXXXX',
                    )
                )
        stack.extend((child, depth + 1) for child in ast.child_nodes(node))
    return found


def _to_ast(tree: Tree):
    """Parse tree → AST, bottom-up with an explicit stack (trees can be deep). Each tree
    node goes to the `_ToAst` method named after its rule, with its meta and children."""
    builder = _BUILDER
    pending: list[tuple[object, bool]] = [(tree, False)]
    built: list = []
    while pending:
        node, children_done = pending.pop()
        if not isinstance(node, Tree):
            built.append(node)  # a token, or None for an absent [optional]
        elif children_done:
            count = len(node.children)
            args = built[len(built) - count :] if count else []
            del built[len(built) - count :]
            built.append(getattr(builder, node.data)(node.meta, *args))
        else:
            pending.append((node, True))
            pending.extend((child, False) for child in reversed(node.children))
    return built[0]


class _ToAst:
    """One method per grammar rule (or alias): (meta, *children) → AST node."""

    # ---- top level
    def start(self, meta, *items):
        return tuple(items)

    def import_decl(self, meta, path):
        return ast.Import(_string(path), span=_span(meta))

    def policy_decl(self, meta, name, *body):
        return ast.PolicyDecl(_string(name), tuple(body), span=_span(meta))

    def version_stmt(self, meta, value):
        return ast.Version(_string(value), span=_span(meta))

    def cadence_stmt(self, meta, name):
        return ast.Cadence(_ident(name), span=_span(meta))

    def effective_stmt(self, meta, start, end):
        return ast.Effective(self._date(start), self._date(end), span=_span(meta))

    def currency_stmt(self, meta, code):
        return ast.Currency(_ident(code), span=_span(meta))

    def locale_stmt(self, meta, value):
        return ast.Locale(_string(value), span=_span(meta))

    def fiscal_stmt(self, meta, month):
        return ast.FiscalYearStart(
            ast.Number(str(month), span=_token_span(month, _State.path)), span=_span(meta)
        )

    def rounding_stmt(self, meta, mode, step):
        return ast.Rounding(_ident(mode), step, span=_span(meta))

    def description_stmt(self, meta, text):
        return ast.Description(_string(text), span=_span(meta))

    def data_quality_block(self, meta, *settings):
        return ast.DataQuality(tuple(settings), span=_span(meta))

    def dq_setting(self, meta, key, value):
        if isinstance(value, Token):
            value = _ident(value)
        return ast.Setting(_ident(key), value, span=_span(meta))

    # ---- data
    def source_decl(self, meta, name, label, *body):
        return ast.SourceDecl(_ident(name), _opt_string(label), tuple(body), span=_span(meta))

    def roster_decl(self, meta, name, label, *body):
        return ast.SourceDecl(_ident(name), _opt_string(label), tuple(body), True, span=_span(meta))

    def field_stmt(self, meta, role, column):
        return ast.FieldRole(role, _ident(column), span=_span(meta))

    def field_role(self, meta, tok):
        return str(tok)

    def columns_block(self, meta, *columns):
        return ast.Columns(tuple(columns), span=_span(meta))

    def column_decl(self, meta, name, type_, required, allowed):
        return ast.Column(
            _ident(name), _ident(type_), required is not None, allowed, span=_span(meta)
        )

    def required_option(self, meta):
        return "required"

    def allowed_option(self, meta, values):
        return values

    # ---- cascade
    def objective_decl(self, meta, name, label, *body):
        return ast.ObjectiveDecl(_ident(name), _opt_string(label), _present(body), span=_span(meta))

    def goal_decl(self, meta, name, label, *body):
        return ast.GoalDecl(_ident(name), _opt_string(label), _present(body), span=_span(meta))

    def supports_stmt(self, meta, *names):
        return ast.Supports(tuple(_ident(n) for n in names), span=_span(meta))

    def horizon_stmt(self, meta, name):
        return ast.Horizon(_ident(name), span=_span(meta))

    def owner_stmt(self, meta, level, value):
        return ast.Owner(_ident(level), _opt_string(value), span=_span(meta))

    def target_stmt(self, meta, condition, deadline):
        return ast.Target(condition, deadline, span=_span(meta))

    def deadline(self, meta, tok):
        if tok.type == "DATE":
            return self._date(tok)
        return ast.PeriodLit(str(tok), span=_token_span(tok, _State.path))

    def indicator_decl(self, meta, name, label, *body):
        return ast.IndicatorDecl(_ident(name), _opt_string(label), tuple(body), span=_span(meta))

    def unit_stmt(self, meta, name):
        return ast.UnitStmt(_ident(name), span=_span(meta))

    def better_stmt(self, meta, name):
        return ast.Better(_ident(name), span=_span(meta))

    def period_stmt(self, meta, name):
        return ast.PeriodStmt(_ident(name), span=_span(meta))

    def formula_stmt(self, meta, expr):
        return ast.Formula(expr, span=_span(meta))

    def benchmark_decl(self, meta, name, label, expr):
        return ast.BenchmarkDecl(_ident(name), _opt_string(label), expr, span=_span(meta))

    # ---- scorecards
    def scorecard_decl(self, meta, name, label, *body):
        return ast.ScorecardDecl(_ident(name), _opt_string(label), tuple(body), span=_span(meta))

    def applies_stmt(self, meta, roster, where):
        return ast.AppliesTo(_ident(roster), where, span=_span(meta))

    def entry_stmt(self, meta, indicator, weight, *items):
        return ast.Entry(_ident(indicator), weight, _present(items), span=_span(meta))

    def point_stmt(self, meta, kind, value, score):
        return ast.Point(kind, value, score, span=_span(meta))

    def point_kind(self, meta, tok):
        return str(tok)

    def otherwise_score(self, meta, score):
        return ast.OtherwiseScore(score, span=_span(meta))

    def bands_block(self, meta, policy, *bands):
        return ast.Bands(_ident(policy), tuple(bands), span=_span(meta))

    def band(self, meta, band_range, output):
        return ast.Band(band_range, output, span=_span(meta))

    def below_range(self, meta, value):
        return ast.BandRange("below", None, value, span=_span(meta))

    def at_most_range(self, meta, value):
        return ast.BandRange("at_most", None, value, span=_span(meta))

    def above_range(self, meta, value):
        return ast.BandRange("above", value, None, span=_span(meta))

    def at_least_range(self, meta, value):
        return ast.BandRange("at_least", value, None, span=_span(meta))

    def between_range(self, meta, low, high):
        return ast.BandRange("between", low, high, span=_span(meta))

    def otherwise_range(self, meta):
        return ast.BandRange("otherwise", span=_span(meta))

    def missing_stmt(self, meta, action, value):
        return ast.Missing(_ident(action), value, span=_span(meta))

    def use_rating_stmt(self, meta, name):
        return ast.UseRating(_ident(name), span=_span(meta))

    def gate_stmt(self, meta, condition, effect, value):
        return ast.Gate(
            condition, None if effect is None else _ident(effect), value, span=_span(meta)
        )

    def cap_stmt(self, meta, expr):
        return ast.Cap(expr, span=_span(meta))

    def floor_stmt(self, meta, expr):
        return ast.Floor(expr, span=_span(meta))

    # ---- ratings
    def rating_decl(self, meta, name, label, *body):
        return ast.RatingDecl(_ident(name), _opt_string(label), tuple(body), span=_span(meta))

    def rating_band(self, meta, label, condition=None):
        return ast.RatingBand(_string(label), condition, span=_span(meta))

    def distribution_block(self, meta, *rules):
        return ast.Distribution(tuple(rules), span=_span(meta))

    def distribution_rule(self, meta, label, bound, share):
        return ast.DistributionRule(_string(label), str(bound), share, span=_span(meta))

    # ---- incentives and actions
    def incentive_decl(self, meta, name, label, scorecards, *body):
        return ast.IncentiveDecl(
            _ident(name), _opt_string(label), scorecards, tuple(body), span=_span(meta)
        )

    def name_list(self, meta, *names):
        return tuple(_ident(n) for n in names)

    def pay_expr(self, meta, expr):
        return ast.PayExpr(expr, span=_span(meta))

    def pay_tiers(self, meta, basis, *bands):
        return ast.PayTiers(basis, tuple(bands), span=_span(meta))

    def prorate_stmt(self, meta, basis):
        return ast.Prorate(_ident(basis), span=_span(meta))

    def improvement_decl(self, meta, name, scorecards, *body):
        return ast.ImprovementDecl(
            None if name is None else _ident(name), scorecards, tuple(body), span=_span(meta)
        )

    def action_rule(self, meta, condition, persistence, kind, title, owner, within):
        return ast.ActionRule(
            condition, persistence, _ident(kind), _string(title), owner, within, span=_span(meta)
        )

    def action_owner(self, meta, tok):
        return _string(tok) if tok.type == "STRING" else _ident(tok)

    def action_within(self, meta, value):
        return value

    def feedback_decl(self, meta, scorecards, *settings):
        return ast.FeedbackDecl(scorecards or (), tuple(settings), span=_span(meta))

    def feedback_setting(self, meta, key, value):
        return ast.Setting(_ident(key), _ident(value), span=_span(meta))

    # ---- tests
    def test_decl(self, meta, name, *body):
        return ast.TestDecl(_string(name), tuple(body), span=_span(meta))

    def given_record(self, meta, source, record):
        return ast.GivenRecords(_ident(source), (record,), False, span=_span(meta))

    def given_records(self, meta, source, *records):
        return ast.GivenRecords(_ident(source), _present(records), True, span=_span(meta))

    def given_file(self, meta, source, path):
        return ast.GivenFile(_ident(source), _string(path), span=_span(meta))

    def record(self, meta, *fields):
        return ast.Record(_present(fields), span=_span(meta))

    def field(self, meta, name, value):
        return ast.FieldValue(_ident(name), value, span=_span(meta))

    def expect_stmt(self, meta, expr):
        return ast.Expect(expr, span=_span(meta))

    def test_period_stmt(self, meta, period):
        return ast.TestPeriod(
            ast.PeriodLit(str(period), span=_token_span(period, _State.path)), span=_span(meta)
        )

    # ---- expressions
    def if_expr(self, meta, condition, then, otherwise):
        return ast.If(condition, then, otherwise, span=_span(meta))

    def or_op(self, meta, left, right):
        return ast.Binary("or", left, right, span=_span(meta))

    def and_op(self, meta, left, right):
        return ast.Binary("and", left, right, span=_span(meta))

    def not_op(self, meta, operand):
        return ast.Not(operand, span=_span(meta))

    def compare(self, meta, left, op, right):
        return ast.Binary(str(op), left, right, span=_span(meta))

    def in_op(self, meta, item, collection):
        return ast.In(item, collection, span=_span(meta))

    def level_test(self, meta, subject, test, level):
        return ast.LevelTest(subject, test, level, span=_span(meta))

    def level_word(self, meta, tok):
        return str(tok)

    def level_name(self, meta, tok):
        return str(tok)

    def binary(self, meta, left, op, right):
        return ast.Binary(str(op), left, right, span=_span(meta))

    def negate(self, meta, operand):
        return ast.Negate(operand, span=_span(meta))

    def string(self, meta, tok):
        return _string(tok)

    def true(self, meta):
        return ast.Bool(True, span=_span(meta))

    def false(self, meta):
        return ast.Bool(False, span=_span(meta))

    def date(self, meta, tok):
        return self._date(tok)

    def period(self, meta, tok):
        return ast.PeriodLit(str(tok), span=_token_span(tok, _State.path))

    def name(self, meta, tok):
        return ast.Name(str(tok), span=_token_span(tok, _State.path))

    def attribute(self, meta, source, column):
        return ast.Attribute(str(source), str(column), span=_span(meta))

    def call(self, meta, func, arguments):
        args, where, window = arguments if arguments is not None else ((), None, None)
        return ast.Call(str(func), args, where, window, span=_span(meta))

    def arguments(self, meta, *items):
        *args, where, window = items
        return tuple(args), where, window

    def list(self, meta, *items):
        return ast.ListLit(_present(items), span=_span(meta))

    def number(self, meta, tok):
        return ast.Number(str(tok), span=_token_span(tok, _State.path))

    def percent(self, meta, tok):
        return ast.Percent(str(tok), span=_token_span(tok, _State.path))

    def quantity(self, meta, number, unit):
        return ast.Quantity(str(number), str(unit), span=_span(meta))

    @staticmethod
    def _date(tok: Token) -> ast.DateLit:
        return ast.DateLit(str(tok), span=_token_span(tok, _State.path))


_BUILDER = _ToAst()
