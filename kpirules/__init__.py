"""kpirules: policy-as-code for KPI performance management."""

from kpirules.api import evaluate, load
from kpirules.diagnostics import Diagnostic, KpiError, Severity

__version__ = "0.1.0"
__all__ = ["Diagnostic", "KpiError", "Severity", "__version__", "evaluate", "load"]
