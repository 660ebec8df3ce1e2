"""`kpirules fmt`: print a parsed file in its one canonical layout, keeping every comment.

Comments are not part of the tree, so they are put back by position: a comment alone on its
line goes before the statement that follows it (or at the end of its block), a comment after
code stays at the end of the line that prints that code. `format_source` re-parses what it
prints and refuses to return text whose tree or comments differ from the input's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from kpirules import ast
from kpirules.diagnostics import Diagnostic, Span, error
from kpirules.parser import parse

INDENT = "  "

# Binding strength, loosest first, as layered in grammar/kpi.lark.
IF, OR, AND, NOT, CMP, SUM, PROD, UNARY, ATOM = range(9)
_COMPARE_OPS = {"==", "!=", "<", "<=", ">", ">="}


def format_source(text: str, path: str) -> tuple[str | None, list[Diagnostic]]:
    """Canonical text of `text`, or None with diagnostics when it does not parse."""
    module, diagnostics = parse(text, path)
    if module is None:
        return None, diagnostics
    out = format_module(module)
    again, _ = parse(out, path)
    problem = _first_difference(module, again)
    if problem is not None:
        message = "the formatter would change the meaning of this file; please report this"
        return None, [error("E009", message, problem)]
    return out, diagnostics


def format_module(module: ast.Module) -> str:
    root = _Line(module, "", [_layout(item) for item in module.items])
    _place_comments(root, module)
    lines: list[str] = []
    _emit_body(root, 0, lines, top_level=True)
    return "".join(line.rstrip() + "\n" for line in lines)


# ------------------------------------------------------------------ layout tree


@dataclass(eq=False)
class _Line:
    """A statement as printed: one line, or a head line, an indented body and a closing line."""

    node: ast.Node
    head: str
    body: list[_Line] | None = None  # None: a single line
    brackets: str = "{}"
    empty: str = " { }"  # what follows the head when the body is empty ("" drops the braces)
    leading: list[ast.Comment] = field(default_factory=list)  # own-line comments before it
    tail: ast.Comment | None = None  # after the (head) line
    close_tail: ast.Comment | None = None  # after the closing bracket
    inner: list[ast.Comment] = field(default_factory=list)  # after the last body statement


def _block(node: ast.Node, head: str, body, empty: str = " { }", brackets: str = "{}") -> _Line:
    return _Line(node, head, [_layout(stmt) for stmt in body or ()], brackets, empty)


def _layout(n: ast.Node) -> _Line:
    match n:
        case ast.Import():
            return _Line(n, f"import {n.path.raw}")
        case ast.PolicyDecl():
            return _block(n, f"policy {n.name.raw}", n.body)
        case ast.SourceDecl():
            keyword = "roster" if n.is_roster else "source"
            return _block(n, f"{keyword} {n.name}{_label(n.label)}", n.body)
        case ast.ObjectiveDecl() | ast.GoalDecl():
            keyword = "objective" if isinstance(n, ast.ObjectiveDecl) else "goal"
            return _block(n, f"{keyword} {n.name}{_label(n.label)}", n.body, empty="")
        case ast.IndicatorDecl():
            return _block(n, f"indicator {n.name}{_label(n.label)}", n.body)
        case ast.BenchmarkDecl():
            return _Line(n, f"benchmark {n.name}{_label(n.label)} = {format_expr(n.expr)}")
        case ast.ScorecardDecl():
            return _block(n, f"scorecard {n.name}{_label(n.label)}", n.body)
        case ast.RatingDecl():
            return _block(n, f"rating {n.name}{_label(n.label)}", n.body)
        case ast.IncentiveDecl():
            head = f"incentive {n.name}{_label(n.label)} for {_names(n.scorecards)}"
            return _block(n, head, n.body)
        case ast.ImprovementDecl():
            name = f" {n.name}" if n.name is not None else ""
            return _block(n, f"improvement{name} for {_names(n.scorecards)}", n.body)
        case ast.FeedbackDecl():
            head = f"feedback for {_names(n.scorecards)}" if n.scorecards else "feedback"
            return _block(n, head, n.body)
        case ast.TestDecl():
            return _block(n, f"test {n.name.raw}", n.body)
        case ast.DataQuality():
            return _block(n, "data_quality", n.settings)
        case ast.Columns():
            return _block(n, "columns", n.columns)
        case ast.Entry():
            head = f"indicator {n.indicator} weight {format_expr(n.weight)}"
            return _block(n, head, n.items, empty="")
        case ast.Bands():
            return _block(n, f"bands {n.hit_policy}", n.bands)
        case ast.Distribution():
            return _block(n, "distribution", n.rules)
        case ast.PayTiers():
            return _block(n, f"pay tiers on {format_expr(n.basis)}", n.bands)
        case ast.GivenRecords() if n.as_list:
            return _block(n, f"given {n.source}", n.records, empty=" []", brackets="[]")
        case ast.Record():  # one line of a `given x [ ... ]` list
            return _Line(n, _record(n) + ",")
    return _Line(n, _statement(n))


def _statement(n: ast.Node) -> str:
    match n:
        case ast.Description():
            return f"description {n.text.raw}"
        case ast.Version():
            return f"version {n.value.raw}"
        case ast.Cadence():
            return f"cadence {n.name}"
        case ast.Effective():
            return f"effective {n.start.text} to {n.end.text}"
        case ast.Currency():
            return f"currency {n.code}"
        case ast.Locale():
            return f"locale {n.value.raw}"
        case ast.FiscalYearStart():
            return f"fiscal_year_start {n.month.text}"
        case ast.Rounding():
            return f"rounding {n.mode} {format_expr(n.step)}"
        case ast.Setting():
            value = n.value.text if isinstance(n.value, ast.Ident) else format_expr(n.value)
            return f"{n.key} {value}"
        case ast.FieldRole():
            return f"{n.role} {n.column}"
        case ast.Column():
            required = " required" if n.required else ""
            allowed = f" in {format_expr(n.allowed)}" if n.allowed is not None else ""
            return f"{n.name}: {n.type}{required}{allowed}"
        case ast.Supports():
            return f"supports {_names(n.targets)}"
        case ast.Horizon():
            return f"horizon {n.name}"
        case ast.Owner():
            return f"owner {n.level}{_label(n.value)}"
        case ast.Target():
            deadline = f" by {n.deadline.text}" if n.deadline is not None else ""
            return f"target {format_expr(n.condition)}{deadline}"
        case ast.UnitStmt():
            return f"unit {n.name}"
        case ast.Better():
            return f"better {n.name}"
        case ast.PeriodStmt():
            return f"period {n.name}"
        case ast.Formula():
            return f"= {format_expr(n.expr)}"
        case ast.AppliesTo():
            return f"applies to {n.roster}{_optional(' where ', n.where)}"
        case ast.Point():
            return f"{n.kind} {format_expr(n.value)} => {format_expr(n.score)}"
        case ast.OtherwiseScore():
            return f"otherwise => {format_expr(n.score)}"
        case ast.Band():
            return f"{_band_range(n.range)} => {format_expr(n.output)}"
        case ast.Missing():
            return f"when missing => {n.action}{_optional(' ', n.value)}"
        case ast.Cap():
            return f"cap {format_expr(n.expr)}"
        case ast.Floor():
            return f"floor {format_expr(n.expr)}"
        case ast.UseRating():
            return f"rating {n.name}"
        case ast.Gate():
            effect = f" else {n.effect}{_optional(' ', n.value)}" if n.effect is not None else ""
            return f"gate {format_expr(n.condition)}{effect}"
        case ast.RatingBand():
            when = "otherwise" if n.condition is None else f"when {format_expr(n.condition)}"
            return f"{n.label.raw} {when}"
        case ast.DistributionRule():
            return f"{n.label.raw} at {n.bound} {format_expr(n.share)}"
        case ast.PayExpr():
            return f"pay {format_expr(n.expr)}"
        case ast.Prorate():
            return f"prorate by {n.basis}"
        case ast.ActionRule():
            text = f"when {format_expr(n.condition)}{_optional(' for ', n.persistence)}"
            text += f" => {n.kind} {n.title.raw}"
            if n.owner is not None:
                owner = n.owner.raw if isinstance(n.owner, ast.String) else n.owner.text
                text += f" owner {owner}"
            return text + _optional(" within ", n.within)
        case ast.GivenRecords():
            return f"given {n.source} {_record(n.records[0])}"
        case ast.GivenFile():
            return f"given {n.source} from {n.path.raw}"
        case ast.Expect():
            return f"expect {format_expr(n.expr)}"
        case ast.TestPeriod():
            return f"period {n.period.text}"
    raise TypeError(f"the formatter does not know {type(n).__name__}")


def _label(label: ast.String | None) -> str:
    return f" {label.raw}" if label is not None else ""


def _names(names: tuple[ast.Ident, ...]) -> str:
    return ", ".join(name.text for name in names)


def _optional(prefix: str, expr: ast.Expr | None) -> str:
    return prefix + format_expr(expr) if expr is not None else ""


def _record(record: ast.Record) -> str:
    if not record.fields:
        return "{ }"
    return "{ " + ", ".join(f"{f.name}: {format_expr(f.value)}" for f in record.fields) + " }"


_RANGE_WORDS = {"below": "below", "above": "above", "at_least": "at least", "at_most": "at most"}


def _band_range(r: ast.BandRange) -> str:
    if r.kind == "otherwise":
        return "otherwise"
    if r.kind == "between":
        return f"from {format_expr(r.low)} to {format_expr(r.high)}"
    bound = r.low if r.low is not None else r.high
    return f"{_RANGE_WORDS[r.kind]} {format_expr(bound)}"


# ------------------------------------------------------------------ expressions


def format_expr(expr: ast.Expr) -> str:
    """One line, minimal parentheses. An explicit stack, not recursion: `1+1+...` can be long."""
    out: list[str] = []
    stack: list[str | tuple[ast.Expr, int]] = [(expr, IF)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        node, needed = item
        strength, parts = _expr_parts(node)
        if strength < needed:
            parts = ["(", *parts, ")"]
        stack.extend(reversed(parts))
    return "".join(out)


def _expr_parts(n: ast.Expr) -> tuple[int, list[str | tuple[ast.Expr, int]]]:
    """How strongly `n` binds, and its text with each operand and the strength it needs."""
    match n:
        case ast.Number() | ast.Percent() | ast.DateLit() | ast.PeriodLit():
            return ATOM, [n.text]
        case ast.Quantity():
            return ATOM, [f"{n.number} {n.unit}"]
        case ast.String():
            return ATOM, [n.raw]
        case ast.Bool():
            return ATOM, ["true" if n.value else "false"]
        case ast.Name():
            return ATOM, [n.name]
        case ast.Attribute():
            return ATOM, [f"{n.source}.{n.column}"]
        case ast.Call():
            parts: list[str | tuple[ast.Expr, int]] = [f"{n.func}("]
            for i, arg in enumerate(n.args):
                parts += [", "] if i else []
                parts.append((arg, IF))
            if n.where is not None:
                parts += [" where ", (n.where, IF)]
            if n.window is not None:
                parts += [" over last ", (n.window, IF)]
            return ATOM, [*parts, ")"]
        case ast.ListLit():
            parts = ["["]
            for i, item in enumerate(n.items):
                parts += [", "] if i else []
                parts.append((item, IF))
            return ATOM, [*parts, "]"]
        case ast.Negate():
            return UNARY, ["-", (n.operand, UNARY)]
        case ast.Not():
            # `not a == b` means `not (a == b)`; the brackets say so to a human reader.
            comparison = isinstance(n.operand, (ast.In, ast.LevelTest)) or (
                isinstance(n.operand, ast.Binary) and n.operand.op in _COMPARE_OPS
            )
            return NOT, ["not ", (n.operand, CMP + 1 if comparison else NOT)]
        case ast.In():
            return CMP, [(n.item, SUM), " in ", (n.collection, SUM)]
        case ast.LevelTest():
            return CMP, [(n.subject, SUM), f" {n.test} {n.level}"]
        case ast.If():
            return IF, [
                "if ",
                (n.condition, IF),
                " then ",
                (n.then, IF),
                " else ",
                (n.otherwise, IF),
            ]
        case ast.Binary():
            # Left-associative levels take an equal-strength left operand but a stronger
            # right one; comparisons are not associative, so both sides must be sums.
            if n.op == "or":
                return OR, [(n.left, OR), " or ", (n.right, AND)]
            if n.op == "and":
                return AND, [(n.left, AND), " and ", (n.right, NOT)]
            if n.op in _COMPARE_OPS:
                return CMP, [(n.left, SUM), f" {n.op} ", (n.right, SUM)]
            level = SUM if n.op in "+-" else PROD
            return level, [(n.left, level), f" {n.op} ", (n.right, level + 1)]
    raise TypeError(f"the formatter does not know {type(n).__name__}")


# ------------------------------------------------------------------ comments


def _start(node: ast.Node) -> tuple[int, int]:
    return node.span.line, node.span.column


def _end(node: ast.Node) -> tuple[int, int]:
    return node.span.end_line, node.span.end_column


def _place_comments(root: _Line, module: ast.Module) -> None:
    # The first column of code on each line tells a trailing comment from an own-line one.
    code_from: dict[int, int] = {}
    for node in ast.nodes(module):
        if isinstance(node, (ast.Module, ast.Comment)) or not node.span.line:
            continue
        span = node.span
        code_from[span.line] = min(code_from.get(span.line, span.column), span.column)
        last = span.end_column - 1
        code_from[span.end_line] = min(code_from.get(span.end_line, last), last)

    # Where a trailing comment can go, by source line: after a simple statement's last
    # token, after a block's head (its start) and after its closing bracket (its end).
    anchors: dict[int, list[tuple[int, _Line, str]]] = {}
    stack = list(root.body or ())
    while stack:
        line = stack.pop()
        line_no, column = _end(line.node)
        if line.body is None:
            anchors.setdefault(line_no, []).append((column - 1, line, "tail"))
        else:
            anchors.setdefault(line_no, []).append((column - 1, line, "close_tail"))
            head_no, head_column = _start(line.node)
            anchors.setdefault(head_no, []).append((head_column, line, "tail"))
            stack.extend(line.body)

    for comment in module.comments:
        line_no, column = _start(comment)
        if code_from.get(line_no, column) < column:
            before = [a for a in anchors.get(line_no, ()) if a[0] < column]
            if before:
                _, target, slot = max(before, key=lambda a: a[0])
                if getattr(target, slot) is None:
                    setattr(target, slot, comment)
                    continue
        # Own-line, or after code that does not end a printed line (inside a multi-line
        # statement): before the statement that ends after it, at the innermost level.
        _put_before(root, comment)


def _put_before(container: _Line, comment: ast.Comment) -> None:
    where = _start(comment)
    while True:
        for child in container.body or ():
            if _end(child.node) > where:
                if child.body is not None and _start(child.node) < where:
                    container = child
                    break
                child.leading.append(comment)
                return
        else:
            container.inner.append(comment)
            return


# ------------------------------------------------------------------ printing


def _emit_body(block: _Line, depth: int, out: list[str], top_level: bool = False) -> None:
    """The body of `block`: statements with their comments, keeping single blank lines."""
    pad = INDENT * depth
    previous: int | None = None  # source line where the previous printed item ended
    after_decl = False

    def gap(start: int) -> None:
        if previous is not None and (after_decl or start - previous > 1):
            out.append("")

    for child in block.body or ():
        for comment in child.leading:
            # A comment taken out of a multi-line statement counts as where it starts.
            gap(min(comment.span.line, child.node.span.line))
            out.append(pad + comment.text)
            previous, after_decl = comment.span.line, False
        gap(child.node.span.line)
        _emit(child, depth, out)
        previous, after_decl = child.node.span.end_line, top_level
    for comment in block.inner:
        gap(comment.span.line)
        out.append(pad + comment.text)
        previous, after_decl = comment.span.line, False


def _emit(line: _Line, depth: int, out: list[str]) -> None:
    pad = INDENT * depth
    if line.body is None:
        out.append(pad + line.head + _trailing(line.tail))
        return
    opening, closing = line.brackets
    if not line.body and not line.inner and (line.tail is None or line.close_tail is None):
        out.append(pad + line.head + line.empty + _trailing(line.tail or line.close_tail))
        return
    out.append(f"{pad}{line.head} {opening}{_trailing(line.tail)}")
    _emit_body(line, depth + 1, out)
    out.append(pad + closing + _trailing(line.close_tail))


def _trailing(comment: ast.Comment | None) -> str:
    return "  " + comment.text.rstrip() if comment is not None else ""


# ------------------------------------------------------------------ safety net


def _first_difference(before: ast.Module, after: ast.Module | None) -> Span | None:
    """Where the re-parsed output first differs from the input (None: it does not)."""
    if after is None or len(before.items) != len(after.items):
        return before.span
    for old, new in zip(before.items, after.items):
        if not _same_tree(old, new):
            return old.span
    old_comments = [c.text.rstrip() for c in before.comments]
    new_comments = [c.text.rstrip() for c in after.comments]
    if old_comments != new_comments:
        for old, new in zip(before.comments, new_comments):
            if old.text.rstrip() != new:
                return old.span
        return before.span
    return None


def _same_tree(a: object, b: object) -> bool:
    """`a == b` for syntax trees, without recursion (a dataclass `==` recurses per level)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if isinstance(x, ast.Node):
            if type(x) is not type(y):
                return False
            stack.extend((getattr(x, f.name), getattr(y, f.name)) for f in fields(x) if f.compare)
        elif isinstance(x, tuple):
            if not isinstance(y, tuple) or len(x) != len(y):
                return False
            stack.extend(zip(x, y))
        elif type(x) is not type(y) or x != y:
            return False
    return True
