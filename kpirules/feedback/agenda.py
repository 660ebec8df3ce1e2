"""The suggested agenda for the one-on-one, built from the sheet.

Constructive feedback, as HR teaches it: open with the period in brief, recognise what went
well, then the gaps — each one a question about its cause (skill, or resources and
market) rather than a verdict — the support the policy offers, what to watch, and the
next meeting.
"""

from __future__ import annotations

from kpirules.feedback.sheet import AgendaItem, Sheet

KEEP_AT_MOST = 3  # the best strengths only: praise is specific, not a list of everything
WORK_ON_AT_MOST = 3  # a conversation can settle a few priorities, not ten
NEXT_MEETINGS = ("one_on_one", "check_in", "review")  # the next conversation to book


def agenda(sheet: Sheet) -> tuple[AgendaItem, ...]:
    items: list[AgendaItem] = [AgendaItem("open", card=card) for card in sheet.cards]
    strengths = sorted(sheet.strengths, key=lambda line: (-line.score, line.indicator))
    items += [AgendaItem("keep", line=line) for line in strengths[:KEEP_AT_MOST]]
    items += [AgendaItem("recognize", action=action) for action in sheet.recognition]
    items += [
        AgendaItem("incentive", payout=payout)
        for payout in sheet.payouts
        if payout.amount == payout.amount and payout.amount > 0
    ]
    gaps = sheet.gaps  # already largest points lost first
    items += [AgendaItem("work_on", line=line) for line in gaps[:WORK_ON_AT_MOST]]
    if len(gaps) > WORK_ON_AT_MOST:
        items.append(AgendaItem("more_gaps", count=len(gaps) - WORK_ON_AT_MOST))
    if gaps:
        items.append(AgendaItem("causes"))
    # On target but slipping: worth a word before it becomes a gap.
    items += [AgendaItem("watch", line=line) for line in strengths if line.trend.streak <= -2]
    items += [AgendaItem("support", action=action) for action in sheet.actions]
    cadence = {line.meeting: line for card in sheet.cards for line in card.cadence}
    nearest = next((cadence[m] for m in NEXT_MEETINGS if m in cadence), None)
    items.append(AgendaItem("next", cadence=nearest))
    return tuple(items)
