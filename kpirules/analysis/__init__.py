"""Analysis of evaluation results: comparison, trend, root cause and calibration.

Every function takes `Results` (evaluated with `history=True`, or without a period, so
that earlier periods are there) and returns pandas DataFrames; see docs/analysis.md.
"""

from kpirules.analysis.calibration import (
    CALIBRATION_COLUMNS,
    DEFAULT_CUTS,
    NineBox,
    calibration,
    nine_box,
)
from kpirules.analysis.compare import CLOSER_TOLERANCE, COMPARISON_COLUMNS, comparison
from kpirules.analysis.drilldown import DRILLDOWN_COLUMNS, drilldown
from kpirules.analysis.ratio import RATIO_COLUMNS, ratio_split
from kpirules.analysis.rootcause import DECOMPOSITION_COLUMNS, decompose
from kpirules.analysis.scope import AnalysisError
from kpirules.analysis.trend import FLAT_TOLERANCE, TREND_COLUMNS, score_trends, trends

__all__ = [
    "CALIBRATION_COLUMNS",
    "CLOSER_TOLERANCE",
    "COMPARISON_COLUMNS",
    "DECOMPOSITION_COLUMNS",
    "DEFAULT_CUTS",
    "DRILLDOWN_COLUMNS",
    "FLAT_TOLERANCE",
    "RATIO_COLUMNS",
    "TREND_COLUMNS",
    "AnalysisError",
    "NineBox",
    "calibration",
    "comparison",
    "decompose",
    "drilldown",
    "nine_box",
    "ratio_split",
    "score_trends",
    "trends",
]
