"""Benchmark: the terminal UI with 100,000 people — first paint, filter, search, sort.

Run with `.venv/bin/python bench/bench_tui.py [--people 100000] [--evaluate]`.

What is measured is the UI, not the engine: by default the script builds the results of
the flagship policy (`policies/sales`) for N people directly — totals, ratings, payouts,
actions and indicator scores for four quarters, seeded and vectorised with numpy, shaped
exactly as `kpirules.engine.evaluate` returns them — and opens the app over them
(`ReviewApp.from_session`), headless, with `App.run_test`. With `--evaluate` it generates
raw data with `bench/bench_engine.py`'s generator, loads and evaluates it for real and
reports those times too (at 100,000 people that takes minutes and about 7 GB; see
bench/README.md).

Timed, wall clock (`time.perf_counter`), one run each (the figures are far from the goals):

- first paint: from starting the app (on the People screen, `--screen people`) to the
  table drawn with its first screenful of rows (goal: under 2 s); then switching to the
  Overview (its first time: the rating distribution over every period) and back;
- filter, search, sort on the People screen: from the change to the table refilled and
  the screen refreshed (goal: under 200 ms each);
- opening a person: the first one of a period computes the whole population's peer
  comparison (`kpirules.analysis.comparison`) once; the next one is a lookup.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_engine import DEPARTMENT_SHARES, DEPARTMENTS, ROLE_SHARES, ROLES, _ids  # noqa: E402

POLICY = "policies/sales"
DATA = "policies/sales/data.yaml"
PERIODS = ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
GOAL_PAINT, GOAL_INTERACTION = 2.0, 0.2
RATINGS = ((120, "Outstanding"), (105, "Exceeds"), (90, "Meets"), (70, "Needs improvement"))
ACTION_KINDS = np.array(["recognize", "training", "coaching", "plan"])
ACTION_TITLES = np.array(
    [
        "Sales star of the quarter",
        "Individual learning plan",
        "Order handling review",
        "Performance improvement plan",
    ]
)


def synthetic_results(policy, people: int, seed: int = 2026):
    """Results of `policy` (the sales example) for `people` people, built directly."""
    from kpirules.data import ACCOUNTING_COLUMNS, FINDING_COLUMNS, LoadedData
    from kpirules.results import ACTION_COLUMNS, TOTAL_COLUMNS, Results

    rng = np.random.default_rng(seed)
    n = people
    person = np.arange(n)
    role = rng.choice(3, size=n, p=ROLE_SHARES)
    role[0] = 1
    managers = np.flatnonzero(role == 1)
    manager_of = np.where(role == 1, -1, rng.choice(managers, size=n))
    department = rng.choice(len(DEPARTMENTS), size=n, p=DEPARTMENT_SHARES)
    department = np.where(role == 1, department, department[np.maximum(manager_of, 0)])
    ids = _ids("E", person + 1, 7).to_numpy()
    names = _ids("Employee ", person + 1, 7).to_numpy()
    roster = pd.DataFrame(
        {
            "employee_id": ids,
            "name": names,
            "department": DEPARTMENTS[department],
            "role": ROLES[role],
            "manager_id": np.where(manager_of >= 0, ids[np.maximum(manager_of, 0)], None),
        }
    )
    carded = np.flatnonzero(role != 2)  # sales_ops have no scorecard
    cards = np.where(role == 1, "sales_manager", "sales_rep")
    # One row per person on a scorecard and quarter, ordered as the engine orders them.
    who = np.repeat(carded, len(PERIODS))
    quarter = np.tile(np.arange(len(PERIODS)), len(carded))
    total = np.clip(rng.normal(100, 25, len(who)), 0, 150).round(6)
    rating = np.select([total >= limit for limit, _ in RATINGS], [r for _, r in RATINGS], "")
    rating = np.where(rating == "", "Unsatisfactory", rating)
    base = pd.DataFrame(
        {
            "subject": ids[who],
            "period": np.array(PERIODS)[quarter],
            "scorecard": cards[who],
        }
    )
    totals = base.assign(
        name=names[who],
        department=DEPARTMENTS[department[who]],
        role=ROLES[role[who]],
        manager=roster["manager_id"].to_numpy()[who],
        total=total,
        rating=rating,
        status="complete",
    )[TOTAL_COLUMNS]
    incentive = np.where(base["scorecard"] == "sales_manager", "manager_bonus", "quarterly_bonus")
    amount = np.where(total >= 70, rng.uniform(2_000, 25_000, len(who)).round(2), 0.0)
    payouts = base.assign(
        incentive=incentive,
        gate_passed=total >= 70,
        amount_before_limits=amount,
        capped=False,
        prorate_factor=1.0,
        amount=amount,
    )[
        [
            "subject",
            "period",
            "incentive",
            "scorecard",
            "gate_passed",
            "amount_before_limits",
            "capped",
            "prorate_factor",
            "amount",
        ]
    ]
    fired = rng.random(len(who)) < 0.35
    kind = rng.integers(0, len(ACTION_KINDS), len(who))[fired]
    actions = base[fired].assign(
        origin="improvement",
        kind=ACTION_KINDS[kind],
        title=ACTION_TITLES[kind],
        owner=np.where(kind == 0, None, roster["manager_id"].to_numpy()[who[fired]]),
        due=np.where(kind == 0, None, "2027-03-31"),
        reason='rating in ["Needs improvement", "Unsatisfactory"]',
        rule="policies/sales/incentives.kpi:39",
    )[ACTION_COLUMNS]
    scores = []
    for card in policy.scorecards.values():
        rows = base[base["scorecard"] == card.name]
        for entry in card.entries:
            target = next((float(p.value) for p in entry.scoring.points if p.kind == "target"), 1)
            value = (target * rng.lognormal(0, 0.35, len(rows))).round(6)
            score = np.clip(rng.normal(100, 30, len(rows)), 0, 150).round(6)
            weight = float(entry.weight)
            scores.append(
                rows.assign(
                    indicator=entry.indicator,
                    value=value,
                    score=score,
                    weight=weight,
                    effective_weight=weight,
                    contribution=(score * weight).round(6),
                )
            )
    scores = pd.concat(scores).sort_values(["subject", "period", "scorecard", "indicator"])
    scores = scores.reset_index(drop=True)
    indicators = scores[["subject", "period", "indicator", "value"]].drop_duplicates(
        ["subject", "period", "indicator"]
    )
    results = Results(
        policy,
        periods=list(PERIODS),
        indicators=indicators.reset_index(drop=True),
        scores=scores,
        totals=totals.reset_index(drop=True),
        payouts=payouts.reset_index(drop=True),
        actions=actions.reset_index(drop=True),
        quality=pd.DataFrame(columns=FINDING_COLUMNS),
        accounting=pd.DataFrame(columns=ACCOUNTING_COLUMNS),
    )
    loaded = LoadedData(
        {"employees": roster},
        pd.DataFrame(columns=FINDING_COLUMNS),
        pd.DataFrame(columns=ACCOUNTING_COLUMNS),
        {},
        False,
    )
    return results, loaded


def evaluated_results(policy, people: int):
    """Generate raw data (bench_engine's generator), load it and evaluate it for real."""
    from bench.bench_engine import generate
    from kpirules.data import load_data
    from kpirules.engine import evaluate

    frames = generate(people)
    started = time.perf_counter()
    loaded = load_data(policy, frames, as_of=date(2027, 1, 4))
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    results = evaluate(policy, loaded)
    return results, loaded, load_s, time.perf_counter() - started


async def measure(session) -> dict[str, float]:
    from kpirules.tui.app import ReviewApp
    from kpirules.tui.screens.overview import OverviewScreen
    from kpirules.tui.screens.people import PeopleScreen
    from kpirules.tui.screens.person import PersonScreen

    times: dict[str, float] = {}
    # The app opened on the People screen (`kpirules tui … --screen people`).
    app = ReviewApp.from_session(session, start="people")
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        while not isinstance(app.screen, PeopleScreen) or not app.screen.table.row_count:
            await pilot.pause()
        await pilot.pause()
        times["first paint: people (from app start)"] = time.perf_counter() - started
        mark = time.perf_counter()
        await pilot.press("1")
        while not isinstance(app.screen, OverviewScreen):
            await pilot.pause()
        await pilot.pause()
        times["switch to the overview (first time)"] = time.perf_counter() - mark
        mark = time.perf_counter()
        await pilot.press("3")
        await pilot.pause()
        times["switch back to people"] = time.perf_counter() - mark
        await app.workers.wait_for_complete()  # the overview's lint, in its thread
        screen = app.screen

        async def timed(label: str, change) -> None:
            mark = time.perf_counter()
            change()
            screen._apply()
            await pilot.pause()  # the refreshed screen drawn
            times[label] = time.perf_counter() - mark

        def department():
            screen.filters = {"department": "Key Accounts"}

        def rating():
            screen.filters = {"department": "Key Accounts", "rating": "Exceeds"}

        def unfilter():
            screen.filters = {}

        def search():
            screen.query_text = "employee 00012"

        def unsearch():
            screen.query_text = ""

        def by_total():
            screen.sort = ("total", True)

        def by_name():
            screen.sort = ("name", False)

        await timed("filter: department", department)
        await timed("filter: department + rating", rating)
        await timed("filter: cleared", unfilter)
        await timed("search: 'employee 00012'", search)
        await timed("search: cleared", unsearch)
        await timed("sort: total (first time)", by_total)
        await timed("sort: name (first time)", by_name)
        await timed("sort: total (cached order)", by_total)
        shown = len(screen.view)

        mark = time.perf_counter()
        await pilot.press("pagedown")
        await pilot.pause()
        times["page down"] = time.perf_counter() - mark

        for label in ("open a person (computes the period's peers)", "open the next person"):
            mark = time.perf_counter()
            await pilot.press("enter")
            while not isinstance(app.screen, PersonScreen):
                await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            times[label] = time.perf_counter() - mark
            await pilot.press("escape", "down")
            await pilot.pause()
    times["_rows"] = shown
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument(
        "--evaluate", action="store_true", help="generate, load and evaluate data for real"
    )
    args = parser.parse_args()

    import kpirules
    from kpirules.tui.session import Session

    policy = kpirules.load(ROOT / POLICY)
    print(f"people: {args.people:,}")
    started = time.perf_counter()
    if args.evaluate:
        results, loaded, load_s, evaluate_s = evaluated_results(policy, args.people)
        print(f"load (load_data): {load_s:.2f} s")
        print(f"evaluation (evaluate, every period): {evaluate_s:.2f} s")
    else:
        results, loaded = synthetic_results(policy, args.people)
        print(
            f"results built directly in {time.perf_counter() - started:.2f} s "
            "(no evaluation; --evaluate runs one)"
        )
    print(f"rows: {len(results.totals):,} totals, {len(results.scores):,} scores")
    session = Session(POLICY, DATA, policy, loaded, results, PERIODS[-1], date(2027, 1, 4))
    times = asyncio.run(measure(session))
    times.pop("_rows")
    width = max(len(k) for k in times)
    for label, seconds in times.items():
        goal = ""
        if label.startswith("first paint: people"):
            goal = f"  (goal < {GOAL_PAINT:g} s: {'met' if seconds < GOAL_PAINT else 'MISSED'})"
        elif label.startswith(("filter", "search", "sort")):
            ms = GOAL_INTERACTION * 1000
            goal = f"  (goal < {ms:.0f} ms: {'met' if seconds < GOAL_INTERACTION else 'MISSED'})"
        print(f"{label:<{width}}  {seconds * 1000:8.0f} ms{goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
