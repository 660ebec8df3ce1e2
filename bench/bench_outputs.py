"""Benchmark: what the cycle's outputs cost at 100,000 people — analysis, feedback, workbook, diff.

Run with `.venv/bin/python bench/bench_outputs.py [--people 100000] [--quick]`.

The script generates the flagship policy's raw data (`policies/sales`) for N people with
`bench/bench_engine.py`'s generator, loads it with `load_data` and evaluates every period
once with `kpirules.engine.evaluate`; those two times are printed as context. Then it
times, one run each, wall clock (`time.perf_counter`), on those same results:

- the analyses of everyone: `comparison` (latest period), `trends`, `score_trends`,
  `decompose` (everyone, and one department), `calibration(by="manager")`;
- the feedback sheets: `everyone` + `build_sheets` (what `kpirules feedback -o DIR` does
  for everyone), then rendering 1,000 of them as HTML (per-sheet cost; the cost for
  everyone is estimated from it);
- the HR workbook: `write_report` to a temporary .xlsx (its size is printed);
- the what-if: a second version of the policy with the sales rep's weights changed
  (`new_customers` 30% → 40%, `new_market_share` 25% → 15%; written to a temporary copy of
  `policies/sales`, as `tests/test_diff.py` does), evaluated on the same loaded data
  (context), then `kpirules.whatif.compare` of the two results (timed).

Each measurement also reports how much resident memory it added (the kernel's high-water
mark, reset before each step; see `bench_engine.settle`). A few results are checked so
that nothing is measured empty; the script exits 1 when a check fails. The budgets are
stated for 100,000 people (bench/README.md says why); at smaller sizes they are shown
without a verdict. `--profile STEP[,STEP]` runs those steps under cProfile and prints
their top functions (steps: load, evaluate, comparison, trends, score_trends, decompose,
decompose-department, calibration, feedback-build, feedback-render, workbook,
evaluate-changed, compare).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_engine import DEPARTMENTS, POLICY_DIR, generate, peak, settle  # noqa: E402

DEFAULT_PEOPLE = 100_000
QUICK_PEOPLE = 2_000
AT_SCALE = 100_000  # the budgets are stated for this many people
AS_OF = date(2027, 1, 4)
DEPARTMENT = str(DEPARTMENTS[1])  # "Key Accounts": 15% of the people
HTML_SHEETS = 1_000
STEPS = (  # the names --profile takes
    "load",
    "evaluate",
    "comparison",
    "trends",
    "score_trends",
    "decompose",
    "decompose-department",
    "calibration",
    "feedback-build",
    "feedback-render",
    "workbook",
    "evaluate-changed",
    "compare",
)
# Budgets at 100,000 people, in seconds (see bench/README.md).
ANALYSIS_BUDGET = 10.0
FEEDBACK_BUDGET = 120.0
WORKBOOK_BUDGET = 120.0
WHATIF_BUDGET = 10.0
# The what-if: the sales rep's weights as tests/test_diff.py changes them.
WEIGHT_EDITS = [
    ("scorecards.kpi", "indicator new_customers weight 30%", "indicator new_customers weight 40%"),
    (
        "scorecards.kpi",
        "indicator new_market_share weight 25% {\n    threshold 10% => 50\n"
        "    target 20% => 100\n    stretch 30% => 150\n  }\n  indicator "
        "quarterly_revenue weight 20%",
        "indicator new_market_share weight 15% {\n    threshold 10% => 50\n"
        "    target 20% => 100\n    stretch 30% => 150\n  }\n  indicator "
        "quarterly_revenue weight 20%",
    ),
]


class Bench:
    """Runs the steps, keeps one line per measurement and the failed sanity checks."""

    def __init__(self, people: int, profile: set[str]):
        self.people = people
        self.profile = profile
        self.highest = 0.0  # the largest resident size seen (MB); settle() resets VmHWM
        self.highest_in = ""
        self.lines: list[tuple[str, str, str]] = []  # label, figure, goal
        self.problems: list[str] = []

    def time(self, label: str, step: Callable[[], object]) -> tuple[object, float, float]:
        """Run `step` once: (its result, seconds, MB added above the resident size before)."""
        if peak() > self.highest:  # generating the data, or a check after the last step
            self.highest, self.highest_in = peak(), f"before {label}"
        base = settle()
        profiler = cProfile.Profile() if label in self.profile else None
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        result = step()
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - start
        if peak() > self.highest:
            self.highest, self.highest_in = peak(), label
        added = peak() - base
        if profiler:
            print(f"\n--- cProfile: {label} ({seconds:.2f} s with the profiler on) ---")
            stats = pstats.Stats(profiler).strip_dirs()
            stats.sort_stats("cumulative").print_stats(25)
            stats.sort_stats("tottime").print_stats(15)
        return result, seconds, added

    def record(
        self,
        label: str,
        seconds: float,
        added_mb: float | None,
        budget: float | None,
        note: str = "",
    ) -> None:
        memory = f"{added_mb:7.0f} MB" if added_mb is not None else " " * 10
        figure = f"{seconds:8.2f} s {memory}"
        goal = ""
        if budget is not None:
            if self.people >= AT_SCALE:
                verdict = "met" if seconds < budget else "MISSED"
                goal = f"(goal < {budget:g} s: {verdict})"
            else:
                goal = f"(goal < {budget:g} s at {AT_SCALE:,} people)"
        if note:
            goal = f"{note}  {goal}" if goal else note
        self.lines.append((label, figure, goal))
        print(f"  {label}: {seconds:.2f} s", flush=True)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)


def _weights_variant(folder: Path) -> Path:
    """A copy of policies/sales (with its data, so that its paths stay inside the copy's
    project root: the temporary folder has no root marker, so the copy is its own root)
    with the sales rep's weights changed."""
    target = folder / "sales"
    shutil.copytree(POLICY_DIR, target)
    for file, old, new in WEIGHT_EDITS:
        path = target / file
        text = path.read_text(encoding="utf-8")
        if text.count(old) != 1:
            raise SystemExit(f"the what-if edit {old!r} must occur once in {file}")
        path.write_text(text.replace(old, new), encoding="utf-8")
    return target


def run(people: int, profile: set[str]) -> int:
    import kpirules
    from kpirules import analysis, whatif
    from kpirules.data import load_data
    from kpirules.engine import evaluate
    from kpirules.feedback import (
        Labels,
        build_sheets,
        everyone,
        language_for,
        render,
        roster_names,
    )
    from kpirules.report import write_report

    bench = Bench(people, profile)
    policy = kpirules.load(POLICY_DIR)
    start = time.perf_counter()
    raw = [generate(people)]  # in a list, so that it can be dropped once loaded
    rows = sum(len(frame) for frame in raw[0].values())
    print(f"generated {rows:,} rows for {people:,} people in {time.perf_counter() - start:.1f} s")

    # ------------------------------------------------------------ context: load, evaluate
    loaded, load_s, load_mb = bench.time("load", lambda: load_data(policy, raw[0], as_of=AS_OF))
    if loaded.blocked or len(loaded.findings):
        print(loaded.findings.head(10).to_string())
        print("the generated data has data-quality findings; no figures")
        return 1
    raw.clear()
    results, eval_s, eval_mb = bench.time("evaluate", lambda: evaluate(policy, loaded))
    latest = results.periods[-1]
    scores = results.scores
    totals = results.totals
    print(
        f"results: {len(results.periods)} periods ({results.periods[0]} to {latest}), "
        f"{len(totals):,} totals, {len(scores):,} scores, {len(results.actions):,} actions"
    )
    context = [
        ("load_data (context)", load_s, load_mb),
        ("evaluate, every period (context)", eval_s, eval_mb),
    ]
    for label, seconds, added in context:
        bench.record(label, seconds, added, None)

    # ------------------------------------------------------------ analysis
    in_latest = scores[scores["period"] == latest]
    frame, seconds, added = bench.time("comparison", lambda: analysis.comparison(results))
    bench.record("analysis: comparison (everyone, latest)", seconds, added, ANALYSIS_BUDGET)
    bench.check(
        len(frame) == len(in_latest) > 0,
        f"comparison: {len(frame):,} rows, expected one per score in {latest} ({len(in_latest):,})",
    )
    bench.check(
        frame["peer_median"].notna().any(), "comparison: no peer median computed for anyone"
    )

    frame, seconds, added = bench.time("trends", lambda: analysis.trends(results))
    bench.record("analysis: trends (everyone)", seconds, added, ANALYSIS_BUDGET)
    series = scores.drop_duplicates(["subject", "scorecard", "indicator"])
    bench.check(
        len(frame) == len(series) > 0,
        f"trends: {len(frame):,} rows, expected one per person and indicator ({len(series):,})",
    )

    frame, seconds, added = bench.time("score_trends", lambda: analysis.score_trends(results))
    bench.record("analysis: score_trends (everyone)", seconds, added, ANALYSIS_BUDGET)
    cards = totals.drop_duplicates(["subject", "scorecard"])
    bench.check(
        len(frame) == len(cards) > 0,
        f"score_trends: {len(frame):,} rows, expected one per person and scorecard "
        f"({len(cards):,})",
    )

    def check_decomposition(frame, what: str) -> None:
        if frame.empty:
            bench.problems.append(f"decompose ({what}): no lines")
            return
        for card, lines in frame.groupby("scorecard"):
            change = lines["change"].sum()
            moved = lines["total"].iloc[0] - lines["base_total"].iloc[0]
            bench.check(
                abs(change - moved) < 1e-6,
                f"decompose ({what}), {card}: the lines add up to {change}, the total moved "
                f"{moved}",
            )

    frame, seconds, added = bench.time("decompose", lambda: analysis.decompose(results))
    bench.record("analysis: decompose (everyone)", seconds, added, ANALYSIS_BUDGET)
    check_decomposition(frame, "everyone")
    frame, seconds, added = bench.time(
        "decompose-department", lambda: analysis.decompose(results, department=DEPARTMENT)
    )
    bench.record(f"analysis: decompose ({DEPARTMENT})", seconds, added, ANALYSIS_BUDGET)
    check_decomposition(frame, DEPARTMENT)

    frame, seconds, added = bench.time(
        "calibration", lambda: analysis.calibration(results, by="manager")
    )
    bench.record("analysis: calibration (by manager)", seconds, added, ANALYSIS_BUDGET)
    rated = int(totals.loc[totals["period"] == latest, "rating"].notna().sum())
    counted = int(frame["count"].sum())
    bench.check(
        counted == rated > 0,
        f"calibration: counts {counted:,} people, {rated:,} are rated in {latest}",
    )

    # ------------------------------------------------------------ feedback sheets
    names = roster_names(policy, loaded.frames)
    labels = Labels(language_for(policy.header.locale if policy.header else None))

    def build():
        return build_sheets(results, everyone(results), names=names)

    sheets, build_s, added = bench.time("feedback-build", build)
    bench.record("feedback: build every sheet", build_s, added, None, f"{len(sheets):,} sheets")
    evaluated = totals["subject"].nunique()
    bench.check(
        len(sheets) == evaluated > 0,
        f"feedback: {len(sheets):,} sheets for {evaluated:,} people evaluated",
    )
    sample = sheets[:: max(1, len(sheets) // HTML_SHEETS)][:HTML_SHEETS]
    stamp = AS_OF.isoformat()

    render(sample[:1], "html", labels, as_of=stamp)  # compiles the template, as once per run

    def render_sample():
        return [render([sheet], "html", labels, as_of=stamp) for sheet in sample]

    pages, render_s, added = bench.time("feedback-render", render_sample)
    per_sheet = render_s / max(len(sample), 1)
    bench.record(
        f"feedback: render {len(sample):,} sheets as HTML",
        render_s,
        added,
        None,
        f"{per_sheet * 1000:.1f} ms a sheet, "
        f"{sum(map(len, pages)) / max(len(pages), 1) / 1024:.0f} KB each",
    )
    bench.check(
        all(page.lstrip().lower().startswith("<!doctype html") for page in pages)
        and all(sheet.person.subject in page for sheet, page in zip(sample, pages)),
        "feedback: a rendered sheet is not an HTML page naming its person",
    )
    everyone_s = build_s + per_sheet * len(sheets)
    bench.record(
        "feedback: everyone, build + render (estimated)", everyone_s, None, FEEDBACK_BUDGET
    )
    del sheets, pages

    # ------------------------------------------------------------ workbook
    with tempfile.TemporaryDirectory(prefix="kpirules-bench-") as name:
        path = Path(name) / "report.xlsx"
        roster = loaded.frames[policy.roster.name]
        _, seconds, added = bench.time(
            "workbook", lambda: write_report(results, path, as_of=AS_OF, roster=roster)
        )
        size = path.stat().st_size if path.exists() else 0
        bench.record(
            "workbook: write_report (.xlsx)",
            seconds,
            added,
            WORKBOOK_BUDGET,
            f"{size / 1e6:.1f} MB",
        )
        smallest = 10 * people  # about 1 MB at 100,000 people
        bench.check(size > smallest, f"workbook: {size:,} bytes, expected more than {smallest:,}")
        if path.exists():
            with zipfile.ZipFile(path) as book:
                tabs = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
            expected = len(policy.scorecards) + 4  # summary, cards, actions, goals, quality
            bench.check(len(tabs) == expected, f"workbook: {len(tabs)} sheets, expected {expected}")

    # ------------------------------------------------------------ what-if
    with tempfile.TemporaryDirectory(prefix="kpirules-bench-") as name:
        changed = kpirules.load(_weights_variant(Path(name)))
    if whatif.data_signature(changed) != whatif.data_signature(policy):
        raise SystemExit("the what-if version reads the data differently; it cannot share it")
    # As `evaluate_both` does: the same loaded data, evaluated by the second version.
    other, seconds, added = bench.time("evaluate-changed", lambda: evaluate(changed, loaded))
    bench.record("what-if: evaluate the new version (context)", seconds, added, None)
    diff, seconds, added = bench.time("compare", lambda: whatif.compare(results, other))
    summary = diff.summary
    bench.record(
        "what-if: compare the two results",
        seconds,
        added,
        WHATIF_BUDGET,
        f"{summary.total_changed:,} totals, {summary.rating_changed:,} ratings changed",
    )
    bench.check(
        summary.compared == len(totals) and summary.added == summary.removed == 0,
        f"what-if: compared {summary.compared:,} of {len(totals):,} rows "
        f"({summary.added} added, {summary.removed} removed)",
    )
    reps = int((totals["scorecard"] == "sales_rep").sum())
    bench.check(
        0 < summary.total_changed <= reps,
        f"what-if: {summary.total_changed:,} totals changed, expected some of the "
        f"{reps:,} sales rep rows",
    )

    # ------------------------------------------------------------ report
    print(f"\npeople: {people:,}   machine: see bench/README.md")
    print("one run each; seconds and resident memory added above the baseline")
    width = max(len(label) for label, _, _ in bench.lines)
    for label, figure, goal in bench.lines:
        print(f"{label:<{width}}  {figure}  {goal}".rstrip())
    print(f"largest resident size: {bench.highest / 1024:.1f} GB (during {bench.highest_in})")
    if bench.problems:
        print("FAILED sanity checks:")
        for problem in bench.problems:
            print(f"  {problem}")
        return 1
    print("sanity checks: all passed")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PEOPLE:,} people")
    parser.add_argument(
        "--profile",
        metavar="STEP[,STEP]",
        default="",
        help="run these steps under cProfile (e.g. workbook,feedback-build)",
    )
    args = parser.parse_args(argv[1:])
    people = QUICK_PEOPLE if args.quick else args.people
    if people < 10:
        parser.error("--people is a number of people, at least 10")
    profile = {step.strip() for step in args.profile.split(",") if step.strip()}
    if unknown := profile - set(STEPS):
        parser.error(f"--profile: unknown step {sorted(unknown)}; steps: {', '.join(STEPS)}")
    return run(people, profile)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
