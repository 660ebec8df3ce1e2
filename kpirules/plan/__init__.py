"""Plan: the checked model lowered into what every runner executes.

    model ──lower──▶ Plan (nodes.py) ──▶ runners (kpirules.engine: pandas, vectorised;
                                          kpirules.trace: one person, scalar)
                          └──text──▶ `kpirules plan POLICY`

`order.py` decides the order indicators run in; `expressions.py` lowers formulas and
conditions into `expr.py`'s nodes, every name resolved; `lower.py` resolves everything
else (sources, scoring, totals, gates, limits, ratings, payouts, actions, goals);
`text.py` prints it.
"""

from kpirules.plan.expressions import is_aggregate, lower_grid, lower_row, minutes_per
from kpirules.plan.lower import build
from kpirules.plan.nodes import IndicatorStep, Plan
from kpirules.plan.order import aggregates_of, lagged_names

__all__ = [
    "IndicatorStep",
    "Plan",
    "aggregates_of",
    "build",
    "is_aggregate",
    "lagged_names",
    "lower_grid",
    "lower_row",
    "minutes_per",
]
