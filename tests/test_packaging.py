"""A plain (non-editable) wheel carries the grammar, schemas, templates and styles and
works on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_wheel_installs_and_checks_a_policy(tmp_path: Path):
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(wheels),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("kpirules-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "kpirules/grammar/kpi.lark" in names
    assert "kpirules/schemas/check.schema.json" in names
    # Files the newer commands read at run time: the TUI's styles, the feedback templates.
    assert "kpirules/tui/app.tcss" in names
    for template in (REPO / "kpirules" / "feedback" / "templates").iterdir():
        assert f"kpirules/feedback/templates/{template.name}" in names

    target = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--quiet",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr

    # Run from a folder outside the repository, with the wheel's copy first on the path,
    # so neither the source tree nor the editable install can supply the grammar.
    work = tmp_path / "work"
    work.mkdir()
    (work / "p.kpi").write_text(
        'policy "W" {\n  cadence yearly\n}\nbenchmark pass_rate = 98.5%\n', encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    script = (
        "import kpirules, sys\n"
        "from kpirules.resources import resource, schema\n"
        f"assert kpirules.__file__.startswith({str(target)!r}), kpirules.__file__\n"
        f"assert str(resource('grammar', 'kpi.lark')).startswith({str(target)!r})\n"
        "assert schema('check.schema.json')['title']\n"
        "from kpirules.cli import main\n"
        "sys.argv = ['kpirules', 'check', 'p.kpi']\n"
        "main()\n"
    )
    # PYTHONPATH comes before site-packages and the editable install's path entry.
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 policy checked: no problems" in run.stdout + run.stderr
