"""Inline suppression: `# kpirules: ignore L102` (or `ignore[L102, L301]`) at the end of
the line of a finding, or alone on the line before it. L900 reports suppressions that
suppress nothing, so they do not outlive the problem they excused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from kpirules import ast
from kpirules.diagnostics import Diagnostic, SourceCache, Span
from kpirules.lint.context import LintContext
from kpirules.lint.registry import RULES, Finding, rule

MARKER = re.compile(r"#\s*kpirules:\s*ignore\b(?P<rest>.*)$", re.IGNORECASE)
BRACKET = re.compile(r"\s*\[(?P<codes>[^\]]*)\]")
BARE = re.compile(r"(?:[\s,]*)(?P<code>[A-Za-z]\d{3})\b")


@dataclass
class Suppression:
    span: Span  # the comment
    codes: tuple[str, ...]
    lines: tuple[int, ...]  # the lines whose findings it suppresses
    used: set[str] = field(default_factory=set)


def parse_codes(rest: str) -> tuple[str, ...]:
    """The codes after `ignore`: `[L102, L301]`, or `L102 L301` up to the first word that
    is not a code (the rest is free text: `ignore L102 legacy card, see HR-123`)."""
    bracket = BRACKET.match(rest)
    if bracket:
        return tuple(c.strip().upper() for c in re.split(r"[\s,]+", bracket["codes"]) if c.strip())
    codes = []
    position = 0
    while match := BARE.match(rest, position):
        codes.append(match["code"].upper())
        position = match.end()
    return tuple(codes)


def collect(modules: list[ast.Module], sources: SourceCache) -> Iterator[Suppression]:
    for module in modules:
        for comment in module.comments:
            found = MARKER.search(comment.text)
            if not found:
                continue
            span = comment.span
            before = (sources.line(span.file, span.line) or "")[: span.column - 1]
            alone = not before.strip()
            lines = (span.line, span.line + 1) if alone else (span.line,)
            yield Suppression(span, parse_codes(found["rest"]), lines)


def apply(diagnostics: list[Diagnostic], suppressions: list[Suppression]) -> list[Diagnostic]:
    """The diagnostics no suppression covers; marks the suppressions used. Only lint
    findings can be suppressed: checker errors mean the policy is wrong."""
    by_line: dict[tuple[str, int], list[Suppression]] = {}
    for suppression in suppressions:
        for line in suppression.lines:
            by_line.setdefault((suppression.span.file, line), []).append(suppression)
    kept = []
    for diagnostic in diagnostics:
        covering = [
            s
            for s in by_line.get((diagnostic.span.file, diagnostic.span.line), ())
            if diagnostic.code in s.codes and diagnostic.code in RULES
        ]
        for suppression in covering:
            suppression.used.add(diagnostic.code)
        if not covering:
            kept.append(diagnostic)
    return kept


def unused(suppression: Suppression, active: set[str]) -> Iterator[Finding]:
    """What L900 says about one suppression. A code of a rule that did not run here
    (turned off, ignored for this file, a data rule without `--data`) is not reported."""
    if not suppression.codes:
        yield Finding(
            suppression.span,
            "this suppression names no rule code",
            hint="write `# kpirules: ignore L102` (or `ignore[L102, L301]`)",
        )
    for code in suppression.codes:
        if code not in RULES:
            yield Finding(
                suppression.span,
                f"'{code}' is not a lint rule, so it suppresses nothing",
                hint="lint codes are L…; checker errors (E…) cannot be suppressed",
            )
        elif code in active and code not in suppression.used:
            yield Finding(
                suppression.span,
                f"this suppression of {code} suppresses nothing: no {code} finding on "
                + ("this line or the next" if len(suppression.lines) > 1 else "this line"),
                hint="remove it (or the code) now that the finding is gone",
            )


@rule(
    "L900",
    "unused-suppression",
    "meta",
    "warning",
    "A `# kpirules: ignore …` comment that suppresses nothing.",
    bad="""
    # kpirules: ignore L303
    indicator order_count "Orders closed" {
      supports revenue_plan
      unit count
      better higher
      = count(orders)
    }

    improvement order_flow for rep {
      when order_count < 3 => coaching "Deal flow review" owner manager within 30 days
    }
    """,
    good="""
    # kpirules: ignore L303 (goes on the 2027 scorecard)
    indicator order_count "Orders closed" {
      supports revenue_plan
      unit count
      better higher
      = count(orders)
    }
    """,
)
def unused_suppression(ctx: LintContext) -> Iterator[Finding]:
    """A suppression is an exception someone agreed to. Once the finding it excused is
    fixed, the comment only hides the next, unrelated finding of that rule on that line.
    Reported: a suppressed code with no finding on the line(s) it covers, an unknown code,
    and a suppression naming no code. (The runner applies suppressions after every rule
    has run, so this rule's work happens there.)"""
    return iter(())
