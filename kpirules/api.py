"""The Python API: thin functions over the pipeline."""

from __future__ import annotations

from pathlib import Path

from kpirules import model
from kpirules.check import check
from kpirules.diagnostics import Diagnostic, KpiError, has_errors
from kpirules.loader import Unit, load_unit


def check_unit(
    path: str | Path, root: str | Path | None = None
) -> tuple[Unit, model.Policy | None, list[Diagnostic]]:
    """Load and check one policy unit (a folder of .kpi files, or one file)."""
    unit = load_unit(path, Path(root) if root else None)
    if has_errors(unit.diagnostics):
        return unit, None, sorted(unit.diagnostics, key=lambda d: d.sort_key)
    policy, diagnostics = check(unit.modules, str(unit.root))
    return unit, policy, sorted(unit.diagnostics + diagnostics, key=lambda d: d.sort_key)


def load(path: str | Path, root: str | Path | None = None) -> model.Policy:
    """The checked policy model, or KpiError carrying every diagnostic."""
    _, policy, diagnostics = check_unit(path, root)
    if policy is None:
        raise KpiError(diagnostics)
    return policy


def evaluate(policy: model.Policy | str | Path, data, period: str | None = None, **options):
    """Evaluate a policy (a checked model, or a path to load) against data: a binding
    file, a folder, or a mapping of source name → DataFrame. Returns `Results`."""
    from kpirules.engine import evaluate as run

    if not isinstance(policy, model.Policy):
        policy = load(policy)
    return run(policy, data, period, **options)
