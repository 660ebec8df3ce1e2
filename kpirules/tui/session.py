"""One review session: check the policy, load the data, evaluate once.

This is what the TUI's loading worker runs. Everything that can go wrong with the
user's input becomes a `SessionError` carrying the diagnostics as text, which the error
screen shows; nothing here knows about Textual.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import pandas as pd

from kpirules import model
from kpirules.api import check_unit
from kpirules.data import DataError, LoadedData, load_data
from kpirules.diagnostics import Severity, render_text
from kpirules.results import Results

# progress(stage, done, total): a stage name and how far it is.
Progress = Callable[[str, int, int], None]


class SessionError(Exception):
    """The policy or the data cannot be reviewed; `text` says why, in full."""

    def __init__(self, title: str, text: str):
        super().__init__(title)
        self.title = title
        self.text = text


@dataclass
class Session:
    policy_path: str
    data_path: str
    policy: model.Policy
    loaded: LoadedData
    results: Results
    initial_period: str
    as_of: date | None = None
    timings: dict[str, float] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)
    # Explanations run in workers (the Person screen's preview, the Explanation screen):
    # one at a time, as the explainer was not written for threads.
    _explaining: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def periods(self) -> list[str]:
        return list(self.results.periods)

    @property
    def currency(self) -> str | None:
        return self.policy.header.currency if self.policy.header else None

    @cached_property
    def explainer(self):
        from kpirules.trace import Explainer

        return Explainer.from_results(self.policy, self.loaded, self.results)

    def explain(self, subject: str, period: str, indicator: str | None = None):
        """`kpirules explain` for one person and period (one indicator, or everything),
        once: the Person screen's preview and the Explanation screen share it."""
        with self._explaining:
            return self.cached(
                ("explain", subject, period, indicator),
                lambda: self.explainer.explain(subject, period, indicator),
            )

    @property
    def names(self) -> pd.Series:
        """Roster key → display name."""
        from kpirules.tui.figures import roster_names

        return self.cached("names", lambda: roster_names(self.policy, self.loaded.frames))

    def cached(self, key, compute: Callable):
        """Memoise a derived frame (per period, say); the results never change."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


def open_session(
    policy_path: str,
    data_path: str,
    period: str | None = None,
    *,
    as_of: date | None = None,
    progress: Progress | None = None,
) -> Session:
    """Check, load and evaluate; raise SessionError with the diagnostics when any fails."""
    from kpirules.engine import EvaluationError, evaluate

    def report(stage: str, done: int = 0, total: int = 1) -> None:
        if progress:
            progress(stage, done, total)

    timings: dict[str, float] = {}
    started = time.perf_counter()
    report("checking the policy")
    unit, policy, diagnostics = check_unit(policy_path)
    if policy is None:
        errors = sum(d.severity == Severity.ERROR for d in diagnostics)
        text = "\n\n".join(render_text(d, unit.sources) for d in diagnostics)
        raise SessionError(
            f"The policy {policy_path} does not check: {errors} error{'s' * (errors != 1)}",
            text or "no .kpi files found",
        )
    if policy.header is None:
        raise SessionError(
            f"{policy_path} is a library, not a policy",
            "It declares no `policy { … }` header, so there is nothing to evaluate.",
        )
    timings["check"] = time.perf_counter() - started

    report("reading the data")
    started = time.perf_counter()
    try:
        loaded = load_data(policy, data_path, as_of=as_of)
    except DataError as exc:
        raise SessionError(f"The data {data_path} cannot be read", "\n".join(exc.problems)) from exc
    timings["load"] = time.perf_counter() - started
    if loaded.blocked:
        raise SessionError("Data-quality errors stopped the run", _findings_text(loaded.findings))

    started = time.perf_counter()
    try:
        # Every period at once (or every one up to --period): switching periods in the UI
        # is then a filter, never a second evaluation.
        results = evaluate(
            policy,
            loaded,
            period,
            history=True,
            progress=lambda done, total: report("evaluating", done, total),
        )
    except EvaluationError as exc:
        raise SessionError("The policy cannot be evaluated on this data", str(exc)) from exc
    timings["evaluate"] = time.perf_counter() - started
    # What the screens draw comes from these tables: no control character from the data
    # reaches the terminal (a name holding ESC ] 0 ; … BEL would retitle the window).
    _neutralise(loaded, results)
    if not results.periods:
        raise SessionError("Nothing to review", "The evaluation reported no period.")
    return Session(
        policy_path,
        data_path,
        policy,
        loaded,
        results,
        period or latest_period(results),
        as_of,
        timings,
    )


def _neutralise(loaded, results: Results) -> None:
    from kpirules.text import neutralise_frame

    loaded.frames = {name: neutralise_frame(frame) for name, frame in loaded.frames.items()}
    loaded.findings = neutralise_frame(loaded.findings)
    for part in ("indicators", "scores", "totals", "payouts", "actions", "notes", "goals"):
        setattr(results, part, neutralise_frame(getattr(results, part)))
    results.quality = neutralise_frame(results.quality)


def latest_period(results: Results) -> str:
    """The last period in which anyone has a total: where a review usually starts."""
    totals = results.totals
    scored = totals.loc[totals["total"].notna(), "period"] if len(totals) else pd.Series()
    present = set(scored)
    return next((p for p in reversed(results.periods) if p in present), results.periods[-1])


def _findings_text(findings: pd.DataFrame) -> str:
    errors = findings[findings["severity"] == "error"]
    lines = []
    for row in errors.itertuples(index=False):
        where = row.file + (f":{int(row.row)}" if not pd.isna(row.row) else "")
        column = f" [{row.column}]" if isinstance(row.column, str) and row.column else ""
        lines.append(f"{where}{column}: {row.check}: {row.message}")
    others = findings["severity"][findings["severity"] != "error"].value_counts()
    if len(others):
        words = {"warning": ("warning", "warnings"), "info": ("note", "notes")}
        counts = ", ".join(
            f"{others[severity]} {words[severity][int(others[severity] != 1)]}"
            for severity in words
            if severity in others
        )
        lines.append(f"\n(and {counts}; see `kpirules eval`)")
    return "\n".join(lines)
