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
        # Name, Department, Role, Total: not ID first, the rows are in ID order already.
        await pilot.press(*"s" * 4)
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
        await settle(pilot)  # the line of left-out columns takes a row once laid out
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


# ------------------------------------------------------------------ sizes and layout


def test_fit_keeps_whole_what_fits_shortens_names_then_leaves_out_by_rank() -> None:
    from kpirules.tui.layout import Want, fit, widest

    wants = [Want("name", 30, 10, 0), Want("a", 5, None, 1), Want("b", 8, None, 2)]
    # Each column also takes 1 cell either side: 32 + 7 + 10 = 49 cells at their widest.
    assert fit(wants, 100).widths == {"name": 30, "a": 5, "b": 8}
    assert fit(wants, 49).hidden == ()
    assert fit(wants, 45).widths == {"name": 26, "a": 5, "b": 8}  # 4 cells from the name
    # At their narrowest 12 + 7 + 10 = 29 cells > 25: `b` (highest rank) goes, the name
    # takes what is left: 25 - 7 - 2.
    narrow = fit(wants, 25)
    assert narrow.widths == {"name": 16, "a": 5} and narrow.hidden == ("b",)
    # Only the first column is left, cut below its minimum.
    assert fit(wants, 10) == type(narrow)({"name": 8}, ("a", "b"))
    # The widest shrinkable column gives first, until both have as much room left.
    two = [Want("x", 20, 5, 0), Want("y", 10, 5, 0)]
    assert fit(two, 26, padding=0).widths == {"x": 16, "y": 10}
    assert fit(two, 14, padding=0).widths == {"x": 7, "y": 7}
    # A name that shortens only for `a`: `b` does not cost it its end, `a` may.
    proud = [Want("name", 30, 10, 0, yields_to=1), *wants[1:]]
    assert fit(proud, 45) == type(narrow)({"name": 30, "a": 5}, ("b",))
    assert fit(proud, 30).widths == {"name": 21, "a": 5}  # 30 - 7 - 2
    assert widest(["销售额", "abcd"]) == 6  # two cells a Chinese character


def open_person(pilot):
    """People, the second row, Enter: the Person screen, settled."""

    async def go():
        await pilot.press("3", "down", "enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, PersonScreen)
        return pilot.app.screen

    return go()


def expected_outcomes(session, scorecard: str) -> int:
    """Total, rating, one line per incentive of the scorecard, one per action rule."""
    policy = session.policy
    incentives = [i for i in policy.incentives.values() if scorecard in i.scorecards]
    improvements = [m for m in policy.improvements if scorecard in m.scorecards]
    return 2 + len(incentives) + sum(len(i.actions) for i in incentives + improvements)


@pytest.mark.parametrize("example", ["session", "zh_session"])
def test_person_at_80x24_every_header_whole_and_every_outcome_shown(request, example) -> None:
    from rich.cells import cell_len
    from textual.widgets import Footer

    from kpirules.analysis import comparison
    from kpirules.tui.format import measure

    session = request.getfixturevalue(example)

    async def scenario(pilot):
        person = await open_person(pilot)
        indicators = person.query_one("#indicators")
        outcomes = person.query_one("#outcomes")
        columns = [(str(c.label), c.width) for c in indicators.columns.values()]
        return {
            "subject": person.subject,
            "scorecard": person.scorecard,
            "columns": columns,
            "rendered": sum(c.get_render_width(indicators) for c in indicators.columns.values()),
            "width": indicators.size.width,
            "sideways": indicators.max_scroll_x,
            "right": indicators.region.right,
            "detail": str(person.query_one("#indicator-detail").render()),
            "first": str(indicators.coordinate_to_cell_key((0, 0)).row_key.value),
            "outcomes": outcomes.row_count,
            "bottom": outcomes.region.bottom,
            "footer": person.query_one(Footer).region.y,
            "scroll": person.query_one("#person").max_scroll_y,
        }

    seen = run(ReviewApp.from_session(session), scenario, size=(80, 24))
    # Worked out by hand from the cells: name ≥ 24 + 2, Value 11, Attainment 14,
    # Score 7, Weight 8, Contrib. 10 = 76 of 80; Target would need 11 more.
    labels = [label for label, _ in seen["columns"]]
    assert labels == ["Indicator", "Value", "Attainment", "Score", "Weight", "Contrib."]
    assert all(cell_len(label) <= width for label, width in seen["columns"])
    assert seen["rendered"] <= seen["width"] and seen["right"] <= 80
    assert seen["sideways"] == 0  # nothing to scroll to
    # What was left out shows under the table, for the indicator under the cursor.
    periods = session.periods
    row = comparison(session.results, period=periods[-1])
    row = row[(row["subject"] == seen["subject"]) & (row["indicator"] == seen["first"])].iloc[0]
    for label, key in (("Target", "target"), ("Threshold", "threshold"), ("Stretch", "stretch")):
        assert f"{label} {measure(row[key], row['unit'])}" in seen["detail"]
    assert f"Pctl {row['percentile']:.0f}" in seen["detail"]
    # Every outcome, above the footer, without scrolling.
    assert seen["outcomes"] == expected_outcomes(session, seen["scorecard"])
    assert seen["bottom"] <= seen["footer"] and seen["scroll"] == 0


@pytest.mark.parametrize("example", ["session", "zh_session"])
def test_person_at_200x50_names_whole_and_the_highlighted_line_explained(request, example) -> None:
    from rich.cells import cell_len

    session = request.getfixturevalue(example)

    async def scenario(pilot):
        person = await open_person(pilot)
        indicators = person.query_one("#indicators")
        names = [indicators.get_row_at(i)[0].plain for i in range(indicators.row_count)]
        label_width = indicators.columns["label"].width
        preview = person.query_one("#preview", TraceTree)
        return (
            (person.subject, person.scorecard),
            names,
            label_width,
            indicators.hidden,
            preview.display and str(preview.root.label),
            str(person.query_one("#preview-title").render()),
        )

    (subject, scorecard), names, width, hidden, root, title = run(
        ReviewApp.from_session(session), scenario, size=(200, 50)
    )
    policy = session.policy
    labels = [policy.indicators[e.indicator].label for e in policy.scorecards[scorecard].entries]
    longest = max(labels, key=cell_len)
    assert names == labels and width >= cell_len(longest)  # the longest shown whole
    assert hidden == ()
    # The room below the tables explains the first indicator without a keypress.
    assert root and root.startswith(f"{subject} {session.names[subject]} — {session.periods[-1]}")
    assert labels[0] in title


def test_actions_at_200x50_show_titles_and_reasons_whole(session) -> None:
    from rich.cells import cell_len

    async def scenario(pilot):
        await pilot.press("4")
        await settle(pilot)
        table = pilot.app.screen.query_one(VirtualTable)
        return {str(k.value): c.width for k, c in table.columns.items()}, table.hidden

    widths, hidden = run(ReviewApp.from_session(session), scenario, size=(200, 50))
    actions = q4(session.results.actions)
    assert hidden == ()
    assert widths["title"] >= max(cell_len(t) for t in actions["title"])
    assert widths["reason"] >= max(cell_len(t) for t in actions["reason"])


@pytest.mark.parametrize("key", ["3", "4"])
def test_lists_at_80x24_leave_out_columns_but_show_their_values(session, key) -> None:
    async def scenario(pilot):
        await pilot.press(key)
        await settle(pilot)
        table = pilot.app.screen.query_one(VirtualTable)
        rendered = sum(c.get_render_width(table) for c in table.columns.values())
        detail = str(pilot.app.screen.query_one("#detail").render())
        widths = {str(k.value): c.width for k, c in table.columns.items()}
        return rendered, table.size.width, table.max_scroll_x, table.hidden, detail, widths

    rendered, width, sideways, hidden, detail, widths = run(
        ReviewApp.from_session(session), scenario, size=(80, 24)
    )
    assert rendered <= width == 80 and sideways == 0
    assert hidden  # 80 columns cannot hold them all…
    if key == "3":  # …and the first person's left-out values are under the table
        first = q4(session.results.totals).iloc[0]
        assert hidden == ("role", "manager_name")
        assert f"Role {first['role']}" in detail
    else:
        from rich.cells import cell_len

        first = q4(session.results.actions).iloc[0]
        assert "reason" in hidden and f"Why {first['reason']}" in detail
        # Its title is shortened in the table (41 cells in 36): whole under it.
        assert cell_len(first["title"]) > widths["title"]
        assert f"Action {first['title']}" in detail


FOOTER_KEYS = {  # the keys the help lists for each screen, besides 1–4 (on the tabs)
    "people": {"enter", "slash", "f", "s", "r", "x"},
    "actions": {"enter", "slash", "f", "s", "r", "x"},
    "person": {"enter", "tab", "escape", "e"},
    "overview": set(),
}
EVERYWHERE = {"left_square_bracket", "right_square_bracket", "question_mark", "q"}


@pytest.mark.parametrize("screen", list(FOOTER_KEYS))
def test_footer_shows_every_key_at_80_columns(session, screen) -> None:
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    keys = {"people": ("3",), "actions": ("4",), "person": ("3", "down", "enter")}

    async def scenario(pilot):
        for key in keys.get(screen, ()):
            await pilot.press(key)
            await settle(pilot)
        footer = pilot.app.screen.query_one(Footer)
        return [(k.key, k.region.right) for k in footer.query(FooterKey)]

    shown = run(ReviewApp.from_session(session), scenario, size=(80, 24))
    assert FOOTER_KEYS[screen] | EVERYWHERE <= {key for key, _ in shown}
    assert all(0 < right <= 80 for _, right in shown)


def test_enter_applies_the_filter_from_a_menu_and_picks_in_an_open_one(session) -> None:
    from textual.widgets import Select

    totals = q4(session.results.totals)
    departments = sorted(totals["department"].unique())

    async def scenario(pilot):
        app = pilot.app
        await pilot.press("3", "f")
        await settle(pilot)
        menu = app.screen.query_one("#filter-department", Select)
        menu.focus()
        await pilot.press("space")  # open the menu: Enter now picks in it
        await settle(pilot)
        opened = menu.expanded
        await pilot.press("down", "enter")
        await settle(pilot)
        picked = (type(app.screen), menu.value, menu.expanded)
        await pilot.press("enter")  # on the closed menu: applies
        await settle(pilot)
        return opened, picked, type(app.screen), table_rows(app.screen.query_one(VirtualTable))

    opened, picked, after, rows = run(ReviewApp.from_session(session), scenario)
    assert opened
    # The menu starts on "any department"; one down: the first department, A to Z.
    assert picked == (FilterScreen, departments[0], False)
    assert after is PeopleScreen
    expected = totals[totals["department"] == departments[0]]
    assert sorted(rows["subject"]) == sorted(expected["subject"]) and len(rows) > 0


def test_the_first_sort_key_press_reorders(session) -> None:
    async def scenario(pilot):
        await pilot.press("3")
        await settle(pilot)
        table = pilot.app.screen.query_one(VirtualTable)
        before = table_rows(table)["subject"].tolist()
        await pilot.press("s")
        await settle(pilot)
        return before, table_rows(table)["subject"].tolist(), table.view.sort_key

    before, after, key = run(ReviewApp.from_session(session), scenario)
    totals = q4(session.results.totals)
    assert before == sorted(before)  # the rows come in ID order: sorting by ID is a no-op
    assert key == "name" and after != before
    assert after == totals.sort_values("name", kind="stable")["subject"].tolist()


def test_a_click_on_the_sorted_header_reverses_at_once(session) -> None:
    async def scenario(pilot):
        await pilot.press("3")
        await settle(pilot)
        await pilot.click("#table", offset=(2, 0))  # the ID header: the order on screen
        await settle(pilot)
        table = pilot.app.screen.query_one(VirtualTable)
        return table_rows(table)["subject"].tolist(), table.view.sort_key

    subjects, key = run(ReviewApp.from_session(session), scenario)
    assert key == "subject"
    assert subjects == sorted(q4(session.results.totals)["subject"], reverse=True)


def test_a_period_switch_keeps_what_changed_in_view(session) -> None:
    async def scenario(pilot):
        app = pilot.app
        overview = app.screen.query_one("#overview")
        overview.scroll_end(animate=False)
        await settle(pilot)
        scrolled = overview.scroll_y
        await pilot.press("left_square_bracket")
        await settle(pilot)
        top = overview.scroll_y
        await pilot.press("3")
        await settle(pilot)
        table = app.screen.query_one(VirtualTable)
        table.go_to(25)  # below the first screenful
        await settle(pilot)
        chosen = table.current()["subject"]
        await pilot.press("left_square_bracket")
        await settle(pilot)
        on_screen = table.top <= table.position < table.top + table.shown
        return scrolled, top, chosen, table.current()["subject"], app.period, on_screen

    scrolled, top, chosen, now, period, on_screen = run(
        ReviewApp.from_session(session), scenario, size=(80, 24)
    )
    assert scrolled > 0 and top == 0  # the overview's changed numbers are at its top
    totals = session.results.totals
    both = set(q4(totals, BEFORE)["subject"]) & set(q4(totals, "2026-Q2")["subject"])
    assert chosen in both and period == "2026-Q2"
    assert now == chosen and on_screen


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


PERSON = ("3", "down", "enter")
SNAPSHOTS = {
    "overview": ((), (140, 44)),
    "overview_80x24": ((), (80, 24)),
    "cascade": (("2",), (140, 30)),
    "people": (("3",), (100, 30)),
    "people_80x24": (("3",), (80, 24)),
    "filter_80x24": (("3", "f"), (80, 24)),
    "person_80x24": (PERSON, (80, 24)),
    "person_200x50": (PERSON, (200, 50)),
    "explain": ((*PERSON, "e"), (120, 40)),
    "actions": (("4",), (100, 30)),
    "actions_80x24": (("4",), (80, 24)),
    "actions_200x50": (("4",), (200, 50)),
}
# The all-Chinese example: CJK names, departments, roles, indicators and actions.
CHINESE_SNAPSHOTS = {
    "people": (("3",), (100, 30)),
    "people_80x24": (("3",), (80, 24)),
    "person_80x24": (PERSON, (80, 24)),
    "person_200x50": (PERSON, (200, 50)),
    "actions_200x50": (("4",), (200, 50)),
}


@pytest.mark.parametrize("name", list(SNAPSHOTS))
def test_snapshots(session, snap_compare, name) -> None:
    keys, size = SNAPSHOTS[name]
    app, before = snapshot_app(session, *keys)
    assert snap_compare(app, terminal_size=size, run_before=before)


@pytest.mark.parametrize("name", list(CHINESE_SNAPSHOTS))
def test_snapshot_of_a_chinese_policy(zh_session, snap_compare, name) -> None:
    keys, size = CHINESE_SNAPSHOTS[name]
    app, before = snapshot_app(zh_session, *keys)
    assert snap_compare(app, terminal_size=size, run_before=before)


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


def test_a_scorecard_gate_is_not_read_as_a_bonus_gate(session) -> None:
    """Someone whose total was limited by the scorecard's gate but who was still paid:
    the total's line names the scorecard gate, the paid bonus's line says nothing of it."""
    from kpirules.tui.person import outcomes, person_view

    totals, pays = session.results.totals, session.results.payouts
    limited = totals[totals["status"].str.contains("gate failed")]
    paid = pays[(pays["amount"] > 0) & pays["gate_passed"]]
    both = limited.merge(paid, on=["subject", "period", "scorecard"])
    assert len(both)  # the sales example has such people
    row = both.iloc[0]
    view = person_view(session, row["subject"], row["scorecard"], row["period"])
    shown = outcomes(session, view)
    total = next(o for o in shown if o.kind == "total")
    assert "scorecard gate not met: total limited" in total.note
    paid_line = next(o for o in shown if o.kind == "payout" and row["incentive"] in o.focus)
    assert "gate" not in paid_line.note
