"""The syntax tree of a policy file: frozen dataclasses with source spans.

Spans never take part in equality, so two trees compare equal when they mean the same
thing, wherever their text sits (the formatter's tests rely on this). Declarations keep
their statements in source order in `body`; the checker reads them, the formatter prints
them back in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal
from functools import cache

from kpirules.diagnostics import NO_SPAN, Span


@dataclass(frozen=True)
class Node:
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Ident(Node):
    text: str

    def __str__(self) -> str:
        return self.text


# ------------------------------------------------------------------ expressions


@dataclass(frozen=True)
class Number(Node):
    text: str

    @property
    def value(self) -> Decimal:
        return Decimal(self.text.replace("_", ""))


@dataclass(frozen=True)
class Percent(Node):
    text: str  # as written, with the sign: "30%"

    @property
    def value(self) -> Decimal:
        return Decimal(self.text[:-1].replace("_", "")) / 100


@dataclass(frozen=True)
class Quantity(Node):
    number: str
    unit: str

    @property
    def value(self) -> Decimal:
        return Decimal(self.number.replace("_", ""))


@dataclass(frozen=True)
class String(Node):
    raw: str  # with quotes and escapes, exactly as written

    @property
    def value(self) -> str:
        return unescape(self.raw[1:-1])


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class DateLit(Node):
    text: str


@dataclass(frozen=True)
class PeriodLit(Node):
    text: str


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Attribute(Node):
    source: str
    column: str


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Expr, ...]
    where: Expr | None = None
    window: Expr | None = None  # `over last N periods`


@dataclass(frozen=True)
class Negate(Node):
    operand: Expr


@dataclass(frozen=True)
class Not(Node):
    operand: Expr


@dataclass(frozen=True)
class Binary(Node):
    op: str  # + - * / == != < <= > >= and or
    left: Expr
    right: Expr


@dataclass(frozen=True)
class In(Node):
    item: Expr
    collection: Expr


@dataclass(frozen=True)
class LevelTest(Node):
    """`x misses threshold`, `x reaches target`: direction-aware against the curve."""

    subject: Expr
    test: str  # misses | reaches
    level: str  # threshold | target | stretch


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class If(Node):
    condition: Expr
    then: Expr
    otherwise: Expr


Expr = (
    Number
    | Percent
    | Quantity
    | String
    | Bool
    | DateLit
    | PeriodLit
    | Name
    | Attribute
    | Call
    | Negate
    | Not
    | Binary
    | In
    | LevelTest
    | ListLit
    | If
)
NUMERIC_LITERALS = (Number, Percent, Quantity)


# ------------------------------------------------------------------ statements


@dataclass(frozen=True)
class Description(Node):
    text: String


@dataclass(frozen=True)
class Version(Node):
    value: String


@dataclass(frozen=True)
class Cadence(Node):
    name: Ident


@dataclass(frozen=True)
class Effective(Node):
    start: DateLit
    end: DateLit


@dataclass(frozen=True)
class Currency(Node):
    code: Ident


@dataclass(frozen=True)
class Locale(Node):
    value: String


@dataclass(frozen=True)
class FiscalYearStart(Node):
    month: Number


@dataclass(frozen=True)
class Rounding(Node):
    mode: Ident
    step: Expr


@dataclass(frozen=True)
class Setting(Node):
    """`name value` inside `data_quality { }` and `feedback { }`."""

    key: Ident
    value: Ident | Expr


@dataclass(frozen=True)
class DataQuality(Node):
    settings: tuple[Setting, ...]


@dataclass(frozen=True)
class FieldRole(Node):
    role: str  # key subject time display department role manager start end
    column: Ident


@dataclass(frozen=True)
class Column(Node):
    name: Ident
    type: Ident
    required: bool = False
    allowed: ListLit | None = None


@dataclass(frozen=True)
class Columns(Node):
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Supports(Node):
    targets: tuple[Ident, ...]


@dataclass(frozen=True)
class Horizon(Node):
    name: Ident


@dataclass(frozen=True)
class Owner(Node):
    level: Ident  # `company`, or a roster column such as `department`
    value: String | None = None


@dataclass(frozen=True)
class Target(Node):
    condition: Expr
    deadline: PeriodLit | DateLit | None = None


@dataclass(frozen=True)
class UnitStmt(Node):
    name: Ident


@dataclass(frozen=True)
class Better(Node):
    name: Ident


@dataclass(frozen=True)
class PeriodStmt(Node):
    name: Ident


@dataclass(frozen=True)
class Formula(Node):
    expr: Expr


@dataclass(frozen=True)
class AppliesTo(Node):
    roster: Ident
    where: Expr | None = None


@dataclass(frozen=True)
class Point(Node):
    kind: str  # threshold | target | stretch | point
    value: Expr
    score: Expr


@dataclass(frozen=True)
class OtherwiseScore(Node):
    score: Expr


@dataclass(frozen=True)
class BandRange(Node):
    kind: str  # below | above | at_least | at_most | between | otherwise
    low: Expr | None = None
    high: Expr | None = None


@dataclass(frozen=True)
class Band(Node):
    range: BandRange
    output: Expr


@dataclass(frozen=True)
class Bands(Node):
    hit_policy: Ident
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class Missing(Node):
    action: Ident  # reweight | score | fail
    value: Expr | None = None


@dataclass(frozen=True)
class Cap(Node):
    expr: Expr


@dataclass(frozen=True)
class Floor(Node):
    expr: Expr


@dataclass(frozen=True)
class Entry(Node):
    indicator: Ident
    weight: Expr
    items: tuple[Point | OtherwiseScore | Bands | Cap | Floor | Missing, ...] | None = None


@dataclass(frozen=True)
class UseRating(Node):
    name: Ident


@dataclass(frozen=True)
class Gate(Node):
    condition: Expr
    effect: Ident | None = None  # cap | score
    value: Expr | None = None


@dataclass(frozen=True)
class RatingBand(Node):
    label: String
    condition: Expr | None = None  # None: `otherwise`


@dataclass(frozen=True)
class DistributionRule(Node):
    label: String
    bound: str  # least | most
    share: Expr


@dataclass(frozen=True)
class Distribution(Node):
    rules: tuple[DistributionRule, ...]


@dataclass(frozen=True)
class PayExpr(Node):
    expr: Expr


@dataclass(frozen=True)
class PayTiers(Node):
    basis: Expr
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class Prorate(Node):
    basis: Ident


@dataclass(frozen=True)
class ActionRule(Node):
    condition: Expr
    persistence: Expr | None  # `for 2 periods`
    kind: Ident  # training | coaching | plan | recognize | nominate | ...
    title: String
    owner: Ident | String | None = None
    within: Expr | None = None


@dataclass(frozen=True)
class FieldValue(Node):
    name: Ident
    value: Expr


@dataclass(frozen=True)
class Record(Node):
    fields: tuple[FieldValue, ...]


@dataclass(frozen=True)
class GivenRecords(Node):
    source: Ident
    records: tuple[Record, ...]
    as_list: bool = False


@dataclass(frozen=True)
class GivenFile(Node):
    source: Ident
    path: String


@dataclass(frozen=True)
class Expect(Node):
    expr: Expr


@dataclass(frozen=True)
class TestPeriod(Node):
    period: PeriodLit


# ------------------------------------------------------------------ declarations


@dataclass(frozen=True)
class Import(Node):
    path: String


@dataclass(frozen=True)
class PolicyDecl(Node):
    name: String
    body: tuple


@dataclass(frozen=True)
class SourceDecl(Node):
    name: Ident
    label: String | None
    body: tuple
    is_roster: bool = False


@dataclass(frozen=True)
class ObjectiveDecl(Node):
    name: Ident
    label: String | None
    body: tuple | None


@dataclass(frozen=True)
class GoalDecl(Node):
    name: Ident
    label: String | None
    body: tuple | None


@dataclass(frozen=True)
class IndicatorDecl(Node):
    name: Ident
    label: String | None
    body: tuple


@dataclass(frozen=True)
class BenchmarkDecl(Node):
    name: Ident
    label: String | None
    expr: Expr


@dataclass(frozen=True)
class ScorecardDecl(Node):
    name: Ident
    label: String | None
    body: tuple


@dataclass(frozen=True)
class RatingDecl(Node):
    name: Ident
    label: String | None
    body: tuple


@dataclass(frozen=True)
class IncentiveDecl(Node):
    name: Ident
    label: String | None
    scorecards: tuple[Ident, ...]
    body: tuple


@dataclass(frozen=True)
class ImprovementDecl(Node):
    name: Ident | None
    scorecards: tuple[Ident, ...]
    body: tuple


@dataclass(frozen=True)
class FeedbackDecl(Node):
    scorecards: tuple[Ident, ...]
    body: tuple


@dataclass(frozen=True)
class TestDecl(Node):
    name: String
    body: tuple


Decl = (
    Import
    | PolicyDecl
    | SourceDecl
    | ObjectiveDecl
    | GoalDecl
    | IndicatorDecl
    | BenchmarkDecl
    | ScorecardDecl
    | RatingDecl
    | IncentiveDecl
    | ImprovementDecl
    | FeedbackDecl
    | TestDecl
)


@dataclass(frozen=True)
class Comment(Node):
    text: str  # with the leading '#'


@dataclass(frozen=True)
class Module(Node):
    """One parsed file."""

    path: str
    items: tuple[Decl, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)


# ------------------------------------------------------------------ helpers

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and _is_hex(body[i + 2 : i + 6]):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _is_hex(text: str) -> bool:
    return len(text) == 4 and all(c in "0123456789abcdefABCDEF" for c in text)


def bad_escapes(raw: str) -> list[int]:
    """Offsets (within `raw`) of escapes `unescape` does not know."""
    body = raw[1:-1]
    bad = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                i += 2
                continue
            if nxt == "u" and _is_hex(body[i + 2 : i + 6]):
                i += 6
                continue
            bad.append(i + 1)
            i += 2
            continue
        i += 1
    return bad


def child_nodes(node: Node) -> list[Node]:
    """The nodes directly inside `node` (through tuples), in field order."""
    found: list[Node] = []
    for name in _field_names(type(node)):
        item = getattr(node, name)
        if isinstance(item, Node):
            found.append(item)
        elif isinstance(item, tuple):
            found.extend(_flatten(item))
    return found


def _flatten(items: tuple) -> list[Node]:
    found: list[Node] = []
    for item in items:
        if isinstance(item, Node):
            found.append(item)
        elif isinstance(item, tuple):
            found.extend(_flatten(item))
    return found


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind) if f.name != "span")


def nodes(root: Node):
    """Every node under `root` (itself included), parents before children."""
    stack: list[Node] = [root]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(reversed(child_nodes(item)))


def walk(expr: Expr):
    """Every sub-expression of `expr`, parents first."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(list(children(node))))


def children(expr: Expr):
    if isinstance(expr, Call):
        yield from expr.args
        if expr.where is not None:
            yield expr.where
        if expr.window is not None:
            yield expr.window
    elif isinstance(expr, (Negate, Not)):
        yield expr.operand
    elif isinstance(expr, Binary):
        yield expr.left
        yield expr.right
    elif isinstance(expr, In):
        yield expr.item
        yield expr.collection
    elif isinstance(expr, LevelTest):
        yield expr.subject
    elif isinstance(expr, ListLit):
        yield from expr.items
    elif isinstance(expr, If):
        yield expr.condition
        yield expr.then
        yield expr.otherwise
