"""`kpirules lint`: every rule against its own bad and good example, configuration,
inline suppression, every output format, selection and exit codes, robustness, and the
data rules on small hand-made data."""

from __future__ import annotations

import json
import re
import tomllib
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import pytest
from click.testing import CliRunner
from junitparser import Failure, JUnitXml, Skipped

from kpirules.cli import main
from kpirules.diagnostics import Diagnostic, Severity, Span
from kpirules.lint import Report, lint
from kpirules.lint.analysis import INF, Analysis, Region, Scope, describe, first_hit, regions
from kpirules.lint.docs import current, example_report, reference
from kpirules.lint.examples import AS_OF, BASE, BASE_DATA, LEAD, LEAD_FEEDBACK, LEAD_IMPROVEMENT
from kpirules.lint.formats import github
from kpirules.lint.registry import CATEGORIES, RULES, all_rules
from kpirules.lint.suppress import parse_codes
from kpirules.parser import parse
from kpirules.resources import schema

REPO = Path(__file__).resolve().parent.parent
RULE_LIST = all_rules()
CODES = [r.code for r in RULE_LIST]
LINE = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<column>\d+): (?P<code>[A-Z]\d{3}) ")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def codes_in(output: str) -> list[str]:
    return [m["code"] for m in map(LINE.match, output.splitlines()) if m]


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A project root holding the example base policy; the working directory."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'acme-policies'\n")
    (tmp_path / "base.kpi").write_text(BASE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_data(folder: Path, **override: str) -> Path:
    data = folder / "data"
    data.mkdir(exist_ok=True)
    for source, text in {**BASE_DATA, **override}.items():
        (data / f"{source}.csv").write_text(text)
    return data


# Two indicators on a scorecard: L102 (key few) fires; L104 (long term) does not.
TWO = LEAD.replace(
    """  indicator new_customers weight 30% {
    threshold 5 => 50
    target 10 => 100
    stretch 15 => 120
  }
""",
    "",
).replace("weight 50%", "weight 80%")
SHORT_CARD = TWO + LEAD_IMPROVEMENT + LEAD_FEEDBACK
# Two short-term indicators: L102 and L104, both at the scorecard's name.
SHORT_TERM_CARD = (
    LEAD.replace(
        """  indicator learning weight 20% {
    threshold 4 hours => 50
    target 8 hours => 100
    stretch 16 hours => 120
  }
""",
        "",
    ).replace("weight 50%", "weight 70%")
    + LEAD_IMPROVEMENT
    + LEAD_FEEDBACK
)


# ------------------------------------------------------------------ the rules


def test_every_rule_is_documented_and_well_formed() -> None:
    assert len(CODES) >= 20 and len(set(CODES)) == len(CODES)
    assert len({r.name for r in RULE_LIST}) == len(RULE_LIST)
    checker_codes = set(
        re.findall(r"^### ([EW]\d{3}) ", (REPO / "docs/diagnostics.md").read_text(), re.M)
    )
    assert checker_codes and not checker_codes & set(CODES)
    docs = (REPO / "docs/rules.md").read_text()
    for rule in RULE_LIST:
        assert re.fullmatch(r"L\d{3}", rule.code), rule.code
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.name), rule.name
        assert rule.category in CATEGORIES
        assert rule.summary.endswith(".") and "\n" not in rule.summary
        assert len(rule.rationale) > 80, rule.code
        assert f"### {rule.code} {rule.name}\n" in docs
        assert rule.needs_data == (rule.category == "data")
    # The code ranges follow the categories.
    first = {"strategy": "1", "correctness": "2", "hygiene": "3", "data": "4", "meta": "9"}
    assert all(r.code[1] == first[r.category] for r in RULE_LIST)


@pytest.mark.parametrize("code", CODES)
def test_rule_fires_on_its_bad_example(code: str) -> None:
    report = example_report(code, "bad")
    found = [d for d in report.diagnostics if d.code == code]
    assert found, [f"{d.code} {d.message}" for d in report.diagnostics]
    assert all(d.severity == RULES[code].level for d in found)
    assert all(d.span.file in ("x.kpi", "base.kpi") and d.span.line >= 1 for d in found)


@pytest.mark.parametrize("code", CODES)
def test_good_example_lints_clean(code: str) -> None:
    report = example_report(code, "good")
    assert report.diagnostics == [], [f"{d.code} {d.message}" for d in report.diagnostics]
    assert report.units[0].ok


def test_base_policy_lints_clean_with_and_without_its_data(project: Path) -> None:
    write_data(project)
    assert lint([Path(".")]).diagnostics == []
    report = lint([Path(".")], data="data", as_of=date.fromisoformat(AS_OF))
    assert report.diagnostics == []
    assert {r.code for r in report.rules} == set(CODES)


def test_docs_rules_md_is_generated_from_the_rules() -> None:
    assert current(REPO / "docs/rules.md") == reference(), (
        "docs/rules.md is out of date: run `.venv/bin/python -m kpirules.lint.docs`"
    )


def test_the_example_policies_lint_clean() -> None:
    result = invoke("lint", str(REPO / "policies"))
    assert result.exit_code == 0, result.output
    assert "7 policies linted: no problems" in result.output


def test_an_example_policy_with_its_sample_data_reports_only_its_messy_rows() -> None:
    sales = REPO / "policies/sales"
    result = invoke("lint", str(sales), "--data", str(sales / "data.yaml"), "--as-of", "2027-01-04")
    assert result.exit_code == 0, result.output  # data-quality warnings only
    assert set(codes_in(result.output)) == {"L404"}
    assert "`type_mismatch`" in result.output and "'TBC'" in result.output


def test_results_already_evaluated_feed_the_data_rules() -> None:
    """The TUI lints with the results it already has: the same findings as `--data`."""
    import kpirules

    sales = REPO / "policies/sales"
    day = date(2027, 1, 4)
    by_data = lint([sales], data=sales / "data.yaml", as_of=day).diagnostics
    results = kpirules.evaluate(kpirules.load(sales), sales / "data.yaml", as_of=day)
    by_results = lint([sales], results=results).diagnostics
    assert [d.code for d in by_results] == ["L404"] * 9
    assert [d.to_dict() for d in by_results] == [d.to_dict() for d in by_data]
    with pytest.raises(ValueError, match="one policy unit"):
        lint([sales, REPO / "policies/engineering"], results=results)


# ------------------------------------------------------------------ analysis


def test_regions_cut_a_domain_at_its_constants() -> None:
    parts = regions({90.0, 110.0}, (0.0, 120.0))
    assert [(r.lo, r.lo_closed, r.hi, r.hi_closed) for r in parts] == [
        (0.0, True, 0.0, True),
        (0.0, False, 90.0, False),
        (90.0, True, 90.0, True),
        (90.0, False, 110.0, False),
        (110.0, True, 110.0, True),
        (110.0, False, 120.0, False),
        (120.0, True, 120.0, True),
    ]
    assert describe(Region(0, -INF, False, 70, False)) == "below 70"
    assert describe(Region(0, 70, True, 90, False)) == "from 70 up to (not including) 90"
    assert describe(Region(0, 150, False, INF, False)) == "above 150"


def test_first_hit_finds_gaps_and_shadowed_rules() -> None:
    tests = [lambda v: v >= 90, lambda v: v >= 110, lambda v: 50 <= v < 80]
    reached, anywhere, gaps = first_hit(tests, {50.0, 80.0, 90.0, 110.0}, (0.0, 150.0))
    assert reached == [True, False, True] and anywhere == [True, True, True]
    assert [describe(g) for g in gaps] == [
        "from 0 up to (not including) 50",
        "from 80 up to (not including) 90",
    ]


@pytest.fixture(scope="module")
def analysis(tmp_path_factory) -> Analysis:
    import kpirules

    folder = tmp_path_factory.mktemp("analysis")
    (folder / ".kpirules.toml").write_text("")
    (folder / "base.kpi").write_text(BASE)
    return Analysis(kpirules.load(folder))


def condition(text: str):
    module, diagnostics = parse(f'rating r {{ "A" when {text} }}', "c.kpi")
    assert module is not None, diagnostics
    return module.items[0].body[0].condition


@pytest.mark.parametrize(
    ("text", "scope", "verdict"),
    [
        ("new_customers > 5 and new_customers < 3", Scope(), "never"),
        ("new_customers > 5 or new_customers <= 5", Scope(), "always"),
        ("new_customers > 5", Scope(), None),
        ("not (new_customers >= 2) and new_customers > 4", Scope(), "never"),
        ("revenue >= 100_000 CNY and revenue < 50_000 CNY", Scope(), "never"),
        ('role == "manager"', Scope(bare_roster=True), "never"),  # not an allowed value
        ('role == "rep" or role == "lead"', Scope(bare_roster=True), "always"),
        ('staff.role in ["rep"]', Scope(), None),
        ("score >= 0", Scope(score=(0.0, 120.0)), "always"),
        ("score > 120", Scope(score=(0.0, 120.0)), "never"),
        ("score >= 60", Scope(score=(0.0, 120.0)), None),
        ('rating == "Meets" or rating != "Meets"', Scope(rated=True), "always"),
        ("revenue misses threshold and revenue reaches threshold", Scope(), "never"),
        ("revenue misses threshold or revenue reaches threshold", Scope(), "always"),
        ("worsening(revenue, 2 periods) and revenue > 5", Scope(), None),
        ("1 > 2", Scope(), "never"),
        ("true", Scope(), "always"),
        ("orders.new_customer and not orders.new_customer", Scope(), "never"),
    ],
)
def test_conditions_that_never_or_always_hold(analysis, text, scope, verdict) -> None:
    assert analysis.judge(condition(text), scope) == verdict


def test_score_ranges_follow_curves_missing_rules_gates_and_limits(analysis) -> None:
    before, after = analysis.card_ranges["rep"]
    assert before == (0.0, 120.0) and after == (0.0, 120.0)


# ------------------------------------------------------------------ configuration


def test_pyproject_turns_a_rule_off_and_changes_levels(project: Path) -> None:
    (project / "x.kpi").write_text(SHORT_CARD)
    assert "L102" in codes_in(invoke("lint", ".").output)
    (project / "pyproject.toml").write_text('[tool.kpirules.lint.rules]\nL102 = "off"\n')
    result = invoke("lint", ".")
    assert result.exit_code == 0 and "L102" not in codes_in(result.output)
    (project / "pyproject.toml").write_text('[tool.kpirules.lint.rules]\nL102 = "error"\n')
    result = invoke("lint", ".")
    assert result.exit_code == 1 and codes_in(result.output) == ["L102"]
    assert "1 error, 0 warnings" in result.output


def test_rule_options_come_from_the_configuration(project: Path) -> None:
    (project / "x.kpi").write_text(SHORT_CARD)  # two indicators
    (project / "pyproject.toml").write_text("[tool.kpirules.lint.rules]\nL102 = { min = 2 }\n")
    assert codes_in(invoke("lint", ".").output) == []
    (project / "pyproject.toml").write_text(
        '[tool.kpirules.lint.rules]\nL102 = { level = "error", min = 4, max = 9 }\n'
    )
    result = invoke("lint", ".")
    # Now the base's three-indicator scorecard is too small as well.
    assert result.exit_code == 1 and codes_in(result.output) == ["L102", "L102"]
    assert "keep 4 to 9" in result.output


def test_kpirules_toml_comes_before_pyproject(project: Path) -> None:
    (project / "x.kpi").write_text(SHORT_CARD)
    (project / "pyproject.toml").write_text('[tool.kpirules.lint.rules]\nL102 = "error"\n')
    (project / ".kpirules.toml").write_text('[lint]\nignore = ["strategy"]\n')
    result = invoke("lint", ".")
    assert result.exit_code == 0 and codes_in(result.output) == []


def test_select_and_ignore_in_the_configuration(project: Path) -> None:
    (project / "x.kpi").write_text(SHORT_CARD + '\nrating unused "U" { "A" otherwise }\n')
    (project / ".kpirules.toml").write_text('[lint]\nselect = ["hygiene"]\n')
    assert codes_in(invoke("lint", ".").output) == ["L305"]
    (project / ".kpirules.toml").write_text('[lint]\nselect = ["all"]\nignore = ["L3"]\n')
    assert codes_in(invoke("lint", ".").output) == ["L102"]


def test_per_file_ignores(project: Path) -> None:
    (project / "legacy").mkdir()
    (project / "legacy" / "base.kpi").write_text(BASE)
    (project / "legacy" / "x.kpi").write_text(SHORT_CARD)
    (project / "x.kpi").write_text(SHORT_CARD)
    (project / "pyproject.toml").write_text(
        '[tool.kpirules.lint.per-file-ignores]\n"legacy/*.kpi" = ["L102", "hygiene"]\n'
    )
    result = invoke("lint", ".")
    files = [m["file"] for m in map(LINE.match, result.output.splitlines()) if m]
    assert files == ["x.kpi"], result.output


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[tool.kpirules.lint\nselect = 1", "not valid TOML"),
        ("[tool.kpirules.lint]\nselec = ['L1']", "unknown setting 'selec'"),
        ("[tool.kpirules.lint]\nselect = ['L999']", "'L999' is not a rule code"),
        ("[tool.kpirules.lint]\nignore = 'L101'", "must be a list of strings"),
        ("[tool.kpirules.lint.rules]\nL999 = 'off'", "rules.L999: unknown rule"),
        ("[tool.kpirules.lint.rules]\nL102 = 'loud'", 'is not "off", "warning" or "error"'),
        (
            "[tool.kpirules.lint.rules]\nL102 = { maximum = 9 }",
            "unknown option 'maximum' (options: min, max)",
        ),
        ("[tool.kpirules.lint.rules]\nL102 = { min = '3' }", "rules.L102.min: expected int"),
        ("[tool.kpirules.lint.rules]\nL102 = { min = 8, max = 7 }", "needs 1 <= min <= max"),
        ("[tool.kpirules.lint.rules]\nL401 = { share = 1.5 }", "share is a fraction"),
        ("[tool.kpirules.lint.rules]\nL101 = 3", 'give a level ("off", "warning", "error")'),
        (
            "[tool.kpirules.lint.per-file-ignores]\n'a/*.kpi' = ['L1O1']",
            "'L1O1' is not a rule code",
        ),
    ],
)
def test_a_broken_configuration_stops_with_exit_2(project: Path, config: str, message: str) -> None:
    (project / "pyproject.toml").write_text(config)
    result = CliRunner().invoke(main, ["lint", "."])
    assert result.exit_code == 2, result.output
    assert "kpirules: configuration:" in result.output and message in result.output
    assert "pyproject.toml" in result.output and "Traceback" not in result.output


# ------------------------------------------------------------------ suppression


def test_parse_suppression_codes() -> None:
    assert parse_codes(" L102") == ("L102",)
    assert parse_codes(" L102, l301 legacy card, see HR-12") == ("L102", "L301")
    assert parse_codes("[L102, L301] because") == ("L102", "L301")
    assert parse_codes(" because") == ()


def test_inline_suppression_on_the_line_and_on_the_line_before(project: Path) -> None:
    card = SHORT_CARD.replace(
        'scorecard lead "Team lead" {', 'scorecard lead "Team lead" {  # kpirules: ignore L102'
    )
    (project / "x.kpi").write_text(card)
    result = invoke("lint", ".")
    assert result.exit_code == 0 and codes_in(result.output) == []
    assert "(1 suppressed)" in result.output
    (project / "x.kpi").write_text("# kpirules: ignore[L104, L102] until 2027\n" + SHORT_TERM_CARD)
    result = invoke("lint", ".")
    assert codes_in(result.output) == [] and "(2 suppressed)" in result.output
    # A suppression two lines above does not reach the finding.
    (project / "x.kpi").write_text("# kpirules: ignore L102\n\n" + SHORT_CARD)
    assert sorted(codes_in(invoke("lint", ".").output)) == ["L102", "L900"]


def test_unused_suppressions_are_reported(project: Path) -> None:
    (project / "x.kpi").write_text(
        LEAD.replace(
            'scorecard lead "Team lead" {',
            'scorecard lead "Team lead" {  # kpirules: ignore L102 L9999',
        )
        + LEAD_IMPROVEMENT
        + LEAD_FEEDBACK
        + "# kpirules: ignore E203\n# kpirules: ignore because\n"
    )
    result = invoke("lint", ".")
    assert codes_in(result.output) == ["L900", "L900", "L900"], result.output
    assert "suppression of L102 suppresses nothing: no L102 finding on this line" in result.output
    assert "'E203' is not a lint rule" in result.output
    assert "names no rule code" in result.output
    # A rule that did not run cannot be expected to find anything: no L900 then.
    result = invoke("lint", ".", "--ignore", "L102")
    assert "L102 suppresses nothing" not in result.output
    result = invoke("lint", ".", "--ignore", "L900")
    assert codes_in(result.output) == []


def test_a_data_rule_suppression_is_not_unused_without_data(project: Path) -> None:
    text = BASE.replace(
        "    target 200_000 CNY => 100\n",
        "    target 200_000 CNY => 100  # kpirules: ignore L401\n",
        1,
    )
    (project / "base.kpi").write_text(text)
    assert codes_in(invoke("lint", ".").output) == []
    write_data(project)
    result = invoke("lint", ".", "--data", "data", "--as-of", AS_OF)
    assert codes_in(result.output) == ["L900"]  # the base data do not trip L401


# ------------------------------------------------------------------ output formats


@pytest.fixture
def findings(project: Path) -> Path:
    """One warning (L102) and one error (L201)."""
    (project / "x.kpi").write_text(SHORT_CARD)
    (project / "y.kpi").write_text(
        RULES["L201"]
        .bad.replace('scorecard lead "Team lead"', 'scorecard chief "Chief"')
        .replace("for lead", "for chief")
    )
    return project


def test_text_output(findings: Path) -> None:
    result = invoke("lint", ".")
    assert result.exit_code == 1
    assert (
        "x.kpi:1:11: L102 scorecard 'lead' has 2 indicators; keep 3 to 7 (the key few)\n"
        in result.output
    )
    assert '    1 | scorecard lead "Team lead" {\n                  ^^^^\n' in result.output
    assert "  hint: add the missing focus areas" in result.output
    assert "1 policy linted: 1 error, 1 warning" in result.output


def test_json_output_validates_against_the_schema(findings: Path) -> None:
    result = invoke("lint", ".", "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.output)
    jsonschema.validate(payload, schema("lint.schema.json"))
    assert [f["code"] for f in payload["findings"]] == ["L102", "L201"]
    first = payload["findings"][0]
    assert (first["rule"], first["category"], first["severity"]) == (
        "key-few",
        "strategy",
        "warning",
    )
    assert payload["summary"] == {
        "errors": 1,
        "warnings": 1,
        "infos": 0,
        "suppressed": 0,
        "units": 1,
    }
    # With checker errors: the diagnostics are there, the unit is not ok, nothing is linted.
    (findings / "z.kpi").write_text(
        "indicator broken { unit count  better higher  = count(nothing) }\n"
    )
    payload = json.loads(invoke("lint", ".", "--format", "json").output)
    jsonschema.validate(payload, schema("lint.schema.json"))
    assert payload["units"][0]["ok"] is False
    assert {f["category"] for f in payload["findings"]} == {"check"}
    assert all(f["rule"] is None for f in payload["findings"])


def test_sarif_output(findings: Path) -> None:
    result = invoke("lint", ".", "--format", "sarif")
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["version"] == "2.1.0" and "sarif" in document["$schema"]
    (run,) = document["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "kpirules"
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [c for c in CODES if not RULES[c].needs_data]
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        # The rule's full help, examples included, and where the reference is.
        help_ = rule["help"]
        assert RULES[rule["id"]].rationale in help_["text"]
        assert RULES[rule["id"]].good in help_["text"] and "```kpi" in help_["markdown"]
        assert f"docs/rules.md, section {rule['id']}" in help_["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning")
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["L102", "L201"]
    for result_ in results:
        assert rules[result_["ruleIndex"]]["id"] == result_["ruleId"]
        assert result_["level"] in ("error", "warning") and result_["message"]["text"]
        (location,) = result_["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] in ("x.kpi", "y.kpi")
        region = physical["region"]
        assert set(region) == {"startLine", "startColumn", "endLine", "endColumn"}
        assert region["startLine"] >= 1 and region["endColumn"] > region["startColumn"]
        assert re.fullmatch(r"[0-9a-f]{32}:1", result_["partialFingerprints"]["kpirules/v1"])
    assert results[0]["level"] == "warning" and results[1]["level"] == "error"


def _addresses(value, key: str = "") -> list[tuple[str, str]]:
    """Every (key, string) in a JSON document whose string is a web address."""
    if isinstance(value, dict):
        return [a for k, v in value.items() for a in _addresses(v, k)]
    if isinstance(value, list):
        return [a for v in value for a in _addresses(v, key)]
    if isinstance(value, str):
        return [(key, u) for u in re.findall(r"https?://[^\s)\]>\"']+", value)]
    return []


def test_sarif_names_no_address_the_project_does_not_declare(findings: Path) -> None:
    # The hosts of [project.urls] in pyproject.toml; none are declared today, so no
    # helpUri or informationUri at all (the old ones named a domain nobody owns).
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    hosts = {urlparse(u).netloc for u in project.get("urls", {}).values()}
    (findings / "z").mkdir()
    (findings / "z" / "z.kpi").write_text(
        "indicator broken { unit count  better higher  = count(nothing) }\n"
    )
    for args in ((".",), ("z",)):  # lint rules, and checker codes
        document = json.loads(invoke("lint", *args, "--format", "sarif").output)
        found = _addresses(document)
        # Only the SARIF schema's standard address, which is not about the project.
        assert ("$schema", "https://json.schemastore.org/sarif-2.1.0.json") in found
        others = [(k, u) for k, u in found if k != "$schema"]
        assert all(urlparse(u).netloc in hosts for _, u in others), others
        driver = document["runs"][0]["tool"]["driver"]
        assert ("helpUri" in json.dumps(driver)) == bool(hosts)
        assert ("informationUri" in driver) == bool(hosts)
    (rule,) = [r for r in driver["rules"] if r["id"] == "E202"]
    assert "docs/diagnostics.md" in rule["help"]["text"]


def test_rule_help_names_the_article_it_follows() -> None:
    # "The article's first rule" meant nothing to a reader of SARIF help or rules.md.
    rationale = RULES["L101"].rationale
    assert "KPI绩效管理的关键" in rationale and "目标要与企业战略相结合" in rationale
    for rule in RULE_LIST:
        assert not re.search(r"(?<!source )\barticle\b", rule.rationale, re.I), rule.code


def test_sarif_fingerprints_survive_moving_code(findings: Path) -> None:
    def fingerprints() -> dict[str, tuple[str, int]]:
        run = json.loads(invoke("lint", ".", "--format", "sarif").output)["runs"][0]
        return {
            r["ruleId"]: (
                r["partialFingerprints"]["kpirules/v1"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
            )
            for r in run["results"]
        }

    before = fingerprints()
    (findings / "x.kpi").write_text("# moved down by a comment\n\n\n" + SHORT_CARD)
    after = fingerprints()
    assert after["L102"][0] == before["L102"][0] and after["L102"][1] == before["L102"][1] + 3
    assert after["L201"] == before["L201"]
    # A different finding on the same line has another fingerprint.
    (findings / "pyproject.toml").write_text(
        "[tool.kpirules.lint.rules]\nL102 = { min = 1, max = 1 }\n"
    )
    assert fingerprints()["L102"][0] != before["L102"][0]


def test_github_output_and_its_escaping(findings: Path) -> None:
    result = invoke("lint", ".", "--format", "github")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == (
        "::warning file=x.kpi,line=1,col=11,endLine=1,endColumn=15,title=L102::scorecard 'lead' "
        "has 2 indicators; keep 3 to 7 (the key few)%0Ahint: add the missing focus areas"
    )
    assert lines[1].startswith("::error file=y.kpi,line=")
    report = Report(
        diagnostics=[
            Diagnostic(
                "L102",
                Severity.ERROR,
                "100% sure: a, b\r\nc",
                Span("dir,with:odd%name.kpi", 3, 5, 3, 9),
                "fix: it",
            )
        ]
    )
    assert github(report) == (
        "::error file=dir%2Cwith%3Aodd%25name.kpi,line=3,col=5,endLine=3,endColumn=9,"
        "title=L102::100%25 sure: a, b%0D%0Ac%0Ahint: fix: it\n"
    )


def test_junit_output_parses(findings: Path) -> None:
    result = invoke("lint", ".", "--format", "junit")
    assert result.exit_code == 1
    root = ET.fromstring(result.output)
    assert root.tag == "testsuites" and root.get("failures") == "1"  # the error, not the warning
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"base.kpi", "x.kpi", "y.kpi"}
    for suite in suites.values():
        names = [c.get("name") for c in suite.findall("testcase")]
        assert names[0] == "kpirules check" and "L102 key-few" in names
        assert suite.get("tests") == str(len(names))
    failing = [c for c in suites["y.kpi"].findall("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failing] == ["L201 coverage-gap"]
    failure = failing[0].find("failure")
    assert failure.get("type") == "error" and "y.kpi:" in failure.text
    assert [s.get("failures") for s in suites.values()] == ["0", "0", "1"]


def junit_cases(output: str) -> dict[tuple[str, str], object]:
    """(file, test case name) → the test case, read by a real JUnit parser."""
    xml = JUnitXml.fromstring(output)
    return {(suite.name, case.name): case for suite in xml for case in suite}


def test_junit_warnings_fail_only_at_the_fail_level(findings: Path) -> None:
    (findings / "y.kpi").unlink()  # only the L102 warning in x.kpi is left
    rules = len([c for c in CODES if not RULES[c].needs_data])
    result = invoke("lint", ".", "--format", "junit")
    assert result.exit_code == 0
    xml = JUnitXml.fromstring(result.output)
    assert (xml.tests, xml.failures, xml.errors) == (2 * (1 + rules), 0, 0)
    cases = junit_cases(result.output)
    assert not [k for k, c in cases.items() if c.result]  # nothing failed or skipped
    key_few = cases[("x.kpi", "L102 key-few")]
    assert key_few.is_passed and "x.kpi:1:11: L102 scorecard 'lead' has 2" in key_few.system_out
    assert "below --fail-level error" in key_few.system_out
    assert cases[("base.kpi", "L102 key-few")].system_out is None

    # --fail-level warning: the same warning fails the run, and is a failure.
    result = invoke("lint", ".", "--format", "junit", "--fail-level", "warning")
    assert result.exit_code == 1
    xml = JUnitXml.fromstring(result.output)
    assert (xml.tests, xml.failures) == (2 * (1 + rules), 1)
    (failure,) = junit_cases(result.output)[("x.kpi", "L102 key-few")].result
    assert isinstance(failure, Failure)
    assert failure.type == "warning" and failure.message == "1 finding"
    assert "x.kpi:1:11: L102" in failure.text


def test_junit_an_error_is_one_failure_and_warnings_stay_out(findings: Path) -> None:
    result = invoke("lint", ".", "--format", "junit")
    assert result.exit_code == 1
    xml = JUnitXml.fromstring(result.output)
    assert xml.failures == 1
    cases = junit_cases(result.output)
    failed = {k: c for k, c in cases.items() if not c.is_passed}
    assert list(failed) == [("y.kpi", "L201 coverage-gap")]
    (failure,) = failed[("y.kpi", "L201 coverage-gap")].result
    assert failure.type == "error" and "y.kpi:" in failure.text and "L201" in failure.text
    assert "L102" in cases[("x.kpi", "L102 key-few")].system_out
    suites = {s.name: s for s in xml}
    assert (suites["y.kpi"].failures, suites["x.kpi"].failures) == (1, 0)


def test_output_to_a_file(findings: Path) -> None:
    result = CliRunner().invoke(main, ["lint", ".", "--format", "sarif", "-o", "results.sarif"])
    assert result.exit_code == 1
    assert json.loads((findings / "results.sarif").read_text())["version"] == "2.1.0"
    assert "1 policy linted: 1 error, 1 warning" in result.output  # the summary, on stderr


# ------------------------------------------------------------------ selection and exit codes


def test_select_ignore_and_fail_level(findings: Path) -> None:
    assert codes_in(invoke("lint", ".", "--select", "L1").output) == ["L102"]
    assert codes_in(invoke("lint", ".", "--select", "correctness,L102").output) == ["L102", "L201"]
    assert codes_in(invoke("lint", ".", "--ignore", "L201").output) == ["L102"]
    # Warnings pass by default, and fail with --fail-level warning.
    assert invoke("lint", ".", "--ignore", "L201").exit_code == 0
    result = invoke("lint", ".", "--ignore", "L201", "--fail-level", "warning")
    assert result.exit_code == 1 and "warnings fail" in result.output
    assert invoke("lint", ".", "--select", "hygiene").exit_code == 0
    result = CliRunner().invoke(main, ["lint", ".", "--select", "L7"])
    assert result.exit_code == 2 and "'L7' is not a rule code" in result.output


def test_exit_codes(project: Path) -> None:
    assert invoke("lint", ".").exit_code == 0
    runner = CliRunner()
    assert runner.invoke(main, ["lint"]).exit_code == 2
    assert runner.invoke(main, ["lint", "missing"]).exit_code == 2
    assert runner.invoke(main, ["lint", ".", "--format", "xml"]).exit_code == 2
    assert runner.invoke(main, ["lint", ".", "--fail-level", "info"]).exit_code == 2
    other = project / "other"
    other.mkdir()
    (other / "p.kpi").write_text(BASE)
    result = runner.invoke(main, ["lint", ".", "--data", "data"])
    assert result.exit_code == 2 and "exactly one policy" in result.output
    result = runner.invoke(main, ["lint", "other", "--data", "nowhere.yaml"])
    assert result.exit_code == 2 and "kpirules:" in result.output


def test_checker_errors_are_reported_and_stop_the_rules(project: Path) -> None:
    (project / "x.kpi").write_text(
        SHORT_CARD + "indicator oops { unit count better higher = count(ordrs) }\n"
    )
    result = invoke("lint", ".")
    assert result.exit_code == 1
    codes = codes_in(result.output)
    assert codes and all(c.startswith("E") for c in codes), result.output
    # ... and says so: "2 errors" alone read as if the rules had looked and found those.
    assert result.output.endswith(
        "1 policy checked, 0 linted: 2 errors, 0 warnings\n"  # E305, E202
        "The policy has errors, so the lint rules were not run. Fix the errors, then lint "
        "again.\n"
    )


FIX_THEM = "Fix the errors, then lint again."
NOT_LINTED = "1 of 2 policies has errors, so the lint rules were not run on it: bad. " + FIX_THEM


@pytest.fixture
def good_and_bad(project: Path) -> Path:
    """Two policies: good/ lints clean, bad/ has two checker errors (E202, E305)."""
    (project / "base.kpi").unlink()
    for name, text in {
        "good": BASE,
        "bad": "indicator broken { unit count  better higher  = count(nothing) }\n",
    }.items():
        (project / name).mkdir()
        (project / name / "p.kpi").write_text(text)
    return project


def test_every_format_says_the_rules_did_not_run(good_and_bad: Path) -> None:
    result = invoke("lint", "good", "bad")
    assert result.exit_code == 1
    assert result.output.endswith(
        f"2 policies checked, 1 linted: 2 errors, 0 warnings\n{NOT_LINTED}\n"
    )
    payload = json.loads(invoke("lint", "good", "bad", "--format", "json").output)
    jsonschema.validate(payload, schema("lint.schema.json"))
    assert payload["notes"] == [NOT_LINTED]
    assert [u["ok"] for u in payload["units"]] == [True, False]
    lines = invoke("lint", "good", "bad", "--format", "github").output.splitlines()
    assert lines[-1] == f"::notice title=Lint rules not run::{NOT_LINTED}"
    assert [line.split(" ")[0] for line in lines] == ["::error", "::error", "::notice"]
    run = json.loads(invoke("lint", "good", "bad", "--format", "sarif").output)["runs"][0]
    assert run["invocations"] == [
        {
            "executionSuccessful": True,
            "toolExecutionNotifications": [{"level": "warning", "message": {"text": NOT_LINTED}}],
        }
    ]
    # JUnit: bad/p.kpi's rule test cases are skipped, its checker test case says why.
    output = invoke("lint", "good", "bad", "--format", "junit").output
    xml = JUnitXml.fromstring(output)
    rules = len([c for c in CODES if not RULES[c].needs_data])
    assert (xml.tests, xml.failures, xml.skipped) == (2 * (1 + rules), 1, rules)
    cases = junit_cases(output)
    check = cases[("bad/p.kpi", "kpirules check")]
    assert isinstance(check.result[0], Failure) and check.result[0].message == "2 findings"
    why = "The policy bad has errors, so the lint rules were not run. " + FIX_THEM
    assert check.system_err == why
    key_few = cases[("bad/p.kpi", "L102 key-few")]
    assert isinstance(key_few.result[0], Skipped) and key_few.result[0].message == why
    assert cases[("good/p.kpi", "L102 key-few")].is_passed
    assert cases[("good/p.kpi", "kpirules check")].system_err is None


def test_a_clean_run_has_no_notes(project: Path) -> None:
    assert json.loads(invoke("lint", ".", "--format", "json").output)["notes"] == []
    run = json.loads(invoke("lint", ".", "--format", "sarif").output)["runs"][0]
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert "::notice" not in invoke("lint", ".", "--format", "github").output
    assert invoke("lint", ".").output == "1 policy linted: no problems\n"


BROKEN = {
    "syntax": "indicator x { unit count better higher = count(orders) \n",
    "empty": "",
    "comment": "# only a comment # kpirules: ignore L101\n",
    "binary": "\x00\x01\x02",
    "deep": "indicator x { unit count better higher = " + "(" * 300 + "1" + ")" * 300 + " }\n",
    "header only": 'policy "P" { cadence monthly }\n',
    "library": "objective o { horizon long }\n",
    "no roster": 'policy "P" { cadence monthly }\nsource s { subject id  columns { id: text } }\n',
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_lint_answers_broken_and_odd_input(project: Path, name: str) -> None:
    (project / "base.kpi").unlink()
    (project / "p.kpi").write_text(BROKEN[name])
    result = CliRunner().invoke(main, ["lint", ".", "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output
    jsonschema.validate(json.loads(result.stdout), schema("lint.schema.json"))


def kpi_blocks(path: Path) -> list[str]:
    return re.findall(r"```kpi\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def test_lint_never_crashes_on_the_documented_policies(tmp_path: Path, monkeypatch) -> None:
    """Every policy snippet of the language and diagnostics references — alone, and added
    to the diagnostics reference's base policy — and every example file on its own."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".kpirules.toml").write_text("")
    blocks = kpi_blocks(REPO / "docs/language.md") + kpi_blocks(REPO / "docs/diagnostics.md")
    base = kpi_blocks(REPO / "docs/diagnostics.md")[0]
    (tmp_path / "alone").mkdir()
    (tmp_path / "added").mkdir()
    (tmp_path / "added" / "base.kpi").write_text(base)
    linted = ok = 0
    for number, block in enumerate(blocks):
        (tmp_path / "alone" / f"b{number}.kpi").write_text(block)
        (tmp_path / "added" / "x.kpi").write_text(block)
        report = lint([Path("added")])
        linted += 1
        ok += report.units[0].ok
    units = [tmp_path / "alone" / f"b{n}.kpi" for n in range(len(blocks))]
    units += sorted((REPO / "policies").glob("*/*.kpi"))
    report = lint(units)
    assert len(report.units) == len(units) and linted == len(blocks) > 50
    # The snippets are mostly mistakes (the diagnostics reference); some do check.
    assert ok >= 5 and sum(u.ok for u in report.units) >= 5


def test_lint_never_crashes_on_mutated_example_policies(tmp_path: Path, monkeypatch) -> None:
    """Odd but valid policies: flip comparisons and zero numbers in the sales policy, one
    place at a time; whatever still checks must lint."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".kpirules.toml").write_text("")
    sales = {p.name: p.read_text() for p in (REPO / "policies/sales").glob("*.kpi")}
    text = sales["scorecards.kpi"] + sales["incentives.kpi"]
    mutations = [(">=", "<"), ("=> 150", "=> 20"), ("cap 150", "cap 10"), ("floor 0", "floor 200")]
    mutations += [
        ("misses", "reaches"),
        ('"Unsatisfactory" otherwise', '"Unsatisfactory" when score < 0'),
    ]
    linted = checked = 0
    for old, new in mutations:
        for index in [m.start() for m in re.finditer(re.escape(old), text)][:6]:
            mutant = text[:index] + new + text[index + len(old) :]
            folder = tmp_path / f"m{linted}"
            folder.mkdir()
            (folder / "catalogue.kpi").write_text(sales["catalogue.kpi"])
            (folder / "rest.kpi").write_text(mutant)
            report = lint([folder])
            linted += 1
            checked += report.units[0].ok
    assert linted > 15 and checked > 10


# ------------------------------------------------------------------ data rules


def test_data_rules_on_a_small_hand_made_dataset(project: Path) -> None:
    # r1..r4: nobody reaches two new customers, only r1 has training, one bad amount.
    orders = (
        "order_id,rep_id,closed_on,amount,new_customer\n"
        "o1,r1,2026-03-25,250000,true\n"
        "o2,r2,2026-03-25,260000,false\n"
        "o3,r3,2026-03-27,270000,true\n"
        "o4,r4,2026-03-30,280000,true\n"
        "o5,r4,2026-03-30,a lot,true\n"
    )
    courses = "course_id,person_id,completed_on,hours\nc1,r1,2026-03-25,5\n"
    write_data(project, orders=orders, courses=courses)
    result = invoke("lint", ".", "--data", "data", "--as-of", AS_OF, "--format", "json")
    findings = {f["code"]: f for f in json.loads(result.output)["findings"]}
    assert set(findings) == {"L401", "L402", "L403", "L404"}, result.output
    assert findings["L401"]["message"].startswith("100% of the 4 evaluated people-periods")
    assert "'revenue'" in findings["L401"]["message"]
    assert (
        findings["L402"]["message"].startswith("only 0% of the 4")
        and "'new_customers'" in findings["L402"]["message"]
    )
    assert findings["L403"]["message"].startswith("'learning' is missing for 75% of the 4")
    assert "1 data-quality finding `type_mismatch`" in findings["L404"]["message"]
    assert findings["L404"]["severity"] == "warning" and result.exit_code == 0
    # Thresholds are options.
    (project / "pyproject.toml").write_text(
        "[tool.kpirules.lint.rules]\nL401 = { share = 1 }\nL403 = { share = 0.8 }\n"
    )
    result = invoke("lint", ".", "--data", "data", "--as-of", AS_OF)
    assert sorted(codes_in(result.output)) == ["L401", "L402", "L404"]
    (project / "pyproject.toml").write_text(
        "[tool.kpirules.lint]\nignore = ['L401', 'L402', 'L403']\n"
    )
    # A data-quality check at level `error` stops the evaluation: an error finding.
    (project / "base.kpi").write_text(
        BASE.replace("  currency CNY\n", "  currency CNY\n  data_quality { type_mismatch error }\n")
    )
    result = invoke("lint", ".", "--data", "data", "--as-of", AS_OF)
    assert result.exit_code == 1 and codes_in(result.output) == ["L404"]
    assert "this stops the evaluation" in result.output


def test_an_entry_that_says_what_missing_means_is_not_often_missing(project: Path) -> None:
    write_data(project, courses="course_id,person_id,completed_on,hours\nc1,r1,2026-03-25,9\n")
    assert "L403" in codes_in(invoke("lint", ".", "--data", "data", "--as-of", AS_OF).output)
    (project / "base.kpi").write_text(
        BASE.replace(
            "    stretch 16 hours => 120\n",
            "    stretch 16 hours => 120\n    when missing => score 0\n",
        )
    )
    assert "L403" not in codes_in(invoke("lint", ".", "--data", "data", "--as-of", AS_OF).output)


def test_a_binding_check_names_the_binding_option_not_a_policy_setting(project: Path) -> None:
    """An orders export with a header and no rows is an error set by the binding: the hint
    is `allow_empty: true` in data.yaml, never a `data_quality` level the checker refuses."""
    write_data(project, orders="order_id,rep_id,closed_on,amount,new_customer\n")
    result = invoke("lint", ".", "--data", "data", "--as-of", AS_OF, "--format", "json")
    findings = [
        f
        for f in json.loads(result.output)["findings"]
        if f["code"] == "L404" and "`empty_source`" in f["message"]
    ]
    assert len(findings) == 1, result.output
    assert "`allow_empty: true` in the binding" in findings[0]["hint"]
    assert "data_quality" not in findings[0]["hint"]
