"""The linter: check each policy unit, then run the lint rules on the checked model.

    paths → units → check (errors: report them, stop for that unit)
          → rules (configured per project root; with data: one evaluation)
          → per-file ignores → inline suppressions → L900 → one sorted report

Findings are ordinary `Diagnostic`s with L-codes, so every output format the checker has
works for them, and `Report.diagnostics` mixes both, sorted by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kpirules.api import check_unit
from kpirules.diagnostics import Diagnostic, Severity, SourceCache
from kpirules.lint.config import Config, ConfigError, load_config
from kpirules.lint.context import Index, LintContext
from kpirules.lint.registry import CATEGORIES, RULES, Finding, Rule, all_rules
from kpirules.lint.suppress import Suppression, apply, collect, unused
from kpirules.loader import EXTENSION, display_path, find_root

__all__ = [
    "CATEGORIES",
    "RULES",
    "Config",
    "ConfigError",
    "Finding",
    "Report",
    "Rule",
    "all_rules",
    "lint",
]

UNUSED_SUPPRESSION = "L900"


@dataclass
class UnitResult:
    path: str
    policy: str | None
    library: bool
    files: list[str]
    ok: bool  # the checker found no error, so the rules ran


@dataclass
class Report:
    diagnostics: list[Diagnostic] = field(default_factory=list)  # checker and lint, sorted
    units: list[UnitResult] = field(default_factory=list)
    suppressed: int = 0
    sources: SourceCache = field(default_factory=SourceCache)
    rules: list[Rule] = field(default_factory=list)  # the rules that ran somewhere
    files: list[str] = field(default_factory=list)  # every policy file looked at

    def count(self, severity: Severity) -> int:
        return sum(d.severity == severity for d in self.diagnostics)

    def failed(self, fail_level: Severity) -> bool:
        return any(d.severity >= fail_level for d in self.diagnostics)


def lint(
    units: list[Path],
    *,
    data: str | Path | None = None,
    as_of: date | None = None,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    results=None,
) -> Report:
    """Lint policy units (folders or files, as `kpirules.loader.discover` finds them).
    With `data`, a binding for the one unit given, the data rules run too; or with
    `results`, that unit's results already evaluated (the TUI has them). Raises
    `ConfigError` for a broken configuration, and the data layer's errors for data that
    cannot be read."""
    if (data is not None or results is not None) and len(units) != 1:
        raise ValueError("the data rules lint one policy unit at a time")
    with_data = data is not None or results is not None
    report = Report()
    configs: dict[Path, Config] = {}
    found: dict[tuple, Diagnostic] = {}
    # One entry per comment, even when several units import its file.
    suppressions: dict[tuple, tuple[Suppression, Config, set[str]]] = {}
    ran: set[str] = set()
    for path in units:
        root = find_root(path)
        if root not in configs:
            configs[root] = load_config(root).with_command_line(select, ignore)
        config = configs[root]
        unit, policy, diagnostics = check_unit(path)
        report.sources.merge(unit.sources)
        files = [m.path for m in unit.modules] or sorted({d.span.file for d in diagnostics})
        report.files.extend(f for f in files if f not in report.files)
        report.units.append(
            UnitResult(
                display_path(path),
                policy.name if policy else None,
                bool(policy) and policy.header is None,
                files,
                policy is not None,
            )
        )
        for diagnostic in diagnostics:
            found.setdefault(_key(diagnostic), diagnostic)
        if policy is None:
            continue  # checker errors first: the rules need a checked policy
        active = [r for r in all_rules() if config.enabled(r) and (with_data or not r.needs_data)]
        ran |= {r.code for r in active}
        if results is None and data is not None:
            results = _evaluate(policy, data, as_of)
        context = LintContext(policy, Index(unit.modules), _entry_files(path), results)
        for rule in active:
            context.options = config.rule_options(rule)
            for finding in rule.check(context):
                diagnostic = _diagnostic(rule, finding, config)
                if not config.ignored_in(diagnostic.span.file, rule.code):
                    found.setdefault(_key(diagnostic), diagnostic)
        codes = {r.code for r in active}
        for suppression in collect(unit.modules, unit.sources):
            suppressions.setdefault(
                (suppression.span.file, suppression.span.line, suppression.span.column),
                (suppression, config, codes),
            )
    kept = apply(list(found.values()), [s for s, _, _ in suppressions.values()])
    report.suppressed = len(found) - len(kept)
    l900 = RULES[UNUSED_SUPPRESSION]
    for suppression, config, codes in suppressions.values():
        if not config.enabled(l900):
            continue
        file = suppression.span.file
        here = {c for c in codes if not config.ignored_in(file, c)}
        for finding in unused(suppression, here):
            diagnostic = _diagnostic(l900, finding, config)
            if not config.ignored_in(file, l900.code):
                kept.append(diagnostic)
    report.diagnostics = sorted(kept, key=lambda d: d.sort_key)
    report.rules = [RULES[c] for c in sorted(ran)]
    return report


def _key(diagnostic: Diagnostic) -> tuple:
    # A file imported by several units is reported once.
    return (diagnostic.code, diagnostic.span, diagnostic.message)


def _diagnostic(rule: Rule, finding: Finding, config: Config) -> Diagnostic:
    severity = finding.severity or config.level(rule) or rule.level
    return Diagnostic(rule.code, severity, finding.message, finding.span, finding.hint)


def _entry_files(path: Path) -> frozenset[str]:
    """The unit's own files, as the loader names them (imports are not its own)."""
    files = sorted(path.glob(f"*{EXTENSION}")) if path.is_dir() else [path]
    return frozenset(display_path(p.resolve()) for p in files)


def _evaluate(policy, data, as_of: date | None):
    from kpirules.engine import evaluate

    return evaluate(policy, data, as_of=as_of)
