"""Sources in a real PostgreSQL database: a throwaway server, the flagship's data in it,
and the results of reading it equal the results of reading the files.

The server is started from the installed PostgreSQL binaries (`initdb`, `pg_ctl`) in a
temporary folder on a free port, and stopped at the end. A missing binary fails the test
with what to install; it is never skipped."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import yaml
from psycopg import sql

import kpirules
from kpirules.data import DataError, load_data
from kpirules.engine import evaluate

ROOT = Path(__file__).resolve().parents[2]
SALES = ROOT / "policies" / "sales"
AS_OF = "2027-01-04"


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        pytest.fail(f"{name} not found: install PostgreSQL (apt-get install postgresql)")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """A PostgreSQL server of its own: (url, connection as the owner)."""
    # Not under pytest's temporary folder: as root that is closed to the server's user.
    folder = Path(tempfile.mkdtemp(prefix="kpirules-postgres-"))
    # PostgreSQL refuses to run as root; CI runs as root, so the server runs as nobody.
    run_as = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(folder, "nobody")
    data, port = folder / "data", _free_port()
    subprocess.run(
        [*run_as, _binary("initdb"), "-D", str(data), "-A", "trust", "-U", "owner", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = [*run_as, _binary("pg_ctl"), "-D", str(data), "-o", options, "-w", "start"]
    subprocess.run([*start, "-l", str(folder / "log")], check=True, capture_output=True)
    try:
        with psycopg.connect(f"postgresql://owner@127.0.0.1:{port}/postgres") as owner:
            owner.autocommit = True
            owner.execute("CREATE ROLE reader LOGIN")
            owner.execute("CREATE DATABASE hr OWNER owner")
        with psycopg.connect(f"postgresql://owner@127.0.0.1:{port}/hr", autocommit=True) as hr:
            yield f"postgresql://reader@127.0.0.1:{port}/hr", hr
    finally:
        stop = [*run_as, _binary("pg_ctl"), "-D", str(data), "-m", "fast", "stop"]
        subprocess.run(stop, check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _copy_csv(connection, table: str, path: Path, schema: str = "text_copy") -> None:
    """A CSV file into a table of text columns: the database holds the cells as written."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    columns = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in frame)
    name = sql.Identifier(schema, table)
    connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    connection.execute(sql.SQL("CREATE TABLE {} ({})").format(name, columns))
    with connection.cursor().copy(sql.SQL("COPY {} FROM STDIN").format(name)) as copy:
        for row in frame.itertuples(index=False):
            copy.write_row([None if cell == "" else cell for cell in row])
    connection.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO reader").format(sql.Identifier(schema)))
    connection.execute(sql.SQL("GRANT SELECT ON {} TO reader").format(name))


def _binding(name: str, entries: dict[str, dict]) -> Path:
    """A binding of this test's own beside the flagship's data (never its data.yaml)."""
    path = SALES / f".{name}.binding.yaml"
    path.write_text(json.dumps({"version": 1, "sources": entries}), encoding="utf-8")
    return path


def _outcomes(results) -> dict:
    """Every result table but the data-quality section, which names the files read."""
    document = json.loads(results.to_json())
    document.pop("data_quality")
    return document


def _file_entries() -> dict[str, dict]:
    return yaml.safe_load((SALES / "data.yaml").read_text(encoding="utf-8"))["sources"]


def test_the_flagship_read_from_postgres_gives_the_file_results(server) -> None:
    """The CRM export and the training records, copied cell for cell into text columns
    (as a staging schema holds them), give the same results as the files — and the
    seeded data-quality problems in them are found on the same rows."""
    url, owner = server
    policy = kpirules.load(SALES)
    entries = _file_entries()
    moved = ("orders", "training")
    for name in moved:
        _copy_csv(owner, name, SALES / entries[name]["path"])
        entries[name] = {"url": url, "table": f"text_copy.{name}"}
    binding = _binding("postgres-tables", entries)
    try:
        from_database = evaluate(policy, binding, history=True, as_of=_date(AS_OF))
    finally:
        binding.unlink()
    from_files = evaluate(policy, SALES / "data.yaml", history=True, as_of=_date(AS_OF))
    assert from_files.payouts["amount"].sum() > 0  # the comparison covers real payouts
    assert _outcomes(from_database) == _outcomes(from_files)
    keys = ["source", "row", "column", "check"]
    found = from_database.quality[keys].reset_index(drop=True)
    expected = from_files.quality[keys].copy()
    # A CSV's first data row is row 2 (the header is row 1); a query's first row is 1.
    in_database = expected["source"].isin(moved)
    expected.loc[in_database, "row"] = expected.loc[in_database, "row"] - 1
    assert in_database.any()  # the seeded problems include rows of the moved sources
    assert found.equals(expected.reset_index(drop=True))


def test_a_query_runs_read_only_and_typed_columns_are_read_as_numbers(server) -> None:
    url, owner = server
    owner.execute(
        "CREATE TABLE typed_feedback AS SELECT 'R' || g AS response_id, 'E1001' AS manager_id,"
        " DATE '2026-02-01' + g AS submitted_on, (g % 5 + 1)::numeric(4,1) AS coaching_score"
        " FROM generate_series(1, 4) AS g"
    )
    owner.execute("GRANT SELECT ON typed_feedback TO reader")
    policy = kpirules.load(SALES)
    entries = _file_entries()
    entries["upward_feedback"] = {
        "url": url,
        "query": "SELECT * FROM typed_feedback ORDER BY response_id",
    }
    binding = _binding("postgres-query", entries)
    try:
        loaded = load_data(policy, binding, as_of=_date(AS_OF))
        scores = loaded.frames["upward_feedback"]["coaching_score"].tolist()
        assert scores == [2.0, 3.0, 4.0, 5.0]  # numeric(4,1) 2.0 … 5.0, as numbers
        entries["upward_feedback"]["query"] = "DELETE FROM typed_feedback RETURNING *"
        _binding("postgres-query", entries)
        with pytest.raises(DataError, match="read-only transaction"):
            load_data(policy, binding, as_of=_date(AS_OF))
    finally:
        binding.unlink()
    rows = owner.execute("SELECT count(*) FROM typed_feedback").fetchone()[0]
    assert rows == 4  # nothing was deleted


def test_a_password_in_the_url_is_refused_before_connecting(tmp_path) -> None:
    policy = kpirules.load(SALES)
    entries = _file_entries()
    entries["orders"] = {"url": "postgresql://hr:s3cret@db.example/hr", "table": "orders"}
    binding = _binding("postgres-password", entries)
    try:
        with pytest.raises(DataError) as raised:
            load_data(policy, binding)
    finally:
        binding.unlink()
    message = str(raised.value)
    assert "carries a password" in message and "PGPASSWORD" in message
    assert "s3cret" not in message


def _date(text: str):
    from datetime import date

    return date.fromisoformat(text)


def test_a_run_record_refuses_a_database_source_and_says_why(tmp_path) -> None:
    from click.testing import CliRunner

    from kpirules.cli import main

    entries = _file_entries()
    entries["orders"] = {"url": "postgresql://hr@127.0.0.1:1/hr", "table": "orders"}
    binding = _binding("postgres-record", entries)
    try:
        result = CliRunner().invoke(
            main, ["eval", str(SALES), "--data", str(binding), "--record", str(tmp_path / "r")]
        )
    finally:
        binding.unlink()
    assert result.exit_code != 0
    assert "source orders is read from a database" in result.output
    assert not (tmp_path / "r").exists()
