"""Feedback sheets: one page per person to prepare the one-on-one, or a bundle per manager.

    from kpirules.feedback import Labels, build_sheets, one, render
    results = evaluate(policy, data, history=True)
    sheets = build_sheets(results, one(results, "E1003"))
    print(render(sheets, "md", Labels("en")))

`select` picks whose sheets and for which period, `build` fills the sheet model (`sheet`)
from the results and the analysis frames, `agenda` suggests the conversation, `render`
prints Markdown or self-contained HTML with the `labels` of one language, `files` writes
them into a folder. See docs/feedback.md.
"""

from kpirules.feedback.build import build_sheets, cadence
from kpirules.feedback.files import OutputError, safe_name, write_sheets
from kpirules.feedback.labels import LANGUAGES, Labels, language_for
from kpirules.feedback.render import FORMATS, IndexEntry, render, render_index
from kpirules.feedback.select import (
    FeedbackError,
    everyone,
    name_of,
    one,
    roster_names,
    team,
)
from kpirules.feedback.sheet import (
    ActionLine,
    AgendaItem,
    CadenceLine,
    CardSheet,
    IndicatorLine,
    PayoutLine,
    Peers,
    Person,
    Sheet,
    Trend,
)

__all__ = [
    "FORMATS",
    "LANGUAGES",
    "ActionLine",
    "AgendaItem",
    "CadenceLine",
    "CardSheet",
    "FeedbackError",
    "IndexEntry",
    "IndicatorLine",
    "Labels",
    "OutputError",
    "PayoutLine",
    "Peers",
    "Person",
    "Sheet",
    "Trend",
    "build_sheets",
    "cadence",
    "everyone",
    "language_for",
    "name_of",
    "one",
    "render",
    "render_index",
    "roster_names",
    "safe_name",
    "team",
    "write_sheets",
]
