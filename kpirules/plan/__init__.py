"""Plan: the checked model lowered into what every runner executes.

    model ──lower──▶ Plan (nodes.py) ──▶ runners (kpirules.engine: pandas, vectorised;
                                          kpirules.trace: one person, scalar)
                          └──text──▶ `kpirules plan POLICY`

`order.py` decides the order indicators run in; `lower.py` resolves everything else
(scoring, totals, gates, limits, ratings, payouts, actions, goals); `text.py` prints it.
"""

from kpirules.plan.lower import build
from kpirules.plan.nodes import IndicatorStep, Plan, Read
from kpirules.plan.order import aggregates_of, is_aggregate, lagged_names

__all__ = [
    "IndicatorStep",
    "Plan",
    "Read",
    "aggregates_of",
    "build",
    "is_aggregate",
    "lagged_names",
]
