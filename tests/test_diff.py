"""`kpirules diff`: two versions of a policy on the same data. The expected numbers are
worked out with plain pandas from the old run's scores and payouts, or from two separate
engine runs merged by hand — never from the diff's own code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import kpirules
import kpirules.api
from kpirules.cli import main
from kpirules.engine import evaluate
from kpirules.revisions import RevisionError, Spec, checkout, parse_spec

ROOT = Path(__file__).resolve().parent.parent
SALES = ROOT / "policies" / "sales"
AS_OF = "2027-01-04"
SCHEMA = json.loads((ROOT / "schemas" / "diff.schema.json").read_text(encoding="utf-8"))
NEW_WEIGHTS = {
    "new_customers": 0.40,
    "new_market_share": 0.15,
    "quarterly_revenue": 0.20,
    "order_cycle": 0.15,
    "skill_growth": 0.10,
}
LEVELS = [(120, "Outstanding"), (105, "Exceeds"), (90, "Meets"), (70, "Needs improvement")]
# The sales rep's weights as NEW_WEIGHTS: new customers 30% → 40%, market share 25% → 15%.
WEIGHT_EDITS = [
    ("scorecards.kpi", "new_customers weight 30%", "new_customers weight 40%"),
    (
        "scorecards.kpi",
        "indicator new_market_share weight 25% {\n    threshold 10% => 50\n"
        "    target 20% => 100\n    stretch 30% => 150\n  }\n  indicator "
        "quarterly_revenue weight 20%",
        "indicator new_market_share weight 15% {\n    threshold 10% => 50\n"
        "    target 20% => 100\n    stretch 30% => 150\n  }\n  indicator "
        "quarterly_revenue weight 20%",
    ),
]


def _variant(base: Path, name: str, edits: list[tuple[str, str, str]]) -> Path:
    """A copy of the sales policy with its data, with `old` replaced by `new` in files."""
    target = base / name / "sales"
    shutil.copytree(SALES, target)
    for file, old, new in edits:
        path = target / file
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} must occur once in {file}"
        path.write_text(text.replace(old, new), encoding="utf-8")
    return target


def _diff(old: Path, new: Path, *options: str):
    args = ["diff", str(old), str(new), "--data", str(SALES / "data.yaml"), "--as-of", AS_OF]
    return CliRunner().invoke(main, [*args, *options])


def _json(old: Path, new: Path) -> tuple[int, dict]:
    result = _diff(old, new, "--format", "json")
    assert result.exit_code in (0, 1), result.output
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, SCHEMA)
    return result.exit_code, payload


def _evaluate(path: Path):
    return evaluate(kpirules.load(path), SALES / "data.yaml", as_of=date(2027, 1, 4))


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    base = tmp_path_factory.mktemp("diff")
    return {
        "weights": _variant(base, "weights", WEIGHT_EDITS),
        "cap": _variant(base, "cap", [("incentives.kpi", "cap 30_000 CNY", "cap 9_000 CNY")]),
        "no_order_review": _variant(
            base,
            "no_order_review",
            [
                (
                    "incentives.kpi",
                    '  when worsening(order_cycle, 3 periods) => coaching "Order handling '
                    'review" owner manager within 14 days\n',
                    "",
                )
            ],
        ),
        "stale_setting": _variant(
            base, "stale_setting", [("catalogue.kpi", "stale_after 7 days", "stale_after 9 days")]
        ),
        "broken": _variant(
            base, "broken", [("scorecards.kpi", "  floor 0\n", "  floor oops oops\n")]
        ),
    }


@pytest.fixture(scope="module")
def old_results():
    return _evaluate(SALES)


@pytest.fixture(scope="module")
def weights_run(variants):
    result = _diff(SALES, variants["weights"], "--format", "json")
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, SCHEMA)
    return result.exit_code, payload, result.stdout


@pytest.fixture(scope="module")
def weights_diff(weights_run):
    code, payload, _ = weights_run
    return code, payload


@pytest.fixture(scope="module")
def new_results(variants):
    return _evaluate(variants["weights"])


# ------------------------------------------------------------------ identical


def test_policy_against_itself_is_no_change():
    code, payload = _json(SALES, SALES)
    assert code == 0
    assert payload["identical"] is True
    assert payload["people"] == [] and payload["actions"] == []
    summary = payload["summary"]
    assert summary["rating_changed"] == summary["payout_changed"] == 0
    assert summary["payout_total_delta"] == 0
    assert summary["compared"] == 152  # 39 people, four quarters; reps and managers
    assert all(row["delta"] == 0 for row in payload["payouts"])
    assert all(row["count_delta"] == 0 for row in payload["distribution"])


def test_identical_table_says_so():
    table = _diff(SALES, SALES)
    assert table.exit_code == 0
    assert "No change in outcomes" in table.stdout
    assert "Rating changes" not in table.stdout


def test_different_data_settings_load_per_policy_and_still_match(variants):
    code, payload = _json(SALES, variants["stale_setting"])
    assert code == 0 and payload["identical"]


# ------------------------------------------------------------------ a changed weight


def _expected_rep_totals(results) -> pd.DataFrame:
    """New totals of the sales reps under NEW_WEIGHTS, from the old run's scores:
    reweighting over the indicators present, the order-cycle gate (slower than 4 days:
    at most 100), cap 150, floor 0, then the five-level rating."""
    scores = results.scores[results.scores["scorecard"] == "sales_rep"]
    wide = scores.pivot_table(
        index=["subject", "period"], columns="indicator", values="score", dropna=False
    )
    values = scores.pivot_table(index=["subject", "period"], columns="indicator", values="value")
    weights = pd.Series(NEW_WEIGHTS)
    present = wide[weights.index].notna()
    weighted = (wide[weights.index].fillna(0) * weights).sum(axis=1)
    total = weighted / (present * weights).sum(axis=1)
    slow = values["order_cycle"].reindex(total.index) > 4
    total = total.where(~slow, np.minimum(total, 100)).clip(0, 150).round(9)
    rating = pd.Series("Unsatisfactory", index=total.index)
    for bound, label in reversed(LEVELS):
        rating[total >= bound] = label
    rating[total.isna()] = "-"  # no total (data missing): no rating
    return pd.DataFrame({"total": total, "rating": rating}).reset_index()


def test_changed_weight_totals_and_ratings(weights_diff, old_results):
    code, payload = weights_diff
    assert code == 1 and payload["identical"] is False
    expected = _expected_rep_totals(old_results)
    changed = pd.DataFrame(payload["people"])
    reps = changed[changed["scorecard"] == "sales_rep"].set_index(["subject", "period"])
    old = old_results.totals[old_results.totals["scorecard"] == "sales_rep"]
    old = old.set_index(["subject", "period"])
    merged = expected.set_index(["subject", "period"])
    # People not listed did not change: their new total is their old one.
    new_total = reps["new_total"].reindex(merged.index).fillna(old["total"])
    new_rating = reps["new_rating"].reindex(merged.index).fillna(old["rating"]).fillna("-")
    assert np.allclose(
        new_total.to_numpy(float), merged["total"].to_numpy(float), atol=1e-6, equal_nan=True
    )
    assert merged["total"].notna().sum() > 100
    assert (new_rating == merged["rating"]).all()
    moved = merged["rating"] != old["rating"].reindex(merged.index).fillna("-")
    assert payload["summary"]["rating_changed"] == int(moved.sum()) > 0
    # Managers' weights did not change.
    assert not (changed["scorecard"] == "sales_manager").any()


def test_changed_weight_one_person_by_hand(weights_diff, old_results):
    """E1003 in 2026-Q2, all five scores present, fast orders: a plain weighted sum."""
    _, payload = weights_diff
    scores = old_results.scores
    mine = scores[(scores["subject"] == "E1003") & (scores["period"] == "2026-Q2")]
    by = dict(zip(mine["indicator"], mine["score"]))
    assert mine["value"][mine["indicator"] == "order_cycle"].iloc[0] <= 4
    expected = sum(by[name] * weight for name, weight in NEW_WEIGHTS.items())
    row = next(p for p in payload["people"] if p["subject"] == "E1003" and p["period"] == "2026-Q2")
    assert row["new_total"] == pytest.approx(expected, abs=1e-6)
    assert row["total_delta"] == pytest.approx(expected - row["old_total"], abs=1e-6)
    # The quarterly bonus is linear in the score: base × 50% × score / 100.
    pay = old_results.payouts
    before = pay[(pay["subject"] == "E1003") & (pay["period"] == "2026-Q2")].iloc[0]
    assert before["prorate_factor"] == 1 and not before["capped"]
    scale = min(expected, 150) / min(row["old_total"], 150)
    assert row["new_payout"] == pytest.approx(before["amount_before_limits"] * scale, abs=0.011)
    assert row["payout_delta"] == pytest.approx(row["new_payout"] - before["amount"], abs=1e-6)


def test_changed_weight_summary_against_two_engine_runs(weights_diff, new_results, old_results):
    _, payload = weights_diff
    old_pay = old_results.payouts["amount"].sum()
    new_pay = new_results.payouts["amount"].sum()
    summary = payload["summary"]
    assert summary["payout_total_old"] == pytest.approx(old_pay, abs=0.005)
    assert summary["payout_total_delta"] == pytest.approx(new_pay - old_pay, abs=0.005)
    keys = ["subject", "period", "scorecard"]
    both = old_results.totals.merge(new_results.totals, on=keys, suffixes=("_o", "_n"))
    ups = both["rating_o"] != both["rating_n"]
    assert summary["rating_changed"] == int(ups.sum())
    order = {label: i for i, (_, label) in enumerate(LEVELS)} | {"Unsatisfactory": 4}
    downs = both["rating_n"].map(order) > both["rating_o"].map(order)
    assert summary["downgraded"] == int(downs.sum())
    assert summary["upgraded"] == int(ups.sum() - downs.sum())
    # Distribution: Q1 sales reps rated Outstanding, old and new.
    row = next(
        d
        for d in payload["distribution"]
        if (d["scorecard"], d["period"], d["rating"]) == ("sales_rep", "2026-Q1", "Outstanding")
    )
    for results, key in ((old_results, "old_count"), (new_results, "new_count")):
        t = results.totals
        count = (t["scorecard"] == "sales_rep") & (t["period"] == "2026-Q1")
        assert row[key] == int((count & (t["rating"] == "Outstanding")).sum())
    by_incentive = {p["incentive"]: p for p in payload["payouts"]}
    assert by_incentive["manager_bonus"]["delta"] == 0
    expected = new_results.payouts.groupby("incentive")["amount"].sum()
    assert by_incentive["quarterly_bonus"]["new"] == pytest.approx(expected["quarterly_bonus"])


def test_markdown_lists_top_movers_and_the_rest(variants, old_results, new_results):
    result = _diff(SALES, variants["weights"], "--format", "md", "--limit", "3")
    assert result.exit_code == 1
    text = result.stdout
    assert text.startswith("### Policy diff: Acme Sales KPI 2026")
    assert "Outcomes differ" in text
    keys = ["subject", "period", "scorecard"]
    old_pay = old_results.payouts.groupby(keys)["amount"].sum()
    new_pay = new_results.payouts.groupby(keys)["amount"].sum()
    delta = (new_pay - old_pay).abs()
    movers = int((delta > 1e-9).sum())
    assert f"…and {movers - 3} more." in text
    # The biggest mover is the first row of its table.
    top = delta.sort_values(ascending=False, kind="stable").index[0]
    section = text.split("#### Largest payout changes")[1]
    first_row = next(line for line in section.splitlines() if line.startswith("| E"))
    assert first_row.startswith(f"| {top[0]} ") and f"| {top[1]} |" in first_row


def test_json_is_deterministic(variants, weights_run):
    again = _diff(SALES, variants["weights"], "--format", "json").stdout
    assert again == weights_run[2]


# ------------------------------------------------------------------ caps and actions


def test_lower_payout_cap(variants, old_results):
    code, payload = _json(SALES, variants["cap"])
    assert code == 1
    pay = old_results.payouts
    reps = pay[pay["incentive"] == "quarterly_bonus"]
    # Cap 9,000 before proration: the amount a full-time rep gets is min(before, 9000).
    full = reps[reps["prorate_factor"] == 1]
    above = full[full["amount_before_limits"] > 9000]
    changed = {(p["subject"], p["period"]): p for p in payload["people"]}
    assert above.shape[0] > 0
    for row in above.itertuples():
        assert changed[(row.subject, row.period)]["new_payout"] == pytest.approx(9000)
    assert payload["summary"]["rating_changed"] == 0
    assert payload["summary"]["total_changed"] == 0
    below = full[full["amount_before_limits"] <= 9000]
    assert not any((r.subject, r.period) in changed for r in below.itertuples())


def test_removed_improvement_rule_removes_its_actions(variants, old_results):
    code, payload = _json(SALES, variants["no_order_review"])
    assert code == 1
    expected = old_results.actions[old_results.actions["title"] == "Order handling review"]
    assert len(expected) > 0
    removed = [a for a in payload["actions"] if a["change"] == "removed"]
    assert len(removed) == len(expected) == payload["summary"]["actions_removed"]
    assert {a["title"] for a in removed} == {"Order handling review"}
    assert sorted((a["subject"], a["period"]) for a in removed) == sorted(
        zip(expected["subject"], expected["period"])
    )
    assert payload["summary"]["actions_added"] == 0
    assert payload["people"] == []  # nobody's numbers change


def test_added_rule_shows_as_added(variants):
    code, payload = _json(variants["no_order_review"], SALES)
    assert code == 1
    assert {a["change"] for a in payload["actions"]} == {"added"}
    assert all(a["owner"] for a in payload["actions"])  # owner manager: an id


# ------------------------------------------------------------------ errors


def test_broken_side_is_named(variants):
    result = _diff(SALES, variants["broken"])
    assert result.exit_code == 1
    assert "the new policy" in result.stderr
    assert "Traceback" not in result.output


def test_bad_format_is_usage_error():
    result = _diff(SALES, SALES, "--format", "xml")
    assert result.exit_code == 2


def test_period_outside_the_range():
    result = _diff(SALES, SALES, "--period", "2027-Q1")
    assert result.exit_code == 1
    assert "outside" in result.stderr and "Traceback" not in result.output


# ------------------------------------------------------------------ REV:PATH

# Git for the throwaway repositories: no system or user configuration (a signing key,
# hooks), a fixed author.
GIT_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def _git(repo: Path, *args: str, strip: bool = True) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip() if strip else done.stdout


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """main: the policies (version 2026.1), then version 2026.2 (no change in outcomes).
    Branch `broken` breaks the sales scorecards. The work tree holds the proposal: the
    sales rep's weights changed as in the `weights` variant, not committed."""
    assert shutil.which("git"), "the REV:PATH tests need git on PATH"
    top = tmp_path_factory.mktemp("repo")
    for name in ("sales", "engineering", "shared"):
        shutil.copytree(ROOT / "policies" / name, top / "policies" / name)
    ecommerce = ROOT / "policies" / "ecommerce"  # its tests read a fixture file
    (top / "policies" / "ecommerce").mkdir()
    for name in ("policy.kpi", "tests.kpi"):
        shutil.copy(ecommerce / name, top / "policies" / "ecommerce" / name)
    shutil.copytree(ecommerce / "fixtures", top / "policies" / "ecommerce" / "fixtures")
    (top / "pyproject.toml").write_text('[project]\nname = "policies"\n', encoding="utf-8")
    _git(top, "init", "-q", "-b", "main")
    _git(top, "add", "-A")
    _git(top, "commit", "-q", "-m", "policies 2026.1")
    sales = top / "policies" / "sales"
    _edit(sales / "catalogue.kpi", 'version "2026.1"', 'version "2026.2"')
    _git(top, "commit", "-q", "-am", "version 2026.2")
    _git(top, "checkout", "-q", "-b", "broken")
    _edit(sales / "scorecards.kpi", "  floor 0\n", "  floor oops oops\n")
    _git(top, "commit", "-q", "-am", "broken")
    _git(top, "checkout", "-q", "main")
    for file, old, new in WEIGHT_EDITS:
        _edit(sales / file, old, new)
    return top


@pytest.fixture
def scratch(repo, tmp_path, monkeypatch) -> Path:
    """Run in the repository, with temporary directories made in a folder of our own."""
    monkeypatch.chdir(repo)
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _rev_diff(old: str, new: str, *options: str, data: str = "policies/sales/data.yaml"):
    args = ["diff", old, new, "--data", data, "--as-of", AS_OF, *options]
    return CliRunner().invoke(main, args)


def _assert_no_temp_path(result, scratch: Path) -> None:
    text = result.stdout + result.stderr
    assert str(scratch) not in text and "kpirules-rev-" not in text
    assert list(scratch.iterdir()) == []  # the copies are gone
    assert "Traceback" not in text


def test_revision_against_the_work_tree(scratch, repo, weights_diff):
    result = _rev_diff("HEAD:policies/sales", "policies/sales", "--format", "json")
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, SCHEMA)
    assert payload["old_path"] == "HEAD:policies/sales"
    assert payload["old_revision"] == {
        "rev": "HEAD",
        "path": "policies/sales",
        "commit": _git(repo, "rev-parse", "HEAD"),
        "short": _git(repo, "rev-parse", "--short", "HEAD"),
    }
    assert payload["new_revision"] is None
    assert payload["old"]["version"] == "2026.2"  # read from HEAD, not HEAD~1
    # The same change as the two folders of the `weights` test: the same outcomes.
    _, expected = weights_diff
    for key in ("identical", "summary", "payouts", "distribution", "people", "actions"):
        assert payload[key] == expected[key], key
    _assert_no_temp_path(result, scratch)


def test_revision_in_the_markdown_headline(scratch, repo):
    result = _rev_diff(
        "main:policies/sales", "policies/sales", "--format", "md", "--period", "2026-Q1"
    )
    assert result.exit_code == 1
    short = _git(repo, "rev-parse", "--short", "main")
    lines = result.stdout.splitlines()
    assert lines[0] == "### Policy diff: Acme Sales KPI 2026 (2026.2)"
    assert lines[2] == f"old: `main:policies/sales ({short})` → new: `policies/sales`"
    assert lines[4].startswith("Outcomes differ on policies/sales/data.yaml, 2026-Q1:")
    _assert_no_temp_path(result, scratch)


def test_two_revisions_with_the_same_outcomes(scratch, repo):
    result = _rev_diff("HEAD~1:policies/sales", "HEAD:policies/sales", "--period", "2026-Q1")
    assert result.exit_code == 0, result.output
    before, after = (_git(repo, "rev-parse", "--short", r) for r in ("HEAD~1", "HEAD"))
    assert before != after
    lines = result.stdout.splitlines()
    assert lines[0] == "Policy diff: Acme Sales KPI 2026 (2026.1 → 2026.2)"
    assert lines[1] == f"old: HEAD~1:policies/sales ({before}) → new: HEAD:policies/sales ({after})"
    assert "No change in outcomes" in result.stdout
    _assert_no_temp_path(result, scratch)


def test_a_revision_against_itself(scratch, repo):
    spec = "HEAD:policies/sales"
    result = _rev_diff(spec, spec, "--format", "json", "--period", "2026-Q1")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    jsonschema.validate(payload, SCHEMA)
    assert payload["identical"] is True
    head = _git(repo, "rev-parse", "HEAD")
    assert payload["old_revision"]["commit"] == payload["new_revision"]["commit"] == head
    _assert_no_temp_path(result, scratch)


def test_an_import_from_a_sibling_folder_at_a_revision(scratch):
    # policies/engineering imports ../shared/catalogue.kpi: it must be in the copy, and
    # inside its project root (else E101 or E102).
    result = _rev_diff(
        "HEAD:policies/engineering",
        "policies/engineering",
        "--period",
        "2026-01",
        data="policies/engineering/data.yaml",
    )
    assert result.exit_code == 0, result.output
    assert "No change in outcomes" in result.stdout
    _assert_no_temp_path(result, scratch)


def test_broken_policy_at_a_revision_is_shown_with_its_spec(scratch, repo):
    result = _rev_diff("broken:policies/sales", "policies/sales")
    assert result.exit_code == 1
    short = _git(repo, "rev-parse", "--short", "broken")
    text = _git(repo, "show", "broken:policies/sales/scorecards.kpi")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "floor oops oops" in t)
    column = text.splitlines()[line - 1].index("oops oops") + len("oops ") + 1
    errors = result.stderr.splitlines()
    assert errors[0] == f"kpirules: the old policy broken:policies/sales ({short}) does not check:"
    assert errors[1].startswith(f"broken:policies/sales/scorecards.kpi:{line}:{column}: E001 ")
    assert errors[2].endswith("| " + text.splitlines()[line - 1])
    _assert_no_temp_path(result, scratch)


@pytest.mark.parametrize(
    ("old", "code", "message"),
    [
        ("nosuch:policies/sales", 1, "kpirules: nosuch:policies/sales: unknown revision 'nosuch'"),
        ("HEAD:policies/salez", 1, "kpirules: HEAD:policies/salez: no such path at HEAD ({})"),
        (
            ":policies/sales",
            2,
            "kpirules: :policies/sales: name a revision before the colon, e.g. HEAD:policies/sales",
        ),
        ("HEAD:../sales", 2, "kpirules: HEAD:../sales: the path leaves the repository"),
        (
            "HEAD:/policies",
            2,
            "kpirules: HEAD:/policies: the path after the colon must be relative",
        ),
    ],
)
def test_revision_errors(scratch, repo, old, code, message):
    result = _rev_diff(old, "policies/sales")
    assert result.exit_code == code
    short = _git(repo, "rev-parse", "--short", "HEAD")
    assert result.stderr == message.format(short) + "\n"
    _assert_no_temp_path(result, scratch)


def test_not_a_git_repository(tmp_path, monkeypatch):
    folder = tmp_path / "plain"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # do not look above
    result = _rev_diff("main:policies/sales", "policies/sales")
    assert result.exit_code == 1
    assert result.stderr == (
        "kpirules: main:policies/sales: no such file or folder, and not a revision either: "
        f"{folder.resolve()} is not in a git repository\n"
    )


def test_git_missing(scratch, tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = _rev_diff("HEAD:policies/sales", "policies/sales")
    assert result.exit_code == 1
    assert result.stderr == "kpirules: HEAD:policies/sales: git is not installed or not on PATH\n"


def test_an_existing_path_with_a_colon_is_a_path(tmp_path, monkeypatch):
    # Not a repository: read as REV:PATH this would fail with "not in a git repository".
    folder = tmp_path / "v1:sales"
    folder.mkdir()
    (folder / "policy.kpi").write_text("policy {\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = _rev_diff("v1:sales", "v1:sales")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "kpirules: the old policy v1:sales does not check:"
    assert result.stderr.splitlines()[1].startswith("v1:sales/policy.kpi:1:")


def test_parse_spec():
    assert parse_spec("policies/sales") is None  # no colon
    assert parse_spec("main:policies/sales") == Spec(
        "main:policies/sales", "main", "policies/sales"
    )
    assert parse_spec("HEAD~1:") == Spec("HEAD~1:", "HEAD~1", "")  # the top folder
    assert parse_spec("a:b:c") == Spec("a:b:c", "a", "b:c")  # refs cannot hold a colon
    assert parse_spec("C:\\policies\\sales") is None  # a Windows drive, even when missing
    assert parse_spec("C:/policies/sales") is None


def test_checkout_copies_the_policy_files_of_the_commit(repo):
    spec = parse_spec("HEAD~1:policies/ecommerce")
    with checkout(spec, cwd=repo) as copy:
        top = copy.top
        files = sorted(p.relative_to(top).as_posix() for p in top.rglob("*") if p.is_file())
        tracked = _git(repo, "ls-tree", "-r", "--name-only", "HEAD~1").splitlines()
        fixture = "policies/ecommerce/fixtures/shop_orders_may_june_2026.csv"
        # Every .kpi file and the root marker; of the rest only the fixture a test names.
        expected = sorted(
            [n for n in tracked if n.endswith(".kpi") or n == "pyproject.toml"] + [fixture]
        )
        assert files == expected
        assert copy.root == copy.policy.parents[1] == top  # pyproject.toml at the top
        shared = "policies/shared/catalogue.kpi"
        assert (top / shared).read_text(encoding="utf-8") == _git(
            repo, "show", f"HEAD~1:{shared}", strip=False
        )
        # The policy checks in the copy: the import resolves and the fixture exists.
        _, policy, diagnostics = kpirules.api.check_unit(copy.policy, copy.root)
        assert policy is not None, [d.message for d in diagnostics]
        assert copy.unmask(str(copy.policy / "tests.kpi")) == "HEAD~1:policies/ecommerce/tests.kpi"
    assert not top.exists()


def test_checkout_paths_relative_to_the_current_folder_and_nested_roots(tmp_path):
    top = tmp_path / "nested"
    (top / "hr" / "policy").mkdir(parents=True)
    (top / "hr" / ".kpirules.toml").write_text("", encoding="utf-8")
    (top / "hr" / "policy" / "a.kpi").write_text('policy "A" {}\n', encoding="utf-8")
    _git(tmp_path, "init", "-q", "nested")
    _git(top, "add", "-A")
    _git(top, "commit", "-q", "-m", "one")
    # `./` is relative to the current folder (hr/), a plain path to the top folder.
    for text, cwd in (("HEAD:./policy", top / "hr"), ("HEAD:hr/policy", top / "hr")):
        with checkout(parse_spec(text), cwd=cwd) as copy:
            assert copy.path == "hr/policy"
            assert copy.root == copy.top / "hr"  # the nearer .kpirules.toml
            assert (copy.policy / "a.kpi").is_file()
    missing = checkout(parse_spec("HEAD:policy"), cwd=top / "hr")  # from the top: no
    with pytest.raises(RevisionError, match=r"^HEAD:policy: no such path at HEAD \("):
        missing.__enter__()
