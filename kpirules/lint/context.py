"""What a rule sees: the checked policy, its syntax trees for precise positions, the
rule's options and, with `--data`, the evaluation results."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kpirules import ast, model
from kpirules.check.symbols import NAMED_KINDS
from kpirules.diagnostics import Span


class Index:
    """Declarations by kind and name, from the syntax trees: the model keeps whole
    declaration spans, a finding should point at the name."""

    def __init__(self, modules: list[ast.Module]):
        self.modules = modules
        self.decls: dict[tuple[str, str], ast.Node] = {}
        for module in modules:
            for item in module.items:
                kind = NAMED_KINDS.get(type(item))
                if kind is not None:
                    self.decls.setdefault((kind, item.name.text), item)

    def name_span(self, kind: str, name: str, fallback: Span) -> Span:
        decl = self.decls.get((kind, name))
        return decl.name.span if decl is not None else fallback

    def entry(self, scorecard: str, indicator: str) -> ast.Entry | None:
        decl = self.decls.get(("scorecard", scorecard))
        if decl is None:
            return None
        return next(
            (s for s in decl.body if isinstance(s, ast.Entry) and s.indicator.text == indicator),
            None,
        )

    def entry_span(self, scorecard: str, entry: model.Entry) -> Span:
        found = self.entry(scorecard, entry.indicator)
        return found.indicator.span if found is not None else entry.span

    @cached_property
    def references(self) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
        """Every bare name and every `source.column` written anywhere except in tests
        (a test reading a value does not make the policy use it)."""
        names: set[str] = set()
        columns: set[tuple[str, str]] = set()
        for module in self.modules:
            for item in module.items:
                if isinstance(item, ast.TestDecl):
                    continue
                for node in ast.nodes(item):
                    if isinstance(node, ast.Name):
                        names.add(node.name)
                    elif isinstance(node, ast.Attribute):
                        columns.add((node.source, node.column))
        return frozenset(names), frozenset(columns)


@dataclass
class LintContext:
    policy: model.Policy
    index: Index
    entry_files: frozenset[str]  # the unit's own files; imported files are not its own
    results: Any = None  # kpirules.results.Results, with --data
    options: dict[str, Any] = field(default_factory=dict)  # the running rule's options

    def own(self, span: Span) -> bool:
        """Declared in the unit's own files (an imported library's declarations exist for
        many policies, so one policy not using them is no finding)."""
        return span.file in self.entry_files

    @property
    def library(self) -> bool:
        return self.policy.header is None

    def span(self, kind: str, name: str) -> Span:
        table = {
            "source": self.policy.sources,
            "objective": self.policy.objectives,
            "goal": self.policy.goals,
            "indicator": self.policy.indicators,
            "benchmark": self.policy.benchmarks,
            "scorecard": self.policy.scorecards,
            "rating": self.policy.ratings,
            "incentive": self.policy.incentives,
        }[kind]
        return self.index.name_span(kind, name, table[name].span)

    @cached_property
    def analysis(self):
        from kpirules.lint.analysis import Analysis

        return Analysis(self.policy)
