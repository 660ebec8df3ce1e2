"""The plan as text (`kpirules plan POLICY`): what will run, in the order it runs, with
every constant as the runners see it and the policy line each step comes from."""

from __future__ import annotations

from kpirules.plan import nodes as n

INDENT = "  "


def number(value: float | None) -> str:
    """A constant as the runners hold it (15 significant digits: nothing hidden)."""
    if value is None:
        return "—"
    text = f"{value:.15g}"
    return "0" if text == "-0" else text


def _at(span) -> str:
    return f"  @ {span.file}:{span.line}" if span is not None else ""


def _missing(rule: n.MissingRule) -> str:
    if rule.action == n.WhenMissing.SCORE:
        return f"score {number(rule.score)}"
    return str(rule.action)


def _band(band: n.Band) -> str:
    output = number(band.constant) if band.constant is not None else band.output.text
    if band.kind == n.BandKind.OTHERWISE:
        where = "otherwise"
    elif band.kind == n.BandKind.BETWEEN:
        where = f"[{number(band.low)}, {number(band.high)})"
    elif band.kind in (n.BandKind.BELOW, n.BandKind.AT_MOST):
        where = f"{'<' if band.kind == n.BandKind.BELOW else '<='} {number(band.high)}"
    else:
        where = f"{'>' if band.kind == n.BandKind.ABOVE else '>='} {number(band.low)}"
    return f"{where} → {output}"


def _scoring(scoring) -> list[str]:
    if isinstance(scoring, n.Curve):
        points = ", ".join(
            f"{p.kind} {number(p.value)} → {number(p.score)}" for p in scoring.points
        )
        return [
            f"curve ({scoring.better} is better): {points}; "
            f"flat beyond the last; {number(scoring.otherwise)} before the first"
        ]
    if isinstance(scoring, n.Bands):
        return [f"bands ({scoring.hit_policy} hit)"] + [
            INDENT + _band(band) + _at(band.span) for band in scoring.bands
        ]
    return ["the value is the score"]


def _gate(gate: n.Gate) -> str:
    if gate.effect == n.GateEffect.CAP:
        then = f"else cap the total at {number(gate.value)}"
    elif gate.effect == n.GateEffect.SCORE:
        then = f"else the total is {number(gate.value)}"
    else:
        then = "else no payout"
    return f"gate: {gate.condition.text}, {then}{_at(gate.span)}"


def _action(action: n.Action) -> str:
    held = f" for {action.periods} periods" if action.periods > 1 else ""
    owner = f", owner {action.owner}" if action.owner else ""
    due = f", within {number(action.within_days)} days" if action.within_days is not None else ""
    return (
        f"action {action.kind} {action.title!r} ({action.origin}) when "
        f"{action.condition.text}{held}{owner}{due}{_at(action.span)}"
    )


def _payout(payout: n.Payout) -> list[str]:
    lines = [f"payout {payout.incentive}{_at(payout.span)}"]
    lines += [INDENT + _gate(gate) for gate in payout.gates]
    if payout.tiers is not None and payout.tier_basis is not None:
        lines.append(f"{INDENT}tiers by {payout.tier_basis.text} ({payout.tier_basis.unit})")
        lines += [INDENT * 2 + _band(band) + _at(band.span) for band in payout.tiers]
    elif payout.pay is not None:
        lines.append(f"{INDENT}pay = {payout.pay.text}  [{payout.pay.unit}]")
    if payout.floor is not None:
        lines.append(f"{INDENT}floor {payout.floor.text}")
    if payout.cap is not None:
        lines.append(f"{INDENT}cap {payout.cap.text}")
    if payout.prorate is not None:
        lines.append(f"{INDENT}prorate by {payout.prorate}")
    currency = f" {payout.currency}" if payout.currency else ""
    lines.append(
        f"{INDENT}round {payout.rounding} to {payout.step}{currency}, from the amount at 9 decimals"
    )
    lines += [INDENT + _action(action) for action in payout.actions]
    return lines


def _scorecard(card: n.Scorecard) -> list[str]:
    lines = [f"scorecard {card.name}{_at(card.span)}"]
    members = card.members.text if card.members is not None else "everyone on the roster"
    lines.append(f"{INDENT}members: {members}, while employed")
    for entry in card.entries:
        lines.append(
            f"{INDENT}entry {entry.indicator}: weight {number(entry.weight)}, when missing "
            f"{_missing(entry.missing)}{_at(entry.span)}"
        )
        lines += [INDENT * 2 + line for line in _scoring(entry.scoring)]
        if entry.floor is not None or entry.cap is not None:
            lines.append(
                f"{INDENT * 2}score limited to [{number(entry.floor)}, {number(entry.cap)}]"
            )
    lines.append(
        f"{INDENT}total = Σ score × weight, when missing {_missing(card.missing)} "
        "(reweight: the weights present scaled back to 1)"
    )
    lines += [INDENT + _gate(gate) for gate in card.gates]
    if card.floor is not None or card.cap is not None:
        lines.append(f"{INDENT}total limited to [{number(card.floor)}, {number(card.cap)}]")
    if card.rating is not None:
        lines.append(
            f"{INDENT}rating {card.rating.name}: the first level that holds, "
            f"the total at 9 decimals{_at(card.rating.span)}"
        )
        for level in card.rating.levels:
            when = f"when {level.condition.text}" if level.condition is not None else "otherwise"
            lines.append(f"{INDENT * 2}{level.label!r} {when}")
        for rule in card.rating.distribution:
            lines.append(
                f"{INDENT * 2}guidance: at {rule.bound} {number(rule.share)} {rule.label!r}"
            )
    for payout in card.payouts:
        lines += [INDENT + line for line in _payout(payout)]
    lines += [INDENT + _action(action) for action in card.actions]
    return lines


def _step(number_: int, step: n.IndicatorStep) -> list[str]:
    lagged = ", period by period (reads its own past)" if step.lags_itself else ""
    lines = [
        f"{number_}. {step.name} [{step.unit}], {step.better} is better{lagged}{_at(step.span)}",
        f"{INDENT}= {step.text}",
    ]
    if step.reads:
        lines.append(f"{INDENT}after: {', '.join(step.reads)}")
    for read in step.aggregates:
        window = f", periods {read.window} back to this" if read.window > 1 else ", this period"
        where = f" where {read.where_text}" if read.where_text else ""
        reduced = f"{read.func}({read.argument_text}){where}"
        lines.append(f"{INDENT}read {read.source}: {reduced}{window}  [{read.unit}]")
    return lines


def render(plan: n.Plan) -> str:
    """The whole plan, one section per stage, in the order a run does them."""
    header = f"plan {plan.name}" + (f" ({plan.cadence})" if plan.cadence else "")
    lines = [header, ""]
    if plan.benchmarks:
        lines.append("benchmarks:")
        for mark in plan.benchmarks:
            shown = number(mark.value) if mark.value is not None else mark.text
            value = f" (held as {shown})" if shown != mark.text else ""
            lines.append(f"{INDENT}{mark.name} = {mark.text}{value}  [{mark.unit}]{_at(mark.span)}")
        lines.append("")
    order = "period by period, all together" if plan.by_period else "in this order"
    lines.append(f"indicators, per person and period, {order}:")
    for number_, step in enumerate(plan.steps, 1):
        lines += [INDENT + line for line in _step(number_, step)]
    for card in plan.scorecards:
        lines.append("")
        lines += _scorecard(card)
    if plan.goals:
        lines += ["", "goals, each at its owner's level:"]
        for goal in plan.goals:
            lines.append(
                f"{INDENT}goal {goal.name} ({_owner(goal)}): {goal.indicator} "
                f"{goal.op} {number(goal.target)}; computes {', '.join(goal.needs)}"
                f"{_at(goal.span)}"
            )
    return "\n".join(lines) + "\n"


def _owner(goal: n.Goal) -> str:
    return "company" if goal.level == "company" else f"{goal.level} {goal.owner}"
