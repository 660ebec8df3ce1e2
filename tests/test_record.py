"""Run records: `kpirules eval --record DIR` freezes a run, `kpirules verify DIR` proves it
unchanged, and names what was changed when it was.

The sales example is recorded once (one period, a fixed as-of date); each tampering test
works on its own writable copy of that record.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

import kpirules
from kpirules.cli import main
from kpirules.record import manifest_sha256
from kpirules.resources import schema

REPO = Path(__file__).resolve().parent.parent
SALES = REPO / "policies" / "sales"
EVAL = [
    "eval",
    str(SALES),
    "--data",
    str(SALES / "data.yaml"),
    "--period",
    "2026-Q4",
    "--as-of",
    "2027-01-04",
]
ORDERS = "data/policies/sales/data/crm_closed_orders.csv"
SCORECARDS = "policy/policies/sales/scorecards.kpi"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, str, str]:
    """The sales example recorded into an existing empty folder: (folder, eval's standard
    output, eval's standard error)."""
    folder = tmp_path_factory.mktemp("records") / "q4"
    folder.mkdir()
    result = invoke(*EVAL, "--format", "json", "--record", str(folder))
    assert result.exit_code == 0, result.output
    return folder, result.stdout, result.stderr


@pytest.fixture
def record(recorded, tmp_path) -> Path:
    """A writable copy of the recorded run, to tamper with."""
    copy = tmp_path / "copy"
    shutil.copytree(recorded[0], copy)
    for path in copy.rglob("*"):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return copy


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def rewrite_manifest(folder: Path, manifest: dict, rehash: bool) -> None:
    if rehash:
        manifest["manifest_sha256"] = manifest_sha256(manifest)
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    (folder / "manifest.json").write_text(text, encoding="utf-8")


def sha256_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ recording


def test_record_holds_every_input_and_the_results(recorded):
    folder, stdout, _ = recorded
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == [
        "data/policies/sales/data.yaml",
        ORDERS,
        "data/policies/sales/data/hr_sales_staff.xlsx",
        "data/policies/sales/data/training.csv",
        "data/policies/sales/data/upward_feedback.parquet",
        "manifest.json",
        "policy/policies/sales/catalogue.kpi",
        "policy/policies/sales/incentives.kpi",
        SCORECARDS,
        "policy/policies/sales/tests.kpi",
        "results.json",
    ]
    for relative in files:
        if relative.startswith(("policy/", "data/")):
            original = REPO / relative.split("/", 1)[1]
            assert (folder / relative).read_bytes() == original.read_bytes(), relative
    # results.json is exactly what eval printed, and what eval prints from the project root
    assert (folder / "results.json").read_text(encoding="utf-8") == stdout
    manifest = manifest_of(folder)
    assert manifest["parameters"] == {
        "policy_arg": str(SALES),
        "data_arg": str(SALES / "data.yaml"),
        "policy": "policies/sales",
        "period": "2026-Q4",
        "as_of": "2027-01-04",
    }
    assert manifest["kpirules_version"] == kpirules.__version__
    assert manifest["sources"]["orders"]["path"] == ORDERS
    assert manifest["sources"]["employees"]["sheet"] == "Employees"
    roles = {entry["path"]: entry["role"] for entry in manifest["files"]}
    assert roles["results.json"] == "results"
    assert roles["data/policies/sales/data.yaml"] == "binding"
    assert roles[ORDERS] == "data"
    assert roles[SCORECARDS] == "policy"
    for entry in manifest["files"]:
        assert entry["sha256"] == sha256_of(folder / entry["path"]), entry["path"]


def test_recorded_results_match_a_plain_eval_from_the_project_root(recorded, monkeypatch):
    monkeypatch.chdir(REPO)
    result = invoke(
        "eval",
        "policies/sales",
        "--data",
        "policies/sales/data.yaml",
        "--period",
        "2026-Q4",
        "--as-of",
        "2027-01-04",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    assert (recorded[0] / "results.json").read_text(encoding="utf-8") == result.stdout
    assert '"rule": "policies/sales/incentives.kpi:' in result.stdout
    assert '"file": "policies/sales/data/crm_closed_orders.csv"' in result.stdout


def test_manifest_validates_and_its_hash_covers_all_but_the_timestamp(recorded):
    manifest = manifest_of(recorded[0])
    errors = list(Draft202012Validator(schema("record.schema.json")).iter_errors(manifest))
    assert errors == []
    assert manifest["manifest_sha256"] == manifest_sha256(manifest)
    assert (
        manifest_sha256({**manifest, "created_at": "1999-01-01T00:00:00+00:00"})
        == (manifest["manifest_sha256"])
    )
    changed = {**manifest, "parameters": {**manifest["parameters"], "as_of": "2027-01-05"}}
    assert manifest_sha256(changed) != manifest["manifest_sha256"]


def test_record_files_are_read_only(recorded):
    files = [p for p in recorded[0].rglob("*") if p.is_file()]
    assert len(files) == 11
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o444, path


def test_eval_reports_the_manifest_hash(recorded):
    folder, stdout, stderr = recorded
    digest = manifest_of(folder)["manifest_sha256"]
    assert stderr == f"recorded the run in {folder} (manifest sha256 {digest})\n"
    assert json.loads(stdout)["periods"] == ["2026-Q4"]


def test_record_refuses_a_folder_that_is_not_empty(tmp_path):
    folder = tmp_path / "used"
    folder.mkdir()
    (folder / "keep.txt").write_text("earlier work")
    result = invoke(*EVAL, "--record", str(folder))
    assert result.exit_code == 1
    assert "is not empty; a run record is never overwritten" in result.stderr
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    assert (folder / "keep.txt").read_text() == "earlier work"


def test_record_refuses_a_file(tmp_path):
    target = tmp_path / "record"
    target.write_text("x")
    result = invoke(*EVAL, "--record", str(target))
    assert result.exit_code == 1
    assert "exists and is not a folder" in result.stderr


def test_a_failed_run_leaves_no_record(tmp_path):
    target = tmp_path / "runs" / "bad"
    args = [a if a != "2026-Q4" else "2031-Q1" for a in EVAL]
    result = invoke(*args, "--record", str(target))
    assert result.exit_code == 1
    assert "outside the policy's range" in result.stderr
    assert not target.exists()
    assert list((tmp_path / "runs").iterdir()) == []  # no partial folder either


def test_as_of_defaults_to_today_and_is_recorded(tmp_path):
    from datetime import date

    target = tmp_path / "today"
    args = [a for a in EVAL if a not in ("--as-of", "2027-01-04")]
    before = date.today().isoformat()
    result = invoke(*args, "--format", "json", "--record", str(target))
    after = date.today().isoformat()
    assert result.exit_code == 0, result.output
    assert manifest_of(target)["parameters"]["as_of"] in (before, after)


# ------------------------------------------------------------------ verifying


def test_verify_an_intact_record(recorded):
    folder = recorded[0]
    digest = manifest_of(folder)["manifest_sha256"]
    result = invoke("verify", str(folder))
    assert result.exit_code == 0, result.output
    assert f"ok    manifest.json hash {digest}" in result.output
    assert (
        "ok    10 files match their recorded SHA-256 (4 policy, 1 binding, 4 data, 1 results)"
        in (result.output)
    )
    assert "ok    re-run reproduces results.json byte for byte" in result.output
    assert "FAIL" not in result.output
    assert result.output.rstrip().endswith("is intact and its results reproduce")


def test_verify_from_another_working_directory(recorded, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("verify", os.path.relpath(recorded[0], tmp_path))
    assert result.exit_code == 0, result.output


def test_modified_data_file(record):
    path = record / ORDERS
    text = path.read_text(encoding="utf-8")
    line = next(row for row in text.splitlines() if ",2026-11-01," in row)
    fields = line.split(",")
    fields[4] = "9" + fields[4]  # a bigger order in Q4
    path.write_text(text.replace(line, ",".join(fields), 1), encoding="utf-8")
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert f"FAIL  data file {ORDERS} was modified (sha256 now {sha256_of(path)}, recorded" in (
        result.output
    )
    assert "FAIL  re-run differs from results.json in" in result.output
    assert "summary.payout_total:" in result.output
    assert "policy file" not in result.output
    assert "NOT VERIFIED: 2 problems" in result.output


def test_one_flipped_byte_in_binary_data(record):
    path = record / "data/policies/sales/data/upward_feedback.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  data file data/policies/sales/data/upward_feedback.parquet was modified" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_modified_policy_file(record):
    path = record / SCORECARDS
    text = path.read_text(encoding="utf-8")
    assert "    target 6 => 100\n" in text
    path.write_text(text.replace("    target 6 => 100\n", "    target 5 => 100\n", 1))
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert f"FAIL  policy file {SCORECARDS} was modified (sha256 now " in result.output
    assert "FAIL  re-run differs from results.json in" in result.output
    assert "data file" not in result.output


def test_modified_results(record):
    path = record / "results.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    original = document["totals"][12]["total"]
    assert original != 97.5
    document["totals"][12]["total"] = 97.5
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  results file results.json was modified" in result.output
    assert "FAIL  re-run differs from results.json in 1 value (results.json ≠ re-run):" in (
        result.output
    )
    assert f"totals[12].total: 97.5 ≠ {json.dumps(original)}" in result.output


def test_results_with_the_same_values_in_another_layout(record):
    path = record / "results.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "re-run differs from results.json in layout only" in result.output


def test_deleted_file(record):
    (record / "data/policies/sales/data/training.csv").unlink()
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  data file data/policies/sales/data/training.csv is missing" in result.output
    assert "FAIL  not re-run: 1 recorded input file missing or replaced" in result.output


def test_deleted_results(record):
    (record / "results.json").unlink()
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  results file results.json is missing" in result.output
    assert "re-run not compared: results.json is missing" in result.output


def test_extra_file(record):
    (record / "policy" / "notes.txt").write_text("added later")
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  unexpected file policy/notes.txt: not listed in the manifest" in result.output
    assert "ok    re-run reproduces results.json byte for byte" in result.output
    assert "NOT VERIFIED: 1 problem in" in result.output


def test_extra_policy_file_that_does_not_parse(record):
    (record / "policy/policies/sales/extra.kpi").write_text("policy x {\n")
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  unexpected file policy/policies/sales/extra.kpi" in result.output
    assert "FAIL  re-run failed: the recorded policy does not check" in result.output
    assert "policy/policies/sales/extra.kpi:1:" in result.output


def test_edited_manifest(record):
    manifest = manifest_of(record)
    manifest["parameters"]["period"] = "2026-Q3"
    rewrite_manifest(record, manifest, rehash=False)
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  manifest.json was modified: its content hashes to " in result.output
    assert f"records manifest_sha256 {manifest['manifest_sha256']}" in result.output
    assert 'periods[0]: "2026-Q4" ≠ "2026-Q3"' in result.output


def test_data_and_its_hash_entry_edited_together(record):
    path = record / ORDERS
    path.write_bytes(path.read_bytes().replace(b",core,", b",new,", 1))
    manifest = manifest_of(record)
    for entry in manifest["files"]:
        if entry["path"] == ORDERS:
            entry["sha256"] = sha256_of(path)
    rewrite_manifest(record, manifest, rehash=False)
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  manifest.json was modified" in result.output
    assert f"data file {ORDERS} was modified" not in result.output  # its entry now agrees


def test_a_fully_rewritten_record_is_caught_by_the_expected_hash(recorded, record):
    """An attacker who edits a data row that leaves the results as they were (a January
    order's market), then rewrites its hash and the manifest hash, makes a record that
    agrees with itself; only the manifest hash kept outside the record tells."""
    expected = manifest_of(recorded[0])["manifest_sha256"]
    path = record / ORDERS
    path.write_bytes(path.read_bytes().replace(b",core,", b",new,", 1))
    manifest = manifest_of(record)
    for entry in manifest["files"]:
        if entry["path"] == ORDERS:
            entry["sha256"] = sha256_of(path)
    rewrite_manifest(record, manifest, rehash=True)
    forged = invoke("verify", str(record))
    assert forged.exit_code == 0, forged.output
    assert manifest["manifest_sha256"] != expected
    assert invoke("verify", str(record), "--expect-sha256", expected).exit_code == 1
    result = invoke("verify", str(recorded[0]), "--expect-sha256", expected.upper())
    assert result.exit_code == 0, result.output
    assert "ok    the manifest hash is the expected one" in result.output
    result = invoke("verify", str(record), "--expect-sha256", expected)
    assert f"not the expected {expected}: this is not the record that was made" in result.output


def test_other_kpirules_version_still_verifies(record):
    manifest = manifest_of(record)
    manifest["kpirules_version"] = "0.0.9"
    rewrite_manifest(record, manifest, rehash=True)
    result = invoke("verify", str(record))
    assert result.exit_code == 0, result.output
    assert f"recorded with kpirules 0.0.9, verifying with kpirules {kpirules.__version__}" in (
        result.output
    )


def test_truncated_manifest(record):
    path = record / "manifest.json"
    path.write_bytes(path.read_bytes()[:100])
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  manifest.json is not valid JSON (line " in result.output
    assert "corrupt or truncated" in result.output
    assert "Traceback" not in result.output


def test_manifest_that_is_not_utf8(record):
    (record / "manifest.json").write_bytes(b"\xff\xfe{}")
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  manifest.json is not UTF-8 text" in result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m["files"][0].update(sha256="xyz"), "files[0].sha256: 'xyz' does not match"),
        (lambda m: m.pop("parameters"), "'parameters' is a required property"),
        (lambda m: m.update(files="all of them"), "files: 'all of them' is not of type 'array'"),
    ],
)
def test_manifest_that_breaks_the_schema(record, change, message):
    manifest = manifest_of(record)
    change(manifest)
    rewrite_manifest(record, manifest, rehash=False)
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  manifest.json does not match the run record schema:" in result.output
    assert message in result.output


def test_manifest_that_is_not_an_object(record):
    (record / "manifest.json").write_text("[]")
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "[] is not of type 'object'" in result.output


def test_manifest_pointing_outside_the_record(record):
    manifest = manifest_of(record)
    manifest["files"][0]["path"] = "policy/../../../etc/passwd"
    rewrite_manifest(record, manifest, rehash=True)
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  manifest.json lists what cannot be in a run record:" in result.output
    assert "'policy/../../../etc/passwd': not a plain relative path" in result.output


def test_manifest_with_an_impossible_date(record):
    manifest = manifest_of(record)
    manifest["parameters"]["as_of"] = "2027-13-45"
    rewrite_manifest(record, manifest, rehash=True)
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "parameters.as_of '2027-13-45': not a date" in result.output


def test_newer_record_format(record):
    manifest = manifest_of(record)
    manifest["format_version"] = 2
    rewrite_manifest(record, manifest, rehash=True)
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  manifest.json is record format version 2;" in result.output


def test_missing_manifest(record):
    (record / "manifest.json").unlink()
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  manifest.json is missing: not a run record, or an incomplete one" in (
        result.output
    )


def test_empty_folder(tmp_path):
    result = invoke("verify", str(tmp_path))
    assert result.exit_code == 1
    assert f"FAIL  {tmp_path} is empty: not a run record (no manifest.json)" in result.output
    assert f"NOT VERIFIED: 1 problem in the run record {tmp_path}" in result.output


def test_no_such_folder(tmp_path):
    result = invoke("verify", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "no such folder" in result.output


def test_a_file_replaced_by_a_folder(record):
    path = record / "data/policies/sales/data/training.csv"
    path.unlink()
    path.mkdir()
    result = invoke("verify", str(record))
    assert result.exit_code == 1
    assert "FAIL  data file data/policies/sales/data/training.csv is not a regular file" in (
        result.output
    )
