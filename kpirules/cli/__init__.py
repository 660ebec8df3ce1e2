"""The `kpirules` command: a thin layer over the pipeline.

Exit codes everywhere: 0 clean, 1 findings or failures, 2 usage or internal error.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
import traceback
from pathlib import Path

import click

from kpirules import __version__
from kpirules.api import check_unit
from kpirules.cli.common import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_USAGE,
    OutputPath,
    _as_of_option,
    _data_option,
    _progress,
    echo,
    emit,
    load_policy_or_exit,
)
from kpirules.diagnostics import Diagnostic, Severity, SourceCache, render_text
from kpirules.loader import (
    discover,
    display_path,
    find_root,
    outside_root,
    policy_files,
    read_text,
)
from kpirules.paths import confine
from kpirules.text import SafeConsole, to_json

# Commands in their own modules, imported only when run (the TUI pulls in Textual).
LAZY_COMMANDS: dict[str, str] = {
    # "name": "module:function",
    "analyze": "kpirules.cli.analyze:analyze",
    "diff": "kpirules.cli.diff:diff",
    "feedback": "kpirules.cli.feedback:feedback",
    "report": "kpirules.cli.report:report",
    "tui": "kpirules.cli.tui:tui",
}


class _Group(click.Group):
    """Turn any unexpected exception into a short message and exit code 2; load the
    commands of LAZY_COMMANDS on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS:
            module, function = LAZY_COMMANDS[name].split(":")
            return getattr(importlib.import_module(module), function)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            sys.exit(130)
        except BrokenPipeError:
            # The reader went away (`kpirules check … | head`): stop quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_CLEAN)
        except Exception as exc:
            from kpirules.engine.runner import RunnerUnavailable

            if isinstance(exc, RunnerUnavailable):  # e.g. --engine spark without Java
                echo(f"kpirules: {exc}", err=True)
                sys.exit(EXIT_USAGE)
            if os.environ.get("KPIRULES_DEBUG"):
                traceback.print_exc()
            echo(f"kpirules: internal error: {type(exc).__name__}: {exc}", err=True)
            echo("Please report this; set KPIRULES_DEBUG=1 for details.", err=True)
            sys.exit(EXIT_USAGE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kpirules")
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "pandas", "spark"]),
    envvar="KPIRULES_ENGINE",
    default="duckdb",
    show_default=True,
    help="What runs the policy's plan: DuckDB (embedded), pandas (the reference) "
    "or Spark (PySpark, needs Java and pip install 'kpirules[spark]').",
)
@click.option(
    "--spark-master",
    envvar="KPIRULES_SPARK_MASTER",
    metavar="URL",
    help="With --engine spark: the Spark master, e.g. spark://host:7077 [default: local[*]].",
)
def main(engine: str, spark_master: str | None) -> None:
    """Policy-as-code for KPI performance management."""
    from kpirules.engine import use_runner

    use_runner(engine)  # every command below evaluates with it
    if spark_master:
        from kpirules.engine.spark import use_master

        use_master(spark_master)


def _resolve_units(paths: tuple[str, ...]) -> list[Path]:
    units, missing = discover(list(paths))
    for raw in missing:
        raise click.UsageError(f"no .kpi files at {raw!r}")
    return units


def _summary(diagnostics: list[Diagnostic], units: int) -> str:
    errors = sum(d.severity == Severity.ERROR for d in diagnostics)
    warnings = sum(d.severity == Severity.WARNING for d in diagnostics)
    noun = "policy" if units == 1 else "policies"
    if not errors and not warnings:
        return f"{units} {noun} checked: no problems"
    return (
        f"{units} {noun} checked: {errors} error{'s' * (errors != 1)}, "
        f"{warnings} warning{'s' * (warnings != 1)}"
    )


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output for people or for machines.",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True),
    help="Project root that imports may not leave (default: nearest folder with "
    "pyproject.toml, .kpirules.toml, kpirules.toml or .git).",
)
def check(paths: tuple[str, ...], output_format: str, strict: bool, root: str | None) -> None:
    """Parse and check policy files or folders; report every problem found."""
    units = _resolve_units(paths)
    sources = SourceCache()
    seen: set[tuple] = set()
    diagnostics: list[Diagnostic] = []
    results = []
    for path in units:
        unit, policy, found = check_unit(path, root)
        sources.merge(unit.sources)
        fresh = []
        for diagnostic in found:  # a shared file imported by several units is reported once
            key = (diagnostic.code, diagnostic.span, diagnostic.message)
            if key not in seen:
                seen.add(key)
                fresh.append(diagnostic)
        diagnostics.extend(fresh)
        results.append(
            {
                "path": display_path(path),
                "policy": policy.header.name if policy and policy.header else None,
                "library": bool(policy) and policy.header is None,
                "files": [m.path for m in unit.modules],
                "ok": policy is not None,
            }
        )
    failed = any(d.severity == Severity.ERROR for d in diagnostics) or (
        strict and any(d.severity == Severity.WARNING for d in diagnostics)
    )
    if output_format == "json":
        payload = {
            "version": 1,
            "units": results,
            "diagnostics": [d.to_dict() for d in diagnostics],
            "summary": {
                "errors": sum(d.severity == Severity.ERROR for d in diagnostics),
                "warnings": sum(d.severity == Severity.WARNING for d in diagnostics),
                "units": len(units),
            },
        }
        echo(to_json(payload, indent=2))
    else:
        for diagnostic in diagnostics:
            echo(render_text(diagnostic, sources))
            echo()
        echo(_summary(diagnostics, len(units)), err=bool(diagnostics))
    sys.exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Change nothing; exit 1 if any file is not formatted.",
)
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of the changes.")
def fmt(paths: tuple[str, ...], check_only: bool, show_diff: bool) -> None:
    """Rewrite policy files in the canonical layout, keeping every comment."""
    from kpirules.formatter import format_source

    files = _kpi_files(paths)
    sources = SourceCache()
    changed = failed = 0
    for path in files:
        root = find_root(path)
        if confine(path, root) is None:  # a link out of the project: neither read nor written
            echo(render_text(outside_root(path, root), sources))
            failed += 1
            continue
        shown = display_path(path)
        text, problem = read_text(path, shown)
        if problem is not None:
            echo(render_text(problem, sources))
            failed += 1
            continue
        formatted, diagnostics = format_source(text, shown)
        if formatted is None:
            sources.add(shown, text.replace("\r\n", "\n").lstrip("\ufeff"))
            for diagnostic in diagnostics:
                echo(render_text(diagnostic, sources))
            failed += 1
            continue
        if formatted == text:
            continue
        changed += 1
        if show_diff:
            diff = difflib.unified_diff(
                text.splitlines(keepends=True),
                formatted.splitlines(keepends=True),
                fromfile=f"a/{shown}",
                tofile=f"b/{shown}",
            )
            echo("".join(diff), nl=False)
        if check_only:
            if not show_diff:
                echo(f"would reformat {shown}")
        elif not show_diff:
            path.write_text(formatted, encoding="utf-8", newline="\n")
            echo(f"reformatted {shown}")
    verb = "would reformat" if check_only or show_diff else "reformatted"
    summary = f"{len(files)} file{'s' * (len(files) != 1)}: {changed} {verb}"
    if failed:
        summary += f", {failed} could not be formatted"
    echo(summary, err=True)
    sys.exit(EXIT_FINDINGS if failed or ((check_only or show_diff) and changed) else EXIT_CLEAN)


def _kpi_files(paths: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            found = policy_files(path)
            if not found:
                raise click.UsageError(f"no .kpi files under {raw!r}")
            files.extend(found)
        else:
            raise click.UsageError(f"no such file or folder: {raw!r}")
    return files


@main.command("eval")
@click.argument("policy_path", metavar="POLICY")
@_data_option
@click.option("--period", help="Evaluate one period (e.g. 2026-Q1); default: all of them.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "csv", "xlsx", "parquet"]),
    default="table",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=OutputPath(writable=True),
    help="Write to this file instead of the terminal (required for xlsx; a folder for parquet).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Rows shown in the table.",
)
@_as_of_option
@click.option(
    "--record",
    "record_dir",
    metavar="DIR",
    type=OutputPath(),
    help="Also write a run record (inputs, hashes, results) into this new or empty folder.",
)
def eval_command(
    policy_path: str,
    data_path: str,
    period: str | None,
    output_format: str,
    output: str | None,
    limit: int,
    as_of,
    record_dir: str | None,
) -> None:
    """Evaluate a policy against data: values, scores, ratings, payouts, actions."""
    from kpirules.data import DataError
    from kpirules.engine import EvaluationError, evaluate
    from kpirules.export import write_csv, write_parquet, write_xlsx
    from kpirules.present import print_results
    from kpirules.record import RecordError, write_record

    if output_format == "xlsx" and not output:
        raise click.UsageError("--format xlsx needs -o FILE.xlsx")
    if output_format == "parquet" and not output:
        raise click.UsageError("--format parquet needs -o DIR (one file per result table)")
    if output and Path(output).is_dir() and output_format != "parquet":
        raise click.UsageError(f"-o {output}: is a folder; --format {output_format} writes a file")
    if (
        output
        and Path(output).exists()
        and not Path(output).is_dir()
        and output_format == "parquet"
    ):
        raise click.UsageError(f"-o {output}: is a file; --format parquet writes a folder")
    unit, policy, diagnostics = check_unit(policy_path)
    if policy is None:
        for diagnostic in diagnostics:
            echo(render_text(diagnostic, unit.sources), err=True)
        sys.exit(EXIT_FINDINGS)
    console = SafeConsole(stderr=True)
    day, digest = (as_of.date() if as_of else None), None
    try:
        with _progress(console) as advance:
            if record_dir is None:
                results = evaluate(policy, data_path, period, as_of=day, progress=advance)
            else:  # evaluate the copies the record keeps: what verify re-runs
                results, digest = write_record(
                    record_dir, unit, policy, data_path, period, day, policy_path, advance
                )
    except RecordError as exc:
        echo(f"kpirules: {exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    except DataError as exc:
        for problem in exc.problems:
            echo(f"kpirules: {problem}", err=True)
        sys.exit(EXIT_FINDINGS)
    except EvaluationError as exc:
        echo(f"kpirules: {exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    if digest:
        echo(f"recorded the run in {record_dir} (manifest sha256 {digest})", err=True)
    target = Path(output) if output else None
    if output_format == "json":
        emit(results.to_json(), target)
    elif output_format == "csv":
        emit(write_csv(results, None), target)
    elif output_format == "xlsx":
        write_xlsx(results, target)
        echo(f"wrote {target}", err=True)
    elif output_format == "parquet":
        written = write_parquet(results, target)
        echo(f"wrote {len(written)} files into {target}", err=True)
    elif target is not None:
        with target.open("w", encoding="utf-8") as handle:
            print_results(results, SafeConsole(file=handle, width=160), limit)
    else:
        print_results(results, SafeConsole(), limit)
    sys.exit(EXIT_FINDINGS if results.blocked else EXIT_CLEAN)


@main.command()
@click.argument("record_dir", metavar="DIR")
@click.option(
    "--expect-sha256",
    "expected",
    metavar="HASH",
    help="The manifest hash noted when the record was made; fail unless the record has it.",
)
def verify(record_dir: str, expected: str | None) -> None:
    """Re-run a run record from its recorded inputs and check that nothing changed."""
    from kpirules.record import verify as verify_record

    report = verify_record(record_dir, expected)
    for line in report.lines:
        echo(line)
    echo(report.summary())
    sys.exit(EXIT_FINDINGS if report.problems else EXIT_CLEAN)


@main.command("test")
@click.argument("paths", nargs=-1, required=True)
@click.option("--run", "pattern", metavar="REGEX", help="Run only tests whose name matches.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--coverage",
    "show_coverage",
    is_flag=True,
    help="Report the rating levels, curve segments, gates and action rules exercised.",
)
@click.option(
    "--coverage-threshold",
    type=click.FloatRange(0, 100),
    metavar="PCT",
    help="Fail when coverage is below PCT percent (implies --coverage).",
)
def test_command(
    paths: tuple[str, ...],
    pattern: str | None,
    output_format: str,
    show_coverage: bool,
    coverage_threshold: float | None,
) -> None:
    """Run the test blocks of policies: PASS/FAIL/ERROR per test, then a summary line."""
    import re

    from kpirules.testing import coverage, run_tests

    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise click.UsageError(f"--run: not a regular expression: {exc}") from None
    show_coverage = show_coverage or coverage_threshold is not None
    units = _resolve_units(paths)
    counts = {"pass": 0, "fail": 0, "error": 0}
    report: list[dict] = []
    below = False
    for path in units:
        unit, policy, diagnostics = check_unit(path)
        if policy is None:
            for diagnostic in diagnostics:
                echo(render_text(diagnostic, unit.sources), err=True)
            counts["error"] += 1
            report.append({"policy": display_path(path), "error": "the policy does not check"})
            continue
        if not policy.tests:
            continue
        outcomes = run_tests(policy, pattern)
        entry = {"policy": display_path(path), "tests": []}
        for outcome in outcomes:
            counts[outcome.status] += 1
            entry["tests"].append(
                {
                    "name": outcome.name,
                    "location": outcome.location,
                    "status": outcome.status,
                    "error": outcome.error,
                    "failures": [
                        {"location": f.line, "expectation": f.expectation, "message": f.message}
                        for f in outcome.failures
                    ],
                }
            )
            if output_format == "text":
                _print_test(outcome)
        if show_coverage and outcomes:
            covered = coverage(policy, outcomes)
            entry["coverage"] = {
                "percent": round(covered.percent, 1),
                "items": [{"item": k, "covered": v} for k, v in covered.items.items()],
            }
            if coverage_threshold is not None and covered.percent < coverage_threshold:
                below = True
            if output_format == "text":
                missed = [k for k, v in covered.items.items() if not v]
                echo(
                    f"coverage {display_path(path)}: {covered.percent:.1f}% "
                    f"({len(covered.items) - len(missed)} of {len(covered.items)})"
                )
                for item in missed:
                    echo(f"  not exercised: {item}")
        report.append(entry)
    line = f"{counts['pass']} passed, {counts['fail']} failed"
    if counts["error"]:
        line += f", {counts['error']} errors"
    if output_format == "json":
        echo(to_json({"version": 1, "policies": report, "summary": counts}, indent=2))
    if below:
        echo(f"coverage below the threshold of {coverage_threshold:g}%", err=True)
    echo(line, err=output_format == "json")
    sys.exit(EXIT_FINDINGS if counts["fail"] or counts["error"] or below else EXIT_CLEAN)


def _print_test(outcome) -> None:
    label = {"pass": "PASS ", "fail": "FAIL ", "error": "ERROR"}[outcome.status]
    echo(f"{label} {outcome.name}  [{outcome.location}]")
    if outcome.error and not outcome.failures:
        echo(f"      {outcome.error}")
    for failure in outcome.failures:
        echo(f"      {failure.line}: {failure.message}")


@main.command()
@click.argument("policy_path", metavar="POLICY")
@_data_option
@click.option("--subject", required=True, help="The roster key of the person to explain.")
@click.option("--period", help="The period (default: the person's latest evaluated one).")
@click.option("--indicator", help="Explain only this indicator.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "md"]),
    default="text",
    show_default=True,
)
@_as_of_option
def explain(
    policy_path: str,
    data_path: str,
    subject: str,
    period: str | None,
    indicator: str | None,
    output_format: str,
    as_of,
) -> None:
    """Show how one person's values, scores, rating, payout and actions were derived."""
    from kpirules.data import DataError
    from kpirules.trace import ExplainError, render_markdown
    from kpirules.trace import explain as trace
    from kpirules.trace import render_text as render_trace

    policy = load_policy_or_exit(policy_path)
    try:
        step = trace(
            policy, data_path, subject, period, indicator, as_of=as_of.date() if as_of else None
        )
    except (ExplainError, DataError) as exc:
        echo(f"kpirules: {exc}", err=True)
        sys.exit(EXIT_FINDINGS)
    if output_format == "json":
        payload = {
            "version": 1,
            "policy": policy.name,
            "subject": subject,
            "period": step.detail["period"],
            "indicator": indicator,
            "trace": step.to_dict(),
        }
        echo(to_json(payload, indent=2))
    elif output_format == "md":
        echo(render_markdown(step), nl=False)
    else:
        echo(render_trace(step), nl=False)


@main.command()
@click.argument("path")
def summary(path: str) -> None:
    """Check one policy and print what it declares."""
    from kpirules.present import print_summary

    unit, policy, diagnostics = check_unit(path)
    console = SafeConsole()
    if policy is None:
        for diagnostic in diagnostics:
            echo(render_text(diagnostic, unit.sources))
        sys.exit(EXIT_FINDINGS)
    print_summary(policy, console, display_path(find_root(Path(path))))


@main.command("plan")
@click.argument("policy_path", metavar="POLICY")
def plan_command(policy_path: str) -> None:
    """Print what a run of the policy executes: indicators in order, the sources they
    read, scoring, totals, gates, limits, ratings, payouts, actions and goals."""
    from kpirules.plan import build
    from kpirules.plan.text import render

    click.echo(render(build(load_policy_or_exit(policy_path))), nl=False)


def _codes(value: str | None) -> list[str] | None:
    """`--select L101,L2` → ["L101", "L2"]."""
    if value is None:
        return None
    return [code for code in value.replace(",", " ").split() if code]


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--data",
    "data_path",
    metavar="BINDING",
    help="Also run the data rules against this data binding (one policy only).",
)
@_as_of_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github", "sarif", "junit"]),
    default="text",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=OutputPath(dir_okay=False, writable=True),
    help="Write the report to this file instead of standard output.",
)
@click.option(
    "--select", metavar="CODES", help="Run only these rules (codes, prefixes, categories)."
)
@click.option("--ignore", metavar="CODES", help="Do not run these rules.")
@click.option(
    "--fail-level",
    type=click.Choice(["warning", "error"]),
    default="error",
    show_default=True,
    help="Exit 1 when a finding is at least this severe.",
)
def lint(
    paths: tuple[str, ...],
    data_path: str | None,
    as_of,
    output_format: str,
    output: str | None,
    select: str | None,
    ignore: str | None,
    fail_level: str,
) -> None:
    """Check policies, then run the lint rules (strategy, correctness, hygiene, data)."""
    from kpirules.data import DataError
    from kpirules.engine import EvaluationError
    from kpirules.lint import ConfigError
    from kpirules.lint import lint as run_lint
    from kpirules.lint.formats import render
    from kpirules.lint.formats import summary as lint_summary

    units = _resolve_units(paths)
    if data_path is not None and len(units) != 1:
        raise click.UsageError("--data needs exactly one policy: the data belongs to one policy")
    try:
        report = run_lint(
            units,
            data=data_path,
            as_of=as_of.date() if as_of else None,
            select=_codes(select),
            ignore=_codes(ignore),
        )
    except ConfigError as exc:
        echo(f"kpirules: configuration: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except DataError as exc:
        for problem in exc.problems:
            echo(f"kpirules: {problem}", err=True)
        sys.exit(EXIT_USAGE)
    except EvaluationError as exc:
        echo(f"kpirules: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    level = Severity.WARNING if fail_level == "warning" else Severity.ERROR
    emit(render(report, output_format, level), Path(output) if output else None)
    if output_format == "text" or output:
        echo(lint_summary(report, level), err=bool(report.diagnostics) or bool(output))
    sys.exit(EXIT_FINDINGS if report.failed(level) else EXIT_CLEAN)
