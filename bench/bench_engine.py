"""Benchmark: the evaluation engine against a hand-written pandas version of the same policy.

Run with `.venv/bin/python bench/bench_engine.py [--sizes 1000,10000,100000] [--quick]`.

For each size N the script generates realistic, seeded data for the flagship policy
(`policies/sales`): a roster of N people and about 100 activity rows per person per year
(orders, training records, survey responses) across the policy's effective range, 2026.
It writes the raw tables to Parquet once, then measures two sides, each in a fresh
subprocess so that their memory peaks do not mix:

- engine: `load_data(policy, frames)` (timed as "load"), then `evaluate(policy, loaded)`
  on the pandas runner (the reference);
- duckdb: the same, on the DuckDB runner (`kpirules.engine.sql`: the reads as SQL);
- pandas: the same `load_data`, then the policy written out by hand in pandas/numpy, from
  the same typed frames `loaded.frames`.

Both sides compute everything the policy asks for: the six indicators per person and
quarter, curve scores, weighted totals with the missing rules, the gate, cap and floor,
ratings, both incentives (gate, pay, tiers, cap, proration, rounding), the improvement
and recognition actions, goal attainment for the Sales department and objective
attainment. The engine additionally builds its tidy report tables (long format, sorted,
period labels, roster columns on totals, effective weights and contributions, notes);
the hand-written side returns plain frames. The script then checks that both agree
(values, scores, totals, ratings, statuses, payouts, actions, goals, objectives) and exits
1 if they do not. The last line is `engine/pandas time ratio: R` for the largest size run.

Peak memory: each subprocess reads the Parquet files and loads the data, then collects
garbage, returns free memory to the OS (Arrow's pool, then `malloc_trim`), resets the
kernel's high-water mark of its resident set (`/proc/self/clear_refs`) and takes its
resident size as the baseline; the peak is the high-water mark (`VmHWM`) after the
computation minus that baseline. Without /proc (not Linux) it falls back to `ru_maxrss`.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

POLICY_DIR = ROOT / "policies" / "sales"
SEED = 2026
DEFAULT_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 5_000)
SOURCES = ("employees", "orders", "training", "upward_feedback")
GOAL_RATIO = 1.5
GOAL_MEMORY = 2.0

# ------------------------------------------------------------------ data generation

YEAR = 2026
YEAR_START = np.datetime64(f"{YEAR}-01-01")
YEAR_END = np.datetime64(f"{YEAR}-12-31")
HISTORY_START = np.datetime64(f"{YEAR - 1}-04-01")  # `over last 4 periods` reads back to it
DAYS_IN_YEAR = int((YEAR_END - YEAR_START).astype(int)) + 1
ROLES = np.array(["sales_rep", "sales_manager", "sales_ops"])
ROLE_SHARES = (0.80, 0.12, 0.08)
DEPARTMENTS = np.array(["Sales", "Key Accounts", "Channel Sales", "Inside Sales"])
DEPARTMENT_SHARES = (0.55, 0.15, 0.15, 0.15)
ORDERS_PER_YEAR = np.array([110.0, 60.0, 8.0])  # by role, as ROLES
TRAINING_PER_YEAR = 10.0
SURVEYS_PER_YEAR = 3.5  # responses per person with a manager
COURSES = np.array(
    [
        "Solution selling",
        "Negotiation",
        "Export compliance",
        "Product update 2026",
        "Key account planning",
        "CRM hygiene",
        "Pricing and discounts",
        "Objection handling",
        "Coaching conversations",
        "Leading sales teams",
        "Forecasting",
        "Contract basics",
    ]
)
COURSE_HOURS = np.array([2.0, 4.0, 8.0, 8.0, 16.0, 16.0, 24.0])


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.Series:
    """Text ids such as E0000042, vectorised."""
    digits = pd.Series(numbers).astype("str").str.zfill(width)
    return (prefix + digits).astype("str")


def _days_in_span(rng, start: np.ndarray, span: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """A uniformly random day inside each owner's employment span in the year."""
    offsets = np.floor(rng.random(len(owner)) * span[owner]).astype("int64")
    return start[owner] + offsets.astype("timedelta64[D]")


def generate(people: int, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Raw tables for the sales policy: a roster of `people` and their 2026 activity."""
    rng = np.random.default_rng(seed)
    n = people
    person = np.arange(n)
    role_code = rng.choice(3, size=n, p=ROLE_SHARES)
    role_code[0] = 1  # at least one manager
    managers = np.flatnonzero(role_code == 1)
    department_of = rng.choice(len(DEPARTMENTS), size=n, p=DEPARTMENT_SHARES)
    manager_of = np.where(role_code == 1, -1, rng.choice(managers, size=n))
    department_of = np.where(role_code == 1, department_of, department_of[manager_of])
    employee_id = _ids("E", person + 1, 7)

    # 85% hired before the year, 15% during it; 6% leave during the year.
    early = rng.random(n) < 0.85
    hired = np.where(
        early,
        np.datetime64("2012-01-01") + rng.integers(0, 5113, n).astype("timedelta64[D]"),
        YEAR_START + rng.integers(1, 330, n).astype("timedelta64[D]"),
    )
    start = np.maximum(hired, YEAR_START)
    leaves = rng.random(n) < 0.06
    left = start + rng.integers(30, 365, n).astype("timedelta64[D]")
    left = np.where(leaves & (left <= YEAR_END), left, np.datetime64("NaT"))
    end = np.where(np.isnat(left), YEAR_END, left)
    span = (end - start).astype("int64") + 1  # days employed in the year, at least 31
    share_of_year = span / DAYS_IN_YEAR
    salary_low = np.array([12_000, 30_000, 10_000])[role_code]
    salary_high = np.array([35_000, 60_000, 20_000])[role_code]
    salary = np.round(rng.uniform(salary_low, salary_high) / 100) * 100
    employees = pd.DataFrame(
        {
            "employee_id": employee_id,
            "name": _ids("Employee ", person + 1, 7),
            "department": DEPARTMENTS[department_of],
            "role": ROLES[role_code],
            "manager_id": employee_id.to_numpy()[np.maximum(manager_of, 0)],
            "hired_on": hired.astype("datetime64[ns]"),
            "left_on": left.astype("datetime64[ns]"),
            "base_salary": salary,
        }
    )
    employees.loc[manager_of < 0, "manager_id"] = None

    # Orders: each person has their own level, new-market share, hunting rate and speed.
    count = rng.poisson(ORDERS_PER_YEAR[role_code] * share_of_year)
    owner = np.repeat(person, count)
    size = len(owner)
    level = np.log(40_000) + rng.normal(0, 0.35, n)
    new_share = rng.beta(2, 8, n)
    hunting = rng.beta(3, 9, n)
    speed = rng.uniform(1.5, 4.5, n)
    is_new = rng.random(size) < hunting[owner]
    local = np.where(is_new, 1_000 + rng.integers(0, 1_000_000, size), rng.integers(0, 80, size))
    days = np.clip(rng.poisson(speed[owner]), 1, 15).astype("float64")
    days[rng.random(size) < 0.02] = np.nan  # not dispatched yet
    closed = _days_in_span(rng, start, span, owner)
    order = np.argsort(closed, kind="stable")  # a CRM export: by closing date
    orders = pd.DataFrame(
        {
            "order_id": _ids("O", np.arange(1, size + 1), 9),
            "rep_id": employee_id.to_numpy()[owner[order]],
            "customer_id": (
                employee_id.to_numpy()[owner] + "-C" + pd.Series(local).astype("str").to_numpy()
            )[order],
            "closed_on": closed[order].astype("datetime64[ns]"),
            "amount": np.round(np.exp(level[owner] + rng.normal(-0.18, 0.6, size)), 2)[order],
            "market": np.where(rng.random(size) < new_share[owner], "new", "core")[order],
            "new_customer": is_new[order],
            "processing_days": days[order],
        }
    )

    # Training: assessed courses, most of them passed; with the three quarters before the
    # year as history, which the rolling-year indicator reads.
    learning_start = np.maximum(hired, HISTORY_START)
    learning_span = (end - learning_start).astype("int64") + 1
    count = rng.poisson(TRAINING_PER_YEAR * learning_span / DAYS_IN_YEAR)
    owner = np.repeat(person, count)
    size = len(owner)
    completed = _days_in_span(rng, learning_start, learning_span, owner)
    training = pd.DataFrame(
        {
            "record_id": _ids("T", np.arange(1, size + 1), 8),
            "employee_id": employee_id.to_numpy()[owner],
            "completed_on": completed.astype("datetime64[ns]"),
            "course": COURSES[rng.integers(0, len(COURSES), size)],
            "hours": COURSE_HOURS[rng.integers(0, len(COURSE_HOURS), size)],
            "passed": rng.random(size) < 0.85,
        }
    )

    # Upward feedback: people with a manager rate their manager's coaching, 1 to 5.
    has_manager = manager_of >= 0
    count = rng.poisson(SURVEYS_PER_YEAR * share_of_year * has_manager)
    owner = np.repeat(person, count)
    size = len(owner)
    coaching = rng.normal(3.9, 0.4, n)
    upward_feedback = pd.DataFrame(
        {
            "response_id": _ids("R", np.arange(1, size + 1), 8),
            "manager_id": employee_id.to_numpy()[manager_of[owner]],
            "submitted_on": _days_in_span(rng, start, span, owner).astype("datetime64[ns]"),
            "coaching_score": np.clip(np.round(rng.normal(coaching[manager_of[owner]], 0.8)), 1, 5),
        }
    )
    return {
        "employees": employees,
        "orders": orders,
        "training": training,
        "upward_feedback": upward_feedback,
    }


# ------------------------------------------------------------------ the policy, by hand
#
# policies/sales written out in pandas/numpy, with its numbers copied from the .kpi files
# (not read from the engine's model), from the typed frames of `load_data`. Periods are
# quarter ordinals (year * 4 + quarter - 1), as the engine numbers them.

PERIODS = np.arange(YEAR * 4, YEAR * 4 + 4)
PERIOD_START = pd.date_range(f"{YEAR}-01-01", periods=4, freq="QS").to_numpy()
PERIOD_END = pd.date_range(f"{YEAR}-03-31", periods=4, freq="QE").to_numpy()
PERIOD_DAYS = (PERIOD_END - PERIOD_START) / np.timedelta64(1, "D") + 1
DECIMALS = 9  # full precision; 9 places at each comparison and before money (§4.8)
INDUSTRY_ORDER_CYCLE = 4.0  # days
# scorecard → indicator → (curve values from threshold to stretch, scores, weight)
CARDS = {
    "sales_rep": {
        "new_customers": ((3, 6, 9), (50, 100, 150), 0.30),
        "new_market_share": ((0.10, 0.20, 0.30), (50, 100, 150), 0.25),
        "quarterly_revenue": ((600_000, 1_200_000, 1_800_000), (50, 100, 150), 0.20),
        "order_cycle": ((5, 3, 2), (50, 100, 120), 0.15),
        "skill_growth": ((16, 32, 48), (50, 100, 120), 0.10),
    },
    "sales_manager": {
        "quarterly_revenue": ((1_500_000, 2_500_000, 3_500_000), (50, 100, 150), 0.30),
        "new_market_share": ((0.10, 0.20, 0.30), (50, 100, 150), 0.25),
        "order_cycle": ((5, 3, 2), (50, 100, 120), 0.15),
        "coaching_quality": ((3.5, 4, 4.5), (50, 100, 120), 0.20),
        "skill_growth": ((16, 32, 48), (50, 100, 120), 0.10),
    },
}
CARD_FLOOR = {"sales_rep": 0.0, "sales_manager": None}
CARD_CAP = 150.0
LOWER_IS_BETTER = {"order_cycle"}
SCORE_WHEN_MISSING = {"skill_growth": 0.0}  # every other entry: reweight
RATING = ((120, "Outstanding"), (105, "Exceeds"), (90, "Meets"), (70, "Needs improvement"))
RATING_OTHERWISE = "Unsatisfactory"
LOW_RATINGS = ["Needs improvement", "Unsatisfactory"]
# goal → (indicator, op, target, deadline quarter, objective); all owned by department Sales
GOALS = {
    "new_market_growth": ("new_market_share", ">=", 0.30, 4, "expand_markets"),
    "win_new_customers": ("new_customers", ">=", 60.0, 2, "expand_markets"),
    "revenue_plan": ("quarterly_revenue", ">=", 12_000_000.0, 4, "revenue_2026"),
    "fast_fulfilment": ("order_cycle", "<=", 3.0, 2, "revenue_2026"),
    "sales_skills": ("skill_growth", ">=", 320.0, 4, "build_capability"),
    "coaching_culture": ("coaching_quality", ">=", 4.0, 4, "build_capability"),
}
GOAL_OWNER = "Sales"


def _quarter(dates: pd.Series) -> pd.Series:
    return (dates.dt.year * 4 + (dates.dt.month - 1) // 3).astype("int64")


def indicators(frames: dict[str, pd.DataFrame], index: pd.MultiIndex, key=None) -> pd.DataFrame:
    """The six indicators on `index` (key × quarter). `key` maps a person to their group
    (None: each person is their own key)."""

    def keys(people: pd.Series) -> pd.Series:
        return people if key is None else people.map(key)

    o = frames["orders"]
    orders = pd.DataFrame(
        {
            "key": keys(o["rep_id"]),
            "period": _quarter(o["closed_on"]),
            "amount": o["amount"],
            "new_amount": o["amount"].where(o["market"] == "new", 0.0),
            "new_customer": o["customer_id"].where(o["new_customer"]),
            "days": o["processing_days"],
        }
    )
    per = orders.groupby(["key", "period"]).agg(
        new_customers=("new_customer", "nunique"),
        new_amount=("new_amount", "sum"),
        quarterly_revenue=("amount", "sum"),
        order_cycle=("days", "mean"),
    )
    per["new_market_share"] = per["new_amount"] / per["quarterly_revenue"].where(
        per["quarterly_revenue"] != 0
    )

    # Passed training hours over the last 4 quarters; missing without any training row.
    t = frames["training"]
    training = pd.DataFrame(
        {
            "key": keys(t["employee_id"]),
            "period": _quarter(t["completed_on"]),
            "hours": t["hours"].where(t["passed"], 0.0),
        }
    )
    grouped = training.groupby(["key", "period"])["hours"]
    quarters = np.arange(PERIODS[0] - 3, PERIODS[-1] + 1)  # with the history
    hours = grouped.sum().unstack(fill_value=0.0).reindex(columns=quarters, fill_value=0.0)
    rows = grouped.size().unstack(fill_value=0).reindex(columns=quarters, fill_value=0)
    rolled_hours = sum(hours.shift(k, axis=1, fill_value=0.0) for k in range(4))
    rolled_rows = sum(rows.shift(k, axis=1, fill_value=0) for k in range(4))
    skill = rolled_hours.where(rolled_rows > 0).stack()

    f = frames["upward_feedback"]
    feedback = pd.DataFrame(
        {
            "key": keys(f["manager_id"]),
            "period": _quarter(f["submitted_on"]),
            "score": f["coaching_score"],
        }
    )
    coaching = feedback.groupby(["key", "period"])["score"].mean()

    columns = ["new_customers", "new_market_share", "quarterly_revenue", "order_cycle"]
    result = per[columns].reindex(index)
    result["skill_growth"] = skill.reindex(index).to_numpy()
    result["coaching_quality"] = coaching.reindex(index).to_numpy()
    return result.astype("float64")


def at9(values) -> np.ndarray:
    """What a comparison sees under the exactness rule: the value at 9 decimal places."""
    return np.round(np.asarray(values, dtype="float64"), DECIMALS)


def curve(values: np.ndarray, xs, ys, lower: bool) -> np.ndarray:
    """Linear between the points, flat beyond the last, 0 before the first (a value is
    before the first point when it is, at 9 decimals)."""
    v, xs = np.asarray(values, dtype="float64"), np.asarray(xs, dtype="float64")
    if lower:
        v, xs = -v, -xs
    scores = np.where(at9(v) < xs[0], 0.0, np.interp(v, xs, ys))
    return np.where(np.isnan(v), np.nan, scores)


def rate(total: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        seen = at9(total)
        rating = np.select([seen >= low for low, _ in RATING], [r for _, r in RATING], "")
    rating = np.where(rating == "", RATING_OTHERWISE, rating).astype(object)
    rating[np.isnan(total)] = None
    return rating


def scorecard(card: str, values: pd.DataFrame) -> pd.DataFrame:
    """Scores, weighted total (missing: reweight, or the entry's score), gate, cap, floor
    and rating of the card's members (`values`: their rows)."""
    entries = CARDS[card]
    scores = pd.DataFrame(
        {
            name: curve(values[name], xs, ys, name in LOWER_IS_BETTER)
            for name, (xs, ys, _) in entries.items()
        },
        index=values.index,
    )
    filled = scores.fillna(SCORE_WHEN_MISSING).to_numpy()
    present = ~np.isnan(filled)
    weights = present * np.array([weight for _, _, weight in entries.values()])
    share = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = weights / share[:, None]
    # Reweighting with no indicator at all gives no total, even where an entry fills in.
    anything = scores.notna().any(axis=1).to_numpy()
    total = np.where((share > 0) & anything, np.nansum(filled * weights, axis=1), np.nan)
    status = np.select(
        [np.isnan(total), present.sum(axis=1) < len(entries), scores["skill_growth"].isna()],
        ["incomplete", "reweighted", "filled"],
        "complete",
    ).astype(object)
    # gate order_cycle <= industry_order_cycle else cap 100 (a missing cycle fails it)
    failed = ~(at9(values["order_cycle"]) <= INDUSTRY_ORDER_CYCLE) & ~np.isnan(total)
    total = np.where(failed, np.minimum(total, 100.0), total)
    status[failed] = status[failed] + ", gate failed"
    total = np.clip(total, CARD_FLOOR[card], CARD_CAP)
    scores = scores.fillna(SCORE_WHEN_MISSING)  # the scores shown: as used in the total
    scores["total"] = total
    scores["rating"] = rate(total)
    scores["status"] = status
    return scores


def held_for(condition: np.ndarray, periods: int) -> np.ndarray:
    """(people × quarters) → held in this quarter and the periods-1 before it."""
    held = condition.copy()
    for k in range(1, periods):
        held[:, k:] &= condition[:, :-k]
        held[:, :k] = False
    return held


def round_money(amount: np.ndarray) -> np.ndarray:
    """half_even to 0.01 from the amount at 9 decimals, in integers: billionths of the
    currency, then cents, a half going to the even cent."""
    missing = np.isnan(amount)
    nano = np.rint(np.where(missing, 0.0, amount) * 1e9).astype("int64")
    cents, rest = np.divmod(nano, 10_000_000)  # floor division: rest in [0, 1e7)
    up = (rest > 5_000_000) | ((rest == 5_000_000) & (cents % 2 == 1))
    return np.where(missing, np.nan, (cents + up) / 100)


def by_hand(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The whole policy, by hand: indicators, scorecards, payouts, actions, goals."""
    roster = frames["employees"].set_index("employee_id").sort_index()
    subjects = roster.index.to_numpy()
    grid = pd.MultiIndex.from_product([subjects, PERIODS], names=["subject", "period"])
    values = indicators(frames, grid)
    quarters = len(PERIODS)
    due_base = pd.to_datetime(PERIOD_END)

    # Share of each quarter employed (both ends count): people × quarters.
    hired = roster["hired_on"].to_numpy()[:, None]
    left = roster["left_on"].fillna(pd.Timestamp(PERIOD_END[-1])).to_numpy()[:, None]
    first = np.maximum(PERIOD_START[None, :], hired)
    last = np.minimum(PERIOD_END[None, :], left)
    employed = np.clip((last - first) / np.timedelta64(1, "D") + 1, 0, None) / PERIOD_DAYS

    cards, pays, actions = [], [], []
    for card in CARDS:
        people = (roster["role"] == card).to_numpy()
        rows = np.repeat(people, quarters)
        mine = values[rows]
        result = scorecard(card, mine)
        factor = employed[people].ravel()
        active = factor > 0  # nobody is scored, rated or paid in a quarter not employed
        cards.append(result[active].assign(scorecard=card))
        total = result["total"].to_numpy()
        salary = np.repeat(roster["base_salary"].to_numpy()[people], quarters)
        if card == "sales_rep":  # quarterly_bonus
            incentive, cap = "quarterly_bonus", 30_000.0
            gate = at9(mine["new_market_share"]) >= 0.10
            raw = salary * 0.5 * np.minimum(total, 150.0) / 100
        else:  # manager_bonus: tiers on score
            incentive, cap = "manager_bonus", 50_000.0
            gate = at9(mine["quarterly_revenue"]) >= 1_500_000
            seen = at9(total)
            with np.errstate(invalid="ignore"):
                tiers = [seen < 90, (seen >= 90) & (seen < 110), seen >= 110]
            raw = np.select(tiers, [0.0, salary * 0.4, salary * 0.6], np.nan)
        amount = np.where(gate, raw, 0.0)
        with np.errstate(invalid="ignore"):
            capped = at9(amount) > cap
        amount = np.where(capped, cap, amount) * factor
        pays.append(
            pd.DataFrame(
                {
                    "incentive": incentive,
                    "gate_passed": gate,
                    "capped": capped,
                    "prorate_factor": factor,
                    "amount": round_money(amount),
                },
                index=mine.index,
            )[active]
        )

        # Actions: (condition on people × quarters, kind, title, owner, within days).
        def wide(column: str, frame: pd.DataFrame = mine) -> np.ndarray:
            return frame[column].to_numpy().reshape(-1, quarters)

        rating = np.where(active, result["rating"], None).reshape(-1, quarters)
        low = (rating == LOW_RATINGS[0]) | (rating == LOW_RATINGS[1])
        outstanding = rating == "Outstanding"
        if card == "sales_rep":
            cycle = wide("order_cycle")
            slower = np.zeros_like(low)
            slower[:, 1:] = at9(cycle[:, 1:]) > at9(cycle[:, :-1])
            few_customers = at9(wide("new_customers")) < 3
            low_share = at9(wide("new_market_share")) < 0.10
            little_training = at9(wide("skill_growth")) < 16
            rules = [
                (outstanding, "recognize", "Sales star of the quarter", None, None),
                (few_customers, "training", "Prospecting fundamentals", "manager", 30),
                (low_share, "coaching", "New-market account planning", "manager", 30),
                (held_for(slower, 3), "coaching", "Order handling review", "manager", 14),
                (little_training, "training", "Individual learning plan", "employee", 90),
                (held_for(low, 2), "plan", "Performance improvement plan", "manager", 60),
            ]
        else:
            promote = "Promotion review: regional sales director"
            weak_coaching = at9(wide("coaching_quality")) < 3.5
            rules = [
                (held_for(outstanding, 2), "nominate", promote, "hr", None),
                (weak_coaching, "training", "Coaching skills for sales leaders", "hr", 60),
                (held_for(low, 2), "plan", "Performance improvement plan", "Head of Sales", 60),
            ]
        manager = np.repeat(roster["manager_id"].to_numpy()[people], quarters)
        for condition, kind, title, owner, within in rules:
            hit = condition.ravel() & active
            keys = mine.index[hit]
            if owner == "manager":
                owners = manager[hit]
            elif owner == "employee":
                owners = keys.get_level_values("subject").to_numpy()
            else:
                owners = owner
            period = keys.get_level_values("period").to_numpy()
            due = None
            if within is not None:
                dates = (due_base + pd.Timedelta(days=within)).strftime("%Y-%m-%d").to_numpy()
                due = dates[period - PERIODS[0]]
            actions.append(
                pd.DataFrame(
                    {
                        "subject": keys.get_level_values("subject"),
                        "period": period,
                        "scorecard": card,
                        "kind": kind,
                        "title": title,
                        "owner": owners,
                        "due": due,
                    }
                )
            )

    # Goals: the indicators per department, the Sales department against its targets.
    departments = np.sort(roster["department"].unique())
    by_department = pd.MultiIndex.from_product([departments, PERIODS], names=["key", "period"])
    department_values = indicators(frames, by_department, key=roster["department"])
    sales = department_values.loc[GOAL_OWNER]
    goals = []
    for goal, (indicator, op, target, deadline, objective) in GOALS.items():
        value = sales[indicator]
        met = at9(value) >= target if op == ">=" else at9(value) <= target
        met = pd.Series(met, index=value.index)
        if indicator in LOWER_IS_BETTER:
            attainment = target / value.where(value != 0)
        else:
            attainment = value / target
        goals.append(
            pd.DataFrame(
                {
                    "goal": goal,
                    "period": PERIODS,
                    "value": value.to_numpy(),
                    "met": met.astype(object).where(value.notna(), None).to_numpy(),
                    "attainment": attainment.to_numpy(),
                    "due": PERIODS - PERIODS[0] + 1 >= deadline,
                    "objective": objective,
                }
            )
        )
    goals = pd.concat(goals, ignore_index=True)
    objectives = (
        goals.assign(capped=goals["attainment"].clip(upper=1.0))
        .groupby(["objective", "period"], as_index=False)
        .agg(attainment=("capped", "mean"), goals=("goal", "nunique"))
    )
    return {
        "indicators": values,
        "cards": pd.concat(cards),
        "payouts": pd.concat(pays),
        "actions": pd.concat(actions, ignore_index=True),
        "goals": goals,
        "objectives": objectives,
    }


# ------------------------------------------------------------------ agreement


def engine_tables(results) -> dict[str, pd.DataFrame]:
    """The parts of the engine's results the hand-written side also computes."""
    return {
        "indicators": results.indicators,
        "scores": results.scores[["subject", "period", "scorecard", "indicator", "score"]],
        "totals": results.totals[["subject", "period", "scorecard", "total", "rating", "status"]],
        "payouts": results.payouts[
            ["subject", "period", "incentive", "gate_passed", "capped", "prorate_factor", "amount"]
        ],
        "actions": results.actions[
            ["subject", "period", "scorecard", "kind", "title", "owner", "due"]
        ],
        "goals": results.goals[["goal", "period", "value", "met", "attainment", "due"]],
        "objectives": results.objectives[["objective", "period", "attainment", "goals"]],
    }


def _label(period: int) -> str:
    return f"{period // 4}-Q{period % 4 + 1}"


def _long(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Period ordinals → labels, keys as sorted columns."""
    frame = frame.reset_index() if keys[0] not in frame.columns else frame
    frame = frame.assign(period=frame["period"].map(_label))
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def _numbers_agree(what: str, engine: pd.Series, hand: pd.Series, atol: float) -> list[str]:
    left = engine.to_numpy(dtype="float64")
    right = hand.to_numpy(dtype="float64")
    same = np.isclose(left, right, rtol=1e-9, atol=atol, equal_nan=True)
    if same.all():
        return []
    first = int(np.flatnonzero(~same)[0])
    return [
        f"{what}: {int((~same).sum())} of {len(same)} differ "
        f"(first at row {first}: engine {left[first]!r}, pandas {right[first]!r})"
    ]


def _labels_agree(what: str, engine: pd.Series, hand: pd.Series) -> list[str]:
    left = engine.astype(object).where(engine.notna(), None).to_numpy()
    right = hand.astype(object).where(hand.notna(), None).to_numpy()
    same = left == right
    if same.all():
        return []
    first = int(np.flatnonzero(~same)[0])
    return [
        f"{what}: {int((~same).sum())} of {len(same)} differ "
        f"(first at row {first}: engine {left[first]!r}, pandas {right[first]!r})"
    ]


def _keys_agree(what: str, engine: pd.DataFrame, hand: pd.DataFrame, keys: list[str]):
    if len(engine) != len(hand):
        return [f"{what}: engine has {len(engine)} rows, pandas {len(hand)}"]
    left = engine[keys].astype(str).reset_index(drop=True)
    right = hand[keys].astype(str).reset_index(drop=True)
    if not left.equals(right):
        return [f"{what}: the rows are not for the same {', '.join(keys)}"]
    return []


def compare(engine: dict[str, pd.DataFrame], hand: dict[str, pd.DataFrame]) -> list[str]:
    """Where the two sides disagree (an empty list: they agree)."""
    problems: list[str] = []
    # Indicator values: every person, quarter and indicator.
    names = list(hand["indicators"].columns)
    keys = ["subject", "period", "indicator"]
    mine = hand["indicators"].stack().rename("value").rename_axis(keys)
    mine = _long(mine.reset_index(), keys)
    theirs = engine["indicators"].dropna(subset=["value"])
    theirs = theirs[theirs["indicator"].isin(names)].sort_values(["subject", "period", "indicator"])
    theirs = theirs.reset_index(drop=True)
    mine = mine.dropna(subset=["value"]).reset_index(drop=True)
    keys = ["subject", "period", "indicator"]
    found = _keys_agree("indicator values", theirs, mine, keys)
    problems += found or _numbers_agree("indicator values", theirs["value"], mine["value"], 1e-9)

    # Entry scores, totals, ratings and statuses of every member.
    cards = _long(hand["cards"].reset_index(), ["subject", "period", "scorecard"])
    totals = engine["totals"].sort_values(["subject", "period", "scorecard"], kind="stable")
    totals = totals.reset_index(drop=True)
    found = _keys_agree("totals", totals, cards, ["subject", "period", "scorecard"])
    if not found:
        found += _numbers_agree("totals", totals["total"], cards["total"], 1e-6)
        found += _labels_agree("ratings", totals["rating"], cards["rating"])
        found += _labels_agree("statuses", totals["status"], cards["status"])
    problems += found
    scores = engine["scores"].sort_values(["subject", "period", "scorecard", "indicator"])
    mine = cards.melt(
        id_vars=["subject", "period", "scorecard"],
        value_vars=names,
        var_name="indicator",
        value_name="score",
    )
    entries = {(card, name) for card, entries in CARDS.items() for name in entries}
    mine = mine[[(c, i) in entries for c, i in zip(mine["scorecard"], mine["indicator"])]]
    mine = mine.sort_values(["subject", "period", "scorecard", "indicator"])
    keys = ["subject", "period", "scorecard", "indicator"]
    found = _keys_agree("scores", scores, mine, keys)
    problems += found or _numbers_agree("scores", scores["score"], mine["score"], 1e-6)

    # Payouts: gate, cap, proration and the rounded amount, to the cent.
    keys = ["subject", "period", "incentive"]
    pays = engine["payouts"].sort_values(keys, kind="stable").reset_index(drop=True)
    mine = _long(hand["payouts"].reset_index(), keys)
    found = _keys_agree("payouts", pays, mine, keys)
    if not found:
        for column in ("gate_passed", "capped"):
            found += _labels_agree(f"payouts {column}", pays[column], mine[column])
        found += _numbers_agree("payout factors", pays["prorate_factor"], mine["prorate_factor"], 0)
        found += _numbers_agree("payout amounts", pays["amount"], mine["amount"], 1e-6)
    problems += found

    # Actions: the same (person, quarter, title) fire, with the same owner and due date.
    keys = ["subject", "period", "scorecard", "kind", "title", "owner", "due"]
    acts = engine["actions"][keys].fillna("").astype(str).sort_values(keys).reset_index(drop=True)
    mine = _long(hand["actions"], keys).fillna("").astype(str)
    mine = mine[keys].sort_values(keys).reset_index(drop=True)
    if not acts.equals(mine):
        both = acts.merge(mine, how="outer", indicator=True)
        extra = both[both["_merge"] == "left_only"]
        missing = both[both["_merge"] == "right_only"]
        problems.append(
            f"actions: engine fired {len(acts)}, pandas {len(mine)}: {len(extra)} only in the "
            f"engine, {len(missing)} only in pandas"
        )
        for name, rows in (("only in the engine", extra), ("only in pandas", missing)):
            for title, count in rows["title"].value_counts().items():
                first = rows[rows["title"] == title].iloc[0]
                problems.append(
                    f"  {name}: {count} x {title!r} (e.g. {first['subject']} {first['period']})"
                )

    # Goals (Sales department) and objectives.
    keys = ["goal", "period"]
    goals = engine["goals"].sort_values(keys).reset_index(drop=True)
    mine = _long(hand["goals"], keys)
    found = _keys_agree("goals", goals, mine, keys)
    if not found:
        found += _numbers_agree("goal values", goals["value"], mine["value"], 1e-9)
        found += _numbers_agree("goal attainment", goals["attainment"], mine["attainment"], 1e-9)
        found += _labels_agree("goals met", goals["met"], mine["met"])
        found += _labels_agree("goals due", goals["due"], mine["due"])
    problems += found
    keys = ["objective", "period"]
    objectives = engine["objectives"].sort_values(keys).reset_index(drop=True)
    mine = _long(hand["objectives"], keys)
    found = _keys_agree("objectives", objectives, mine, keys)
    problems += found or _numbers_agree(
        "objective attainment", objectives["attainment"], mine["attainment"], 1e-9
    )
    return problems


# ------------------------------------------------------------------ measuring


def _status_mb(field: str) -> float | None:
    """A field of /proc/self/status (VmRSS, VmHWM) in MB; None where there is no /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _max_rss_mb() -> float:
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, else KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def settle() -> float:
    """Free what can be freed, reset the high-water mark, return the resident size (MB)."""
    gc.collect()
    with contextlib.suppress(ImportError, AttributeError):
        import pyarrow  # pandas keeps text in Arrow buffers; its pool keeps freed pages

        pyarrow.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")  # resets VmHWM to the current resident size
    except OSError:
        return _max_rss_mb()  # no reset: the peak so far is the baseline
    return _status_mb("VmRSS") or _max_rss_mb()


def peak() -> float:
    """The resident high-water mark since the last `settle` (MB)."""
    return _status_mb("VmHWM") or _max_rss_mb()


def worker(mode: str, folder: Path, out: Path, repeats: int) -> int:
    """One side, in its own process: read, load (timed), then evaluate or compute by hand."""
    import kpirules
    from kpirules.data import load_data
    from kpirules.engine import PandasRunner, evaluate
    from kpirules.engine.sql import DuckDBRunner

    policy = kpirules.load(POLICY_DIR)
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in SOURCES}
    as_of = YEAR_END.astype(object)
    base = settle()
    start = time.perf_counter()
    loaded = load_data(policy, frames, as_of=as_of)
    load_seconds = time.perf_counter() - start
    load_peak = peak() - base
    highest = peak()  # the process's own largest resident size, to check the machine fits
    if loaded.blocked or len(loaded.findings):
        print(loaded.findings.head(10).to_string())
        print("the generated data has data-quality findings; no figures")
        return 1
    del frames  # both sides start from loaded.frames only

    def run():
        if mode == "engine":
            return engine_tables(evaluate(policy, loaded, runner=PandasRunner()))
        if mode == "duckdb":
            return engine_tables(evaluate(policy, loaded, runner=DuckDBRunner()))
        return by_hand(loaded.frames)

    base = settle()
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    run_peak = peak() - base
    highest = max(highest, peak())
    for _ in range(repeats - 1):
        start = time.perf_counter()
        run()
        seconds = min(seconds, time.perf_counter() - start)
    figures = {
        "load": load_seconds,
        "load_peak": load_peak,
        "seconds": seconds,
        "peak": run_peak,
        "peak_method": "VmHWM" if _status_mb("VmHWM") is not None else "ru_maxrss",
        "highest": highest,
        "result": result,
    }
    with open(out, "wb") as handle:
        pickle.dump(figures, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return 0


def _run_worker(mode: str, folder: Path, repeats: int) -> dict:
    out = folder / f"{mode}.pickle"
    command = [sys.executable, __file__, "--worker", mode, "--data", str(folder)]
    command += ["--out", str(out), "--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stdout + done.stderr)
        raise SystemExit(f"the {mode} worker failed (exit {done.returncode})")
    with open(out, "rb") as handle:
        return pickle.load(handle)


# ------------------------------------------------------------------ main


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of sizes: {text!r}") from None
    if not sizes or min(sizes) < 10:
        raise argparse.ArgumentTypeError("sizes are numbers of people, at least 10")
    return sizes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=DEFAULT_SIZES, help="e.g. 1000,10000")
    parser.add_argument("--quick", action="store_true", help="sizes 1000 and 5000")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed runs per side (default 3, 2 from 50k)"
    )
    parser.add_argument("--worker", choices=("engine", "duckdb", "pandas"), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv[1:])
    if args.worker:
        return worker(args.worker, args.data, args.out, args.repeats or 1)
    sizes = QUICK_SIZES if args.quick else args.sizes

    import platform

    print(
        f"python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}; "
        f"policy: {POLICY_DIR.relative_to(ROOT)}"
    )
    print("load:   load_data(policy, frames): type and check the raw DataFrames")
    print(
        "engine: evaluate(policy, loaded): indicators, scores, totals, ratings, payouts,\n"
        "        actions, goals and objectives, plus its report tables (long, sorted, labelled)"
    )
    print(
        "pandas: the same policy by hand from loaded.frames: indicators, scores, totals,\n"
        "        ratings, payouts, actions, goals and objectives (plain frames, no report tables)"
    )
    table = []
    failed = False
    for people in sizes:
        repeats = args.repeats or (3 if people < 50_000 else 2)
        with tempfile.TemporaryDirectory(prefix="kpirules-bench-") as name:
            folder = Path(name)
            start = time.perf_counter()
            frames = generate(people)
            generated = time.perf_counter() - start
            rows = sum(len(frames[s]) for s in SOURCES if s != "employees")
            history = int((frames["training"]["completed_on"] < YEAR_START).sum())
            for source, frame in frames.items():
                frame.to_parquet(folder / f"{source}.parquet", index=False)
            del frames
            engine = _run_worker("engine", folder, repeats)
            duck = _run_worker("duckdb", folder, repeats)
            hand = _run_worker("pandas", folder, repeats)
        problems = compare(engine["result"], hand["result"])
        problems += [f"duckdb: {p}" for p in compare(duck["result"], hand["result"])]
        verdict = "agree" if not problems else "DISAGREE"
        print(
            f"\n{people:,} people: {rows:,} activity rows ({(rows - history) / people:.0f} a "
            f"person in {YEAR}, plus {history:,} training rows of {YEAR - 1} history), "
            f"generated in {generated:.1f} s; times best of {repeats}; largest resident size "
            f"{engine['highest'] / 1024:.1f} GB (engine process), "
            f"{hand['highest'] / 1024:.1f} GB (pandas process); results {verdict}"
        )
        for problem in problems:
            print(f"  {problem}")
        failed |= bool(problems)
        table.append(
            (
                people,
                rows,
                min(engine["load"], hand["load"]),
                engine["load_peak"],
                engine["seconds"],
                hand["seconds"],
                engine["peak"],
                hand["peak"],
                duck["seconds"],
                duck["peak"],
            )
        )

    print(f"\npeak memory: {engine['peak_method']} after the run minus the resident size before")
    header = (
        f"{'people':>8} {'rows':>11} {'load s':>7} {'load MB':>8} {'engine s':>9} "
        f"{'pandas s':>9} {'engine MB':>10} {'pandas MB':>10} {'time ratio':>11} {'mem ratio':>10}"
        f" {'duckdb s':>9} {'duckdb MB':>10} {'duck ratio':>11}"
    )
    print(header)
    for people, rows, load, load_mb, eng, pan, eng_mb, pan_mb, duck_s, duck_mb in table:
        print(
            f"{people:>8,} {rows:>11,} {load:>7.2f} {load_mb:>8.0f} {eng:>9.2f} {pan:>9.2f} "
            f"{eng_mb:>10.0f} {pan_mb:>10.0f} {eng / pan:>11.2f} {eng_mb / max(pan_mb, 1):>10.2f}"
            f" {duck_s:>9.2f} {duck_mb:>10.0f} {duck_s / pan:>11.2f}"
        )
    people, *_, eng, pan, eng_mb, pan_mb, duck_s, duck_mb = table[-1]
    print(
        f"goal at {people:,} people: time ratio <= {GOAL_RATIO} "
        f"({'met' if eng / pan <= GOAL_RATIO else 'NOT met'}), memory ratio <= {GOAL_MEMORY} "
        f"({'met' if eng_mb <= GOAL_MEMORY * pan_mb else 'NOT met'})"
    )
    if failed:
        print("FAILED: the engine and the hand-written pandas version disagree (see above)")
    print(f"engine/pandas time ratio: {eng / pan:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
