"""Static analysis shared by the correctness rules: constants, the range of scores a
scorecard can produce, and what a condition does over every value its inputs can take.

Conditions are judged exactly where they are built from comparisons of one input with
constants (`score >= 90`, `x > 5 and x < 3`, `role == "rep"`) joined by and/or/not: the
truth of such a condition can only change at the constants it names, so trying each
constant, a value between each pair, and one beyond each end covers every case. Anything
else (`a > b`, level tests, trends) is an independent true/false input: trying both ways
can only find fewer always/never conditions, never a wrong one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property

from kpirules import ast, model, rules
from kpirules import dimensions as dims
from kpirules.plan.expressions import literal_number, minutes_per

INF = math.inf
Range = tuple[float, float]  # inclusive bounds, possibly infinite
OTHER = "\x00other"  # a text value that no constant in the condition names
MAX_CASES = 4096  # beyond this many combinations a condition is not judged
COMPARE: dict[str, Callable[[object, object], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class Scope:
    """What names mean where a condition is written."""

    score: Range | None = None  # `score` and the scores it can take; None: not visible
    rated: bool = False  # `rating` is visible
    labels: frozenset[str] | None = None  # the rating labels it can take; None: unknown
    bare_roster: bool = False  # roster columns may be written without `roster.`


@dataclass(frozen=True)
class Var:
    key: tuple
    kind: str  # number | text | bool
    domain: Range | frozenset | None  # number: a range; text: the allowed values or None
    dim: dims.Dim | None = None


@dataclass(frozen=True)
class Region:
    """A point (lo == hi, both closed) or an open interval between two breakpoints."""

    sample: float
    lo: float
    lo_closed: bool
    hi: float
    hi_closed: bool


def regions(constants: set[float], domain: Range) -> list[Region]:
    """The points and open intervals the constants cut `domain` into, in order; each
    with one sample value. Nothing that compares with these constants can tell two
    values of one region apart."""
    lo, hi = domain
    cuts = sorted({c for c in constants if lo <= c <= hi} | {b for b in domain if math.isfinite(b)})
    found: list[Region] = []
    if not cuts:  # an unbounded domain and no constants: one region, any value will do
        return [Region(0.0, lo, False, hi, False)]
    if cuts[0] > lo:
        found.append(Region(cuts[0] - 1, lo, False, cuts[0], False))
    for a, b in itertools.pairwise(cuts):
        found.append(Region(a, a, True, a, True))
        found.append(Region((a + b) / 2, a, False, b, False))
    found.append(Region(cuts[-1], cuts[-1], True, cuts[-1], True))
    if cuts[-1] < hi:
        found.append(Region(cuts[-1] + 1, cuts[-1], False, hi, False))
    return found


def merge(parts: list[Region]) -> list[Region]:
    """Join regions that touch (they come in order) into larger ones."""
    merged: list[Region] = []
    for part in parts:
        last = merged[-1] if merged else None
        if last is not None and last.hi == part.lo and (last.hi_closed or part.lo_closed):
            merged[-1] = Region(last.sample, last.lo, last.lo_closed, part.hi, part.hi_closed)
        else:
            merged.append(part)
    return merged


def number(value: float | Decimal) -> str:
    """A number as a policy would write it: 1200000, 0.5, 90."""
    text = format(Decimal(repr(float(value))).normalize(), "f")
    return text[:-2] if text.endswith(".0") else text


def describe(region: Region, show: Callable[[float], str] = number) -> str:
    """`below 70`, `70`, `from 70 up to 90`, `above 150` — words an HR reader follows."""
    lo, hi = region.lo, region.hi
    if lo == hi:
        return show(lo)
    if not math.isfinite(lo):
        return ("at most " if region.hi_closed else "below ") + show(hi)
    if not math.isfinite(hi):
        return ("at least " if region.lo_closed else "above ") + show(lo)
    start = ("from " if region.lo_closed else "above ") + show(lo)
    end = (" to " + show(hi)) if region.hi_closed else (" up to (not including) " + show(hi))
    return start + end


class Analysis:
    def __init__(self, policy: model.Policy):
        self.policy = policy

    # ------------------------------------------------------------ constants

    def const(self, expr: ast.Expr, like: dims.Dim | None = None, depth: int = 0) -> float | None:
        """A numeric constant in the engine's units (durations in minutes, percentages as
        fractions), or None. A bare number takes the unit of what it is compared with."""
        if depth > 50:
            return None
        if isinstance(expr, ast.Number):
            return float(expr.value) * (minutes_per(like) if like is not None else 1.0)
        if isinstance(expr, (ast.Percent, ast.Quantity)):
            return literal_number(expr)
        if isinstance(expr, ast.DateLit):
            try:
                return float(date.fromisoformat(expr.text).toordinal())
            except ValueError:
                return None
        if isinstance(expr, ast.Negate):
            inner = self.const(expr.operand, like, depth + 1)
            return None if inner is None else -inner
        if isinstance(expr, ast.Name) and expr.name in self.policy.benchmarks:
            return self.const(self.policy.benchmarks[expr.name].expr, like, depth + 1)
        if isinstance(expr, ast.Binary) and expr.op in ("+", "-", "*", "/"):
            left = self.const(expr.left, like, depth + 1)
            right = self.const(expr.right, like, depth + 1)
            if left is None or right is None:
                return None
            if expr.op == "/":
                return left / right if right else None
            return {"+": left + right, "-": left - right, "*": left * right}[expr.op]
        return None

    # ------------------------------------------------------------ score ranges

    def entry_range(self, card: model.Scorecard, entry: model.Entry) -> Range:
        """The scores one entry can give: curve or band scores, the entry's floor and
        cap, and a `when missing => score N`."""
        scoring = entry.scoring
        if isinstance(scoring, model.Curve):
            scores = [float(scoring.otherwise), *(float(p.score) for p in scoring.points)]
            lo, hi = min(scores), max(scores)
        elif isinstance(scoring, model.Bands) and all(b.score is not None for b in scoring.bands):
            lo = min(float(b.score) for b in scoring.bands)
            hi = max(float(b.score) for b in scoring.bands)
        else:  # an indicator of unit `score`, or bands paying an expression
            lo, hi = -INF, INF
        lo, hi = clamp(lo, entry.floor, entry.cap), clamp(hi, entry.floor, entry.cap)
        rule = entry.missing or card.missing
        if rule.action == "score" and rule.score is not None:
            lo, hi = min(lo, float(rule.score)), max(hi, float(rule.score))
        return lo, hi

    @cached_property
    def card_ranges(self) -> dict[str, tuple[Range, Range]]:
        """Per scorecard: the weighted total before gates and limits (what `score` means
        in its gates), and the final total (what ratings, incentives and actions see)."""
        found = {}
        for card in self.policy.scorecards.values():
            ranges = [self.entry_range(card, e) for e in card.entries]
            reweight = any((e.missing or card.missing).action == "reweight" for e in card.entries)
            if reweight:  # any mix of the entries present: the hull of their ranges
                lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
            else:
                lo = sum(float(e.weight) * r[0] for e, r in zip(card.entries, ranges))
                hi = sum(float(e.weight) * r[1] for e, r in zip(card.entries, ranges))
            before = (lo, hi)
            for gate in card.gates:
                if gate.value is None:
                    continue
                value = float(gate.value)
                lo = min(lo, value)
                if gate.effect == "score":
                    hi = max(hi, value)
            after = (clamp(lo, card.floor, card.cap), clamp(hi, card.floor, card.cap))
            found[card.name] = (before, after)
        return found

    def final_range(self, cards: tuple[str, ...]) -> Range:
        ranges = [self.card_ranges[c][1] for c in cards if c in self.card_ranges]
        if not ranges:
            return -INF, INF
        return min(r[0] for r in ranges), max(r[1] for r in ranges)

    def labels(self, cards: tuple[str, ...]) -> frozenset[str] | None:
        found: set[str] = set()
        for name in cards:
            card = self.policy.scorecards.get(name)
            rating = self.policy.ratings.get(card.rating) if card and card.rating else None
            if rating is None:
                return None
            found |= set(rating.labels)
        return frozenset(found)

    def outcome_scope(self, cards: tuple[str, ...]) -> Scope:
        return Scope(self.final_range(cards), True, self.labels(cards), True)

    # ------------------------------------------------------------ conditions

    def variable(self, expr: ast.Expr, scope: Scope) -> Var | None:
        policy = self.policy
        if isinstance(expr, ast.Name):
            name = expr.name
            if name == "score" and scope.score is not None:
                return Var(("score",), "number", scope.score, dims.NUMBER)
            if name == "rating" and scope.rated:
                return Var(("rating",), "text", scope.labels)
            if name in policy.indicators:
                return Var(("indicator", name), "number", (-INF, INF), policy.indicators[name].dim)
            roster = policy.roster
            if scope.bare_roster and roster is not None and name in roster.columns:
                return self._column(roster, roster.columns[name])
            return None
        if isinstance(expr, ast.Attribute):
            source = policy.sources.get(expr.source)
            if source is not None and expr.column in source.columns:
                return self._column(source, source.columns[expr.column])
        return None

    @staticmethod
    def _column(source: model.Source, column: model.Column) -> Var:
        key = ("column", source.name, column.name)
        if column.type == "text":
            allowed = frozenset(v for v in column.allowed or () if isinstance(v, str))
            return Var(key, "text", allowed or None)
        if column.type == "bool":
            return Var(key, "bool", None)
        return Var(key, "number", (-INF, INF), column.dim)

    def _value(self, expr: ast.Expr, var: Var):
        """A constant to compare `var` with, of the variable's kind; None if it is not one."""
        if var.kind == "number":
            return self.const(expr, var.dim)
        if var.kind == "text" and isinstance(expr, ast.String):
            return expr.value
        if var.kind == "bool" and isinstance(expr, ast.Bool):
            return expr.value
        return None

    def _plain(self, expr: ast.Expr):
        """A constant of any kind, for comparisons of two constants."""
        if isinstance(expr, (ast.String, ast.Bool)):
            return expr.value
        return self.const(expr)

    def leaf(self, expr: ast.Expr, scope: Scope) -> tuple:
        """Classify a condition that is not and/or/not:
        ("const", bool) | ("cmp", Var, op, value) | ("in", Var, values) | ("var", Var)
        | ("opaque", key, negated)."""
        if isinstance(expr, ast.Bool):
            return ("const", expr.value)
        if isinstance(expr, ast.Binary) and expr.op in COMPARE:
            left, right = self.variable(expr.left, scope), self.variable(expr.right, scope)
            if left is not None and right is None:
                value = self._value(expr.right, left)
                if value is not None and (left.kind != "text" or expr.op in ("==", "!=")):
                    return ("cmp", left, expr.op, value)
            elif right is not None and left is None:
                value = self._value(expr.left, right)
                if value is not None and (right.kind != "text" or expr.op in ("==", "!=")):
                    return ("cmp", right, FLIP[expr.op], value)
            elif left is None and right is None:
                a, b = self._plain(expr.left), self._plain(expr.right)
                if a is not None and b is not None and type(a) is type(b):
                    return ("const", COMPARE[expr.op](a, b))
        if isinstance(expr, ast.In) and isinstance(expr.collection, ast.ListLit):
            var = self.variable(expr.item, scope)
            if var is not None:
                values = [self._value(item, var) for item in expr.collection.items]
                if all(v is not None for v in values):
                    return ("in", var, tuple(values))
        if isinstance(expr, (ast.Name, ast.Attribute)):
            var = self.variable(expr, scope)
            if var is not None and var.kind == "bool":
                return ("var", var)
        if isinstance(expr, ast.LevelTest):  # `misses L` is `not reaches L` for a present value
            return ("opaque", ("reaches", expr.subject, expr.level), expr.test == "misses")
        return ("opaque", ("expr", expr), False)

    def _leaves(self, expr: ast.Expr, scope: Scope, out: list) -> None:
        if isinstance(expr, ast.Not):
            self._leaves(expr.operand, scope, out)
        elif isinstance(expr, ast.Binary) and expr.op in ("and", "or"):
            self._leaves(expr.left, scope, out)
            self._leaves(expr.right, scope, out)
        else:
            out.append((expr, self.leaf(expr, scope)))

    def cases(self, exprs: list[ast.Expr], scope: Scope) -> tuple[dict, list] | None:
        """The leaves of the conditions and the values to try for each input; None when
        the inputs are mixed up (a text compared with a number) or too many."""
        leaves: list = []
        for expr in exprs:
            self._leaves(expr, scope, leaves)
        constants: dict[tuple, set] = {}
        vars_: dict[tuple, Var] = {}
        opaque: set = set()
        for _, kind in leaves:
            if kind[0] in ("cmp", "in", "var"):
                var = kind[1]
                if vars_.setdefault(var.key, var).kind != var.kind:
                    return None
                found = constants.setdefault(var.key, set())
                if kind[0] == "cmp":
                    found.add(kind[3])
                elif kind[0] == "in":
                    found.update(kind[2])
            elif kind[0] == "opaque":
                opaque.add(kind[1])
        tries: dict = {}
        for key, var in vars_.items():
            values = constants.get(key, set())
            if var.kind == "number":
                if any(not isinstance(v, float) for v in values):
                    return None
                tries[key] = [r.sample for r in regions(values, var.domain)]
            elif var.kind == "text":
                tries[key] = sorted(var.domain) if var.domain else [*sorted(values), OTHER]
            else:
                tries[key] = [True, False]
        for key in opaque:
            tries[key] = [True, False]
        if math.prod(len(v) for v in tries.values()) > MAX_CASES:
            return None
        return tries, leaves

    def holds(self, expr: ast.Expr, scope: Scope, env: dict) -> bool:
        if isinstance(expr, ast.Not):
            return not self.holds(expr.operand, scope, env)
        if isinstance(expr, ast.Binary) and expr.op == "and":
            return self.holds(expr.left, scope, env) and self.holds(expr.right, scope, env)
        if isinstance(expr, ast.Binary) and expr.op == "or":
            return self.holds(expr.left, scope, env) or self.holds(expr.right, scope, env)
        kind = self.leaf(expr, scope)
        if kind[0] == "const":
            return kind[1]
        if kind[0] == "cmp":
            return COMPARE[kind[2]](env[kind[1].key], kind[3])
        if kind[0] == "in":
            return env[kind[1].key] in kind[2]
        if kind[0] == "var":
            return bool(env[kind[1].key])
        return env[kind[1]] != kind[2]

    def assignments(self, tries: dict) -> Iterator[dict]:
        keys = list(tries)
        for combo in itertools.product(*(tries[k] for k in keys)):
            yield dict(zip(keys, combo))

    def judge(self, expr: ast.Expr, scope: Scope) -> str | None:
        """ "always" or "never" when the condition holds for every / no value its inputs
        can take (inputs present); None when it depends on them or cannot be judged."""
        found = self.cases([expr], scope)
        if found is None:
            return None
        tries, _ = found
        seen = set()
        for env in self.assignments(tries):
            seen.add(self.holds(expr, scope, env))
            if len(seen) == 2:
                return None
        if seen == {True}:
            return "always"
        if seen == {False}:
            return "never"
        return None

    def score_tests(self, conditions: list[ast.Expr | None]) -> tuple[list, set] | None:
        """Rating levels as tests of the score alone, and the constants they use; None
        when a level tests anything else."""
        scope = Scope(score=(-INF, INF))
        found = self.cases([c for c in conditions if c is not None], scope)
        if found is None:
            return None
        tries, leaves = found
        if set(tries) - {("score",)}:
            return None
        constants = {kind[3] for _, kind in leaves if kind[0] == "cmp"}
        constants |= {v for _, kind in leaves if kind[0] == "in" for v in kind[2]}

        def test(condition: ast.Expr | None) -> Callable[[float], bool]:
            if condition is None:
                return lambda _: True
            return lambda value: self.holds(condition, scope, {("score",): value})

        return [test(c) for c in conditions], constants


def first_hit(
    tests: list[Callable[[float], bool]], constants: set[float], domain: Range
) -> tuple[list[bool], list[bool], list[Region]]:
    """For rules tried in order (rating levels, bands, tiers): which are ever the first to
    hold, which hold anywhere at all, and the values none holds for."""
    reached = [False] * len(tests)
    anywhere = [False] * len(tests)
    gaps: list[Region] = []
    for region in regions(constants, domain):
        hits = [i for i, test in enumerate(tests) if test(region.sample)]
        for i in hits:
            anywhere[i] = True
        if hits:
            reached[hits[0]] = True
        else:
            gaps.append(region)
    return reached, anywhere, merge(gaps)


def band_test(band: model.Band) -> Callable[[float], bool]:
    return band.contains


def band_constants(bands: tuple[model.Band, ...]) -> set[float]:
    return {float(x) for b in bands for x in (b.low, b.high) if x is not None}


def clamp(value: float, floor: Decimal | None, cap: Decimal | None) -> float:
    return rules.clip(value, floor, cap)
