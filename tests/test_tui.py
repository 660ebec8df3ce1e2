"""`kpirules tui`: the view-models against plain pandas, Pilot-driven navigation, filters,
search, sorting, explanations and periods, error screens, and snapshots of the screens.

One evaluation of the flagship example is shared by the whole module; each test starts
its own app over it (`ReviewApp.from_session`), so no test waits for an evaluation.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console
from textual.widgets import LoadingIndicator

from kpirules.cli import main
from kpirules.tui import figures
from kpirules.tui.app import ReviewApp
from kpirules.tui.screens.actions import ActionsScreen
from kpirules.tui.screens.cascade import CascadeScreen
from kpirules.tui.screens.error import ErrorScreen
from kpirules.tui.screens.explain import ExplainScreen
from kpirules.tui.screens.filters import FilterScreen
from kpirules.tui.screens.help import HelpScreen
from kpirules.tui.screens.overview import OverviewScreen
from kpirules.tui.screens.people import PeopleScreen
from kpirules.tui.screens.person import PersonScreen
from kpirules.tui.session import open_session
from kpirules.tui.table_view import Column, TableView
from kpirules.tui.widgets.trace_tree import TraceTree
from kpirules.tui.widgets.virtual_table import VirtualTable

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2027, 1, 4)
LAST, BEFORE = "2026-Q4", "2026-Q3"


@pytest.fixture(scope="module")
def session():
    # Paths in results and traces are shown relative to the working folder: run from
    # the project root, as `make test` does, so snapshots are the same wherever pytest runs.
    before = os.getcwd()
    os.chdir(ROOT)
    try:
        yield open_session("policies/sales", "policies/sales/data.yaml", as_of=AS_OF)
    finally:
        os.chdir(before)


def run(app: ReviewApp, scenario, size=(100, 30)):
    """Run `scenario(pilot)` in the app, after the evaluation and any start-up work."""

    async def go():
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            return await scenario(pilot)

    return asyncio.run(go())


async def settle(pilot) -> None:
    """Wait until no worker runs, no loading indicator shows and the picture holds still.
    A screen may start its worker on the refresh after a key press, and a table lays out
    its rows on a later refresh; on a busy machine (tests on two workers) either can come
    after a first wait: poll until two screenshots in a row agree, do not wait once."""
    before = None
    for _ in range(400):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        running = any(worker.is_running for worker in pilot.app.workers)
        loading = any(shown.display for shown in pilot.app.screen.query(LoadingIndicator))
        if running or loading:
            before = None
            await pilot.pause(0.05)
            continue
        picture = pilot.app.export_screenshot()
        if picture == before:
            return
        before = picture
        await pilot.pause(0.05)
    raise AssertionError("the app kept working for 20 s")


def table_rows(table: VirtualTable) -> pd.DataFrame:
    """Everything the table's view holds (not only the window on screen)."""
    return table.view.frame.iloc[table.view.rows]


def plain(renderable) -> str:
    """What a Rich renderable shows, as text."""
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def q4(frame: pd.DataFrame, period: str = LAST) -> pd.DataFrame:
    return frame[frame["period"] == period]


# ------------------------------------------------------------------ view-models


def test_table_view_filters_searches_and_sorts_like_pandas(session) -> None:
    frame = figures.people(session.results, LAST, session.names)
    view = TableView(
        frame,
        [Column("subject", "ID"), Column("total", "Total", numeric=True)],
        ["subject", "name"],
    )
    totals = q4(session.results.totals)
    assert view.total == len(totals)

    view.set_filter("department", "Key Accounts")
    expected = totals[totals["department"] == "Key Accounts"]
    assert len(view) == len(expected) > 0
    assert set(view.window(0, 1000)["subject"]) == set(expected["subject"])

    view.set_filters({})
    view.set_query("ZHU")
    by_hand = totals[
        totals["name"].str.lower().str.contains("zhu") | totals["subject"].str.contains("zhu")
    ]
    assert sorted(view.window(0, 1000)["subject"]) == sorted(by_hand["subject"])

    view.set_query("")
    view.sort_by("total", descending=True)
    shown = view.window(0, 1000)["total"].to_numpy()
    assert list(shown) == sorted(totals["total"], reverse=True)
    view.sort_by("total", descending=False)
    assert view.window(0, 1)["total"].iloc[0] == totals["total"].min()


def test_overview_figures_match_pandas(session) -> None:
    results = session.results
    summary = figures.overview(results, LAST, results.distribution())
    totals, payouts = q4(results.totals), q4(results.payouts)
    assert summary.people == totals["subject"].nunique()
    assert summary.payout == pytest.approx(payouts["amount"].sum())
    assert summary.actions == q4(results.actions)["kind"].value_counts().to_dict()
    assert summary.distribution["count"].sum() == totals["rating"].notna().sum()


def test_spread_quartiles_and_histogram(session) -> None:
    spread = figures.spread(session.results, "quarterly_revenue", LAST)
    scores = session.results.scores
    values = q4(scores)[q4(scores)["indicator"] == "quarterly_revenue"]
    values = values.drop_duplicates("subject")["value"].dropna()
    assert spread.count == len(values) == spread.counts.sum()
    assert spread.quartiles["median"] == pytest.approx(np.median(values))
    assert spread.quartiles["q1"] == pytest.approx(np.percentile(values, 25))


# ------------------------------------------------------------------ navigation


def test_navigation_through_every_screen(session) -> None:
    async def scenario(pilot):
        app = pilot.app
        seen = [type(app.screen)]
        for key in ("2", "3", "4", "1"):
            await pilot.press(key)
            await settle(pilot)
            seen.append(type(app.screen))
        await pilot.press("escape")  # back to where we came from: Actions
        seen.append(type(app.screen))
        await pilot.press("question_mark")
        seen.append(type(app.screen))
        await pilot.press("escape")
        seen.append(type(app.screen))
        return seen

    assert run(ReviewApp.from_session(session), scenario) == [
        OverviewScreen,
        CascadeScreen,
        PeopleScreen,
        ActionsScreen,
        OverviewScreen,
        ActionsScreen,
        HelpScreen,
        ActionsScreen,
    ]


def test_clicking_a_tab_switches_screen(session) -> None:
    async def scenario(pilot):
        await pilot.click("#nav-tabs", offset=(30, 0))  # " 3 People "
        await settle(pilot)
        return type(pilot.app.screen)

    assert run(ReviewApp.from_session(session), scenario) is PeopleScreen


def test_people_filter_by_department_and_manager(session) -> None:
    totals = q4(session.results.totals)
    manager = totals["manager"].dropna().iloc[0]
    manager_name = totals.loc[totals["subject"] == manager, "name"].iloc[0]

    async def scenario(pilot):
        app = pilot.app
        await pilot.press("3", "f")
        await settle(pilot)
        assert isinstance(app.screen, FilterScreen)
        app.screen.query_one("#filter-department").value = "Sales"
        app.screen.query_one("#filter-manager_name").value = f"{manager_name} ({manager})"
        await pilot.press("ctrl+s")
        await settle(pilot)
        table = app.screen.query_one(VirtualTable)
        status = str(app.screen.query_one("#status").render())
        return table_rows(table), table.row_count, status

    rows, on_screen, status = run(ReviewApp.from_session(session), scenario)
    expected = totals[(totals["department"] == "Sales") & (totals["manager"] == manager)]
    assert len(rows) == len(expected) > 0
    assert set(rows["subject"]) == set(expected["subject"])
    assert on_screen == len(expected)  # they fit on one screen
    assert f"{len(expected)} of {len(totals)} people" in status


@pytest.fixture(scope="module")
def zh_session():
    before = os.getcwd()
    os.chdir(ROOT)
    try:
        yield open_session("policies/zh_retail", "policies/zh_retail/data.yaml", as_of=AS_OF)
    finally:
        os.chdir(before)


def test_cjk_names_get_two_cells_a_character(zh_session) -> None:
    """Chinese names and departments are two terminal cells a character: each column is
    as wide as its widest text measured that way, so the columns stay aligned."""
    from rich.cells import cell_len
    from rich.text import Text

    async def scenario(pilot):
        await pilot.press("3")
        await settle(pilot)
        table = pilot.app.screen.query_one(VirtualTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        return [(str(c.label), c.content_width) for c in table.columns.values()], rows

    columns, rows = run(ReviewApp.from_session(zh_session), scenario, size=(120, 30))
    text = [[v.plain if isinstance(v, Text) else str(v) for v in row] for row in rows]
    names = {row[1] for row in text}
    assert any(cell_len(name) == 2 * len(name) > 0 for name in names)  # Chinese names
    for i, (label, width) in enumerate(columns):
        widest = max(cell_len(row[i]) for row in text)
        assert width >= widest, (label, width, widest)


def test_people_incremental_search_and_sort(session) -> None:
    totals = q4(session.results.totals)

    async def scenario(pilot):
        app = pilot.app
        await pilot.press("3", "slash", "a", "n")
        await pilot.pause()
        table = app.screen.query_one(VirtualTable)
        found = table_rows(table)["subject"].tolist()
        await pilot.press("enter")  # back to the table
        await pilot.press("x")  # clear
        await pilot.pause()
        everyone = len(table.view)
        await pilot.press(*"s" * 5)  # ID, Name, Department, Role, Total
        await pilot.pause()
        best = table.current()["total"]
        await pilot.press("r")
        await pilot.pause()
        worst = table_rows(table)["total"].iloc[0]
        return found, everyone, best, worst, table.view.sort_key

    found, everyone, best, worst, key = run(ReviewApp.from_session(session), scenario)
    names = totals["name"].str.lower().str.contains("an") | totals["subject"].str.contains("an")
    assert sorted(found) == sorted(totals.loc[names, "subject"])
    assert everyone == len(totals)
    assert key == "total"
    assert best == totals["total"].max() and worst == totals["total"].min()


def test_paging_moves_through_every_row(session) -> None:
    async def scenario(pilot):
        await pilot.press("3")
        await pilot.pause()
        table = pilot.app.screen.query_one(VirtualTable)
        page = table.row_count
        await pilot.press("pagedown")
        after_page = table.position
        await pilot.press("ctrl+end")
        last = table.position, table.current()["subject"]
        await pilot.press("ctrl+home")
        return page, after_page, last, table.position, len(table.view)

    page, after_page, (last, subject), first, total = run(
        ReviewApp.from_session(session), scenario, size=(100, 20)
    )
    assert page < total  # the window is smaller than the list…
    assert after_page == page  # …and PageDown moves a screenful
    assert last == total - 1 and first == 0
    assert subject == q4(session.results.totals)["subject"].iloc[-1]


def test_person_screen_and_explanations(session) -> None:
    card = session.policy.scorecards["sales_rep"]

    async def scenario(pilot):
        app = pilot.app
        await pilot.press("3", "slash", *"E1002", "enter", "enter")
        await settle(pilot)
        person = app.screen
        assert isinstance(person, PersonScreen)
        indicators = person.query_one("#indicators")
        labels = [str(indicators.get_row_at(i)[0]) for i in range(indicators.row_count)]
        await pilot.press("enter")  # the first indicator
        await settle(pilot)
        assert isinstance(app.screen, ExplainScreen)
        root = str(app.screen.query_one(TraceTree).root.label)
        await pilot.press("escape")
        # The outcome table: go to a "not fired" action and explain it.
        outcomes = person.query_one("#outcomes")
        outcomes.focus()
        row = next(i for i, o in enumerate(person.person.outcomes) if o.fired is False)
        outcomes.move_cursor(row=row)
        await pilot.press("enter")
        await settle(pilot)
        tree = app.screen.query_one(TraceTree)
        node = tree.cursor_node
        leaves = [str(child.label) for child in node.children]
        return labels, root, person.person.outcomes[row], str(node.label), leaves

    labels, root, outcome, selected, leaves = run(
        ReviewApp.from_session(session), scenario, size=(120, 40)
    )
    policy = session.policy
    assert labels == [policy.indicators[e.indicator].label for e in card.entries]
    assert root.startswith("E1002 Hu Shan — 2026-Q4")
    assert selected.startswith(outcome.focus) and "not fired" in selected
    assert any(leaf.startswith("why not: ") for leaf in leaves)


def test_period_switching_filters_without_evaluating_again(session) -> None:
    async def scenario(pilot):
        app = pilot.app
        await pilot.press("3", "left_square_bracket")
        await settle(pilot)
        table = app.screen.query_one(VirtualTable)
        nav = str(app.screen.query_one("#nav-period").render())
        return app.period, table_rows(table), nav

    period, rows, nav = run(ReviewApp.from_session(session), scenario)
    assert period == BEFORE and BEFORE in nav
    expected = q4(session.results.totals, BEFORE)
    assert sorted(rows["subject"]) == sorted(expected["subject"])
    assert set(rows["period"]) == {BEFORE}


def test_cascade_shows_an_indicators_spread(session) -> None:
    async def scenario(pilot):
        app = pilot.app
        await pilot.press("2")
        await settle(pilot)
        tree = app.screen.query_one("#cascade-tree")
        while tree.cursor_node.data.kind != "indicator":
            await pilot.press("down")
        await pilot.pause()
        return tree.cursor_node.data.name, plain(app.screen.query_one("#spread").shown)

    name, shown = run(ReviewApp.from_session(session), scenario, size=(120, 40))
    values = q4(session.results.scores)
    values = values[values["indicator"] == name].drop_duplicates("subject")["value"]
    unit = session.policy.indicators[name].unit
    from kpirules.tui.format import measure

    median = measure(float(np.median(values.dropna())), unit)
    assert f" {median} " in shown.splitlines()[3] + " "  # under "median"
    assert f"{values.notna().sum()} people" in shown


def test_actions_filter_by_kind_and_open_person(session) -> None:
    actions = q4(session.results.actions)

    async def scenario(pilot):
        app = pilot.app
        await pilot.press("4", "f")
        await settle(pilot)
        app.screen.query_one("#filter-kind").value = "training"
        await pilot.press("ctrl+s")
        await settle(pilot)
        table = app.screen.query_one(VirtualTable)
        rows = table_rows(table)
        await pilot.press("enter")
        await settle(pilot)
        return rows, app.screen

    rows, screen = run(ReviewApp.from_session(session), scenario)
    expected = actions[actions["kind"] == "training"]
    assert len(rows) == len(expected) > 0 and set(rows["kind"]) == {"training"}
    assert isinstance(screen, PersonScreen) and screen.subject == rows["subject"].iloc[0]


# ------------------------------------------------------------------ loading and errors


def test_loads_in_a_worker_and_opens_the_overview() -> None:
    async def scenario(pilot):
        return type(pilot.app.screen), pilot.app.period, pilot.app.session.periods

    app = ReviewApp(
        str(ROOT / "policies/sales"),
        str(ROOT / "policies/sales/data.yaml"),
        "2026-Q2",
        as_of=AS_OF,
    )
    screen, period, periods = run(app, scenario)
    assert screen is OverviewScreen
    assert period == "2026-Q2" and periods == ["2026-Q1", "2026-Q2"]


def test_bad_policy_opens_the_error_screen_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "broken.kpi").write_text('policy "x" {\n  cadence quarterly\n  bogus 1\n}\n')

    async def scenario(pilot):
        screen = pilot.app.screen
        text = (
            str(screen.query_one("#error-text").render()) if isinstance(screen, ErrorScreen) else ""
        )
        await pilot.press("q")
        return type(screen), text

    app = ReviewApp(str(tmp_path / "broken.kpi"), str(tmp_path / "data.yaml"))
    screen, text = run(app, scenario)
    assert screen is ErrorScreen
    assert "broken.kpi:3" in text
    assert app.return_code == 1


def test_missing_data_opens_the_error_screen(tmp_path: Path) -> None:
    async def scenario(pilot):
        screen = pilot.app.screen
        return type(screen), str(screen.query_one("#error-title").render())

    app = ReviewApp(str(ROOT / "policies/sales"), str(tmp_path / "nowhere.yaml"))
    screen, title = run(app, scenario)
    assert screen is ErrorScreen and "cannot be read" in title


def test_cli_registers_tui_lazily() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "tui" in result.output
    probe = "import sys, kpirules.cli; print(any(m.startswith('textual') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    missing = CliRunner().invoke(main, ["tui", "no/such/policy", "--data", "x.yaml"])
    assert missing.exit_code == 2


# ------------------------------------------------------------------ snapshots


def snapshot_app(session, *keys: str):
    async def before(pilot):
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return ReviewApp.from_session(session), before


SNAPSHOTS = {
    "overview": ((), (140, 44)),
    "cascade": (("2",), (140, 30)),
    "people": (("3",), (100, 30)),
    "people_80x24": (("3",), (80, 24)),
    "person": (("3", "down", "enter"), (120, 32)),
    "explain": (("3", "down", "enter", "e"), (120, 40)),
    "actions": (("4",), (100, 30)),
}


@pytest.mark.parametrize("name", list(SNAPSHOTS))
def test_snapshots(session, snap_compare, name) -> None:
    keys, size = SNAPSHOTS[name]
    app, before = snapshot_app(session, *keys)
    assert snap_compare(app, terminal_size=size, run_before=before)


def test_snapshot_of_a_chinese_policy(zh_session, snap_compare) -> None:
    """The People screen of the all-Chinese example: CJK names, departments and roles."""
    app, before = snapshot_app(zh_session, "3")
    assert snap_compare(app, terminal_size=(100, 30), run_before=before)


def test_the_blocked_run_message_counts_warnings_and_notes_apart() -> None:
    from kpirules.tui.session import _findings_text

    findings = pd.DataFrame(
        {
            "source": ["orders"] * 4,
            "file": ["orders.csv"] * 4,
            "row": [2, 3, None, 4],
            "column": ["amount", "amount", None, "rep_id"],
            "check": ["type_mismatch", "null_value", "sheet", "unknown_subject"],
            "severity": ["error", "warning", "info", "warning"],
            "message": ["'a lot' is not a number", "empty", "read sheet Orders", "no r9"],
        }
    )
    text = _findings_text(findings)
    assert text.splitlines()[0] == "orders.csv:2 [amount]: type_mismatch: 'a lot' is not a number"
    assert text.endswith("(and 2 warnings, 1 note; see `kpirules eval`)")
