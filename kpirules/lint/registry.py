"""The rule registry: every lint rule is a small function registered with its metadata.

A rule's code never changes once published: configuration, inline suppressions and
SARIF fingerprints refer to it. The bad and good examples live next to the rule, so the
tests run them and docs/rules.md is generated from them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpirules.diagnostics import Severity, Span

if TYPE_CHECKING:
    from kpirules.lint.context import LintContext

# Category → what its rules are about; the order is the order of docs/rules.md.
CATEGORIES: dict[str, str] = {
    "strategy": "the KPI method of the source article: alignment, the key few, balance, "
    "SMART, improvement and feedback",
    "correctness": "rules that can never fire, scores no rating covers, conditions that "
    "never or always hold, limits that are missing",
    "hygiene": "declarations nothing uses",
    "data": "checked against real data with `--data`: targets that are too easy or out of "
    "reach, indicators that are often missing, data quality",
    "meta": "the linter's own comments",
}


@dataclass(frozen=True)
class Finding:
    """What a rule reports; the runner turns it into a `Diagnostic` with the rule's code
    and configured level. `severity` overrides the level (data findings that stop a run)."""

    span: Span
    message: str
    hint: str | None = None
    severity: Severity | None = None


Check = Callable[["LintContext"], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    category: str
    level: Severity
    summary: str  # one line
    rationale: str  # why: the check function's docstring
    bad: str  # policy text added to the example base (kpirules.lint.examples.BASE)
    good: str
    check: Check
    options: dict[str, Any] = field(default_factory=dict)  # name → default
    needs_data: bool = False
    bad_data: dict[str, str] | None = None  # source → CSV text, for data rules
    good_data: dict[str, str] | None = None
    validate: Callable[[dict[str, Any]], str | None] | None = None  # options → problem

    @property
    def anchor(self) -> str:
        """The heading anchor in docs/rules.md (GitHub's slug of `L102 key-few`)."""
        return f"{self.code.lower()}-{self.name}"


RULES: dict[str, Rule] = {}


def rule(
    code: str,
    name: str,
    category: str,
    level: str,
    summary: str,
    *,
    bad: str,
    good: str,
    options: dict[str, Any] | None = None,
    needs_data: bool = False,
    bad_data: dict[str, str] | None = None,
    good_data: dict[str, str] | None = None,
    validate: Callable[[dict[str, Any]], str | None] | None = None,
) -> Callable[[Check], Check]:
    """Register the decorated check function as a rule; its docstring is the rationale."""

    def register(check: Check) -> Check:
        assert code not in RULES, f"rule code {code} registered twice"
        assert category in CATEGORIES, category
        RULES[code] = Rule(
            code=code,
            name=name,
            category=category,
            level=Severity[level.upper()],
            summary=summary,
            rationale=_paragraphs(check.__doc__ or ""),
            bad=inspect.cleandoc(bad) + "\n",
            good=inspect.cleandoc(good) + "\n",
            check=check,
            options=dict(options or {}),
            needs_data=needs_data,
            bad_data=bad_data,
            good_data=good_data,
            validate=validate,
        )
        return check

    return register


def _paragraphs(doc: str) -> str:
    """A docstring as paragraphs of one line each (SARIF viewers and Markdown reflow)."""
    parts = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(part.split()) for part in parts)


def all_rules() -> list[Rule]:
    """Every rule, by code. Importing the rule modules registers them."""
    from kpirules.lint import rules, suppress  # noqa: F401  (registration side effects)

    return [RULES[code] for code in sorted(RULES)]
