"""Benchmark: explaining one person against evaluating everyone, 10,000 to 100,000 people.

Run with `.venv/bin/python bench/bench_explain.py [--sizes 10000,100000] [--engine pandas]`
(default: the DuckDB runner, as the CLI).

For each size N the script generates the flagship policy's data as `bench_engine.py`
does (seeded), loads it once (`load_data`, not timed) and then times, in one process,
best of `--repeats`:

- `evaluate`: a full evaluation of everyone (what explain did before it ran one person);
- `explain indicator`: `Explainer(policy, loaded).explain(person, period, indicator)`;
- `explain everything`: the same with no indicator, so the goals of the person's groups
  (computed from those groups' rows) are included.

It checks that the explanation's totals equal the full evaluation's for that person
(exit 1 otherwise) and prints each time and its ratio to the full evaluation. Goal: one
indicator explained in under 2 s at 100,000 people.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_engine import POLICY_DIR, generate  # noqa: E402

import kpirules  # noqa: E402
from kpirules.data import load_data  # noqa: E402
from kpirules.engine import evaluate, use_runner  # noqa: E402
from kpirules.trace import Explainer  # noqa: E402

PERIOD = "2026-Q4"
INDICATOR = "quarterly_revenue"  # on both scorecards
GOAL_SECONDS = 2.0


def best(repeats: int, run):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure(people: int, repeats: int) -> tuple[float, bool]:
    policy = kpirules.load(POLICY_DIR)
    frames = generate(people)
    rows = sum(len(frame) for name, frame in frames.items() if name != "employees")
    loaded = load_data(policy, frames)
    person = str(frames["employees"]["employee_id"].iloc[people // 2])
    full, results = best(1, lambda: evaluate(policy, loaded))
    one, _ = best(repeats, lambda: Explainer(policy, loaded).explain(person, PERIOD, INDICATOR))
    everything, trace = best(repeats, lambda: Explainer(policy, loaded).explain(person, PERIOD))
    totals = results.totals
    expected = totals[(totals["subject"] == person) & (totals["period"] == PERIOD)]["total"]
    shown = [s.value for s in trace.children if s.title.startswith("scorecard ")]
    agree = len(shown) == len(expected) and all(
        math.isclose(a, b, rel_tol=1e-9) or (math.isnan(a) and math.isnan(b))
        for a, b in zip(shown, expected, strict=True)
    )
    print(f"people: {people:,}   activity rows: {rows:,}")
    print(f"  evaluate everyone:     {full:6.2f} s")
    print(f"  explain one indicator: {one:6.2f} s  ({one / full:.3f} of evaluate)")
    print(f"  explain everything:    {everything:6.2f} s  ({everything / full:.3f} of evaluate)")
    print(f"  explanation agrees with the full evaluation: {'yes' if agree else 'NO'}")
    return one, agree


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", choices=("duckdb", "pandas"), default="duckdb")
    args = parser.parse_args(argv)
    use_runner(args.engine)  # explain's one-person evaluation and the full one alike
    print(f"runner: {args.engine}")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    ok, one = True, 0.0
    for people in sizes:
        one, agree = measure(people, args.repeats)
        ok &= agree
    print(f"explain one indicator at {sizes[-1]:,} people: {one:.2f} s (goal < {GOAL_SECONDS} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
