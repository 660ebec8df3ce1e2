"""Output formats of `kpirules lint`: text, json, github, sarif, junit.

Every format carries the same diagnostics (checker and lint, after suppression); only
the text format also prints the source line with carets. Every format also says when a
policy had checker errors, so its lint rules were not run (`notes`).
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

from kpirules import __version__
from kpirules.diagnostics import Diagnostic, Severity, render_text
from kpirules.lint import Report, UnitResult
from kpirules.lint.registry import RULES, Rule
from kpirules.text import to_json as json_text

FORMATS = ("text", "json", "github", "sarif", "junit")
# The project declares no address of its own (no [project.urls] in pyproject.toml), so
# SARIF gets no helpUri or informationUri: the rule's full help is in `help` instead, and
# these name the pages of the documentation shipped with the source.
RULES_DOC = "docs/rules.md"
CHECKER_DOC = "docs/diagnostics.md"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(report: Report, output_format: str, fail_level: Severity = Severity.ERROR) -> str:
    """The report in a format. `fail_level` is the `--fail-level` that decides the exit
    code; JUnit marks as failures only the findings at or above it."""
    if output_format == "junit":
        return junit(report, fail_level)
    return {
        "text": text,
        "json": to_json,
        "github": github,
        "sarif": sarif,
    }[output_format](report)


def not_linted(report: Report) -> list[UnitResult]:
    """The units the checker found errors in: the lint rules did not run on them."""
    return [u for u in report.units if not u.ok]


FIX = "Fix the errors, then lint again."


def not_linted_note(report: Report) -> str | None:
    """A plain sentence saying which policies were not linted and why, or None."""
    units = not_linted(report)
    if not units:
        return None
    fix = FIX
    if len(report.units) == 1:
        return f"The policy has errors, so the lint rules were not run. {fix}"
    names = ", ".join(u.path for u in units)
    if len(units) == 1:
        return (
            f"1 of {len(report.units)} policies has errors, so the lint rules were not run "
            f"on it: {names}. {fix}"
        )
    return (
        f"{len(units)} of {len(report.units)} policies have errors, so the lint rules were "
        f"not run on them: {names}. {fix}"
    )


def notes(report: Report) -> list[str]:
    note = not_linted_note(report)
    return [note] if note else []


def summary(report: Report, fail_level: Severity) -> str:
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    noun = "policy" if len(report.units) == 1 else "policies"
    skipped = len(not_linted(report))
    if skipped:
        linted = len(report.units) - skipped
        line = f"{len(report.units)} {noun} checked, {linted} linted: "
    else:
        line = f"{len(report.units)} {noun} linted: "
    if not errors and not warnings:
        line += "no problems"
    else:
        line += f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    if report.suppressed:
        line += f" ({report.suppressed} suppressed)"
    if report.failed(fail_level) and fail_level == Severity.WARNING and not errors:
        line += "; warnings fail (--fail-level warning)"
    return "\n".join([line, *notes(report)])


# ------------------------------------------------------------------ text


def text(report: Report) -> str:
    return "".join(render_text(d, report.sources) + "\n\n" for d in report.diagnostics)


# ------------------------------------------------------------------ json


def finding_dict(diagnostic: Diagnostic) -> dict:
    rule = RULES.get(diagnostic.code)
    return {
        **diagnostic.to_dict(),
        "rule": rule.name if rule else None,
        "category": rule.category if rule else "check",
    }


def to_json(report: Report) -> str:
    payload = {
        "version": 1,
        "units": [
            {"path": u.path, "policy": u.policy, "library": u.library, "files": u.files, "ok": u.ok}
            for u in report.units
        ],
        "findings": [finding_dict(d) for d in report.diagnostics],
        "summary": {
            "errors": report.count(Severity.ERROR),
            "warnings": report.count(Severity.WARNING),
            "infos": report.count(Severity.INFO),
            "suppressed": report.suppressed,
            "units": len(report.units),
        },
        "notes": notes(report),
    }
    return json_text(payload, indent=2) + "\n"


# ------------------------------------------------------------------ github


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: Report) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on the line."""
    lines = []
    for d in report.diagnostics:
        props = [f"file={_escape_property(d.span.file)}"]
        if d.span.line:
            props += [f"line={d.span.line}", f"col={d.span.column}"]
            if d.span.end_line:
                props += [f"endLine={d.span.end_line}", f"endColumn={d.span.end_column}"]
        props.append(f"title={_escape_property(d.code)}")
        message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
        lines.append(f"::{GITHUB_COMMAND[d.severity]} {','.join(props)}::{_escape_data(message)}")
    for note in notes(report):  # not about a line: an annotation on the run
        title = _escape_property("Lint rules not run")
        lines.append(f"::notice title={title}::{_escape_data(note)}")
    return "".join(line + "\n" for line in lines)


# ------------------------------------------------------------------ sarif


def _help_markdown(rule: Rule) -> str:
    return (
        f"**{rule.code} {rule.name}** ({rule.category}): {rule.summary}\n\n{rule.rationale}\n\n"
        f"Bad:\n\n```kpi\n{rule.bad}```\n\nGood:\n\n```kpi\n{rule.good}```\n\n"
        f"More in the kpirules rule reference, {RULES_DOC}, section {rule.code}."
    )


def _help_text(rule: Rule) -> str:
    return (
        f"{rule.summary}\n\n{rule.rationale}\n\nBad:\n\n{rule.bad}\nGood:\n\n{rule.good}\n"
        f"More in the kpirules rule reference, {RULES_DOC}, section {rule.code}."
    )


def _sarif_rule(code: str) -> dict:
    rule = RULES.get(code)
    if rule is None:  # a checker code (E…, W…): the policy does not check
        return {
            "id": code,
            "name": f"check-{code.lower()}",
            "shortDescription": {"text": f"kpirules check {code}"},
            "fullDescription": {
                "text": f"Checker diagnostic {code}: the policy does not check "
                "(see docs/diagnostics.md)."
            },
            "help": {
                "text": f"{code} is a checker diagnostic. The kpirules diagnostics reference, "
                f"{CHECKER_DOC}, explains it with an example and the fix.",
                "markdown": f"**{code}** is a checker diagnostic. The kpirules diagnostics "
                f"reference, `{CHECKER_DOC}`, explains it with an example and the fix.",
            },
            "defaultConfiguration": {"level": "warning" if code.startswith("W") else "error"},
            "properties": {"tags": ["check"]},
        }
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.level]},
        "properties": {"tags": [rule.category]},
    }


def _uri(file: str) -> tuple[str, bool]:
    """A relative URI for a file below the working directory (the repository root in
    CI), otherwise an absolute file URI."""
    path = Path(file)
    if path.is_absolute():
        return path.as_uri(), False
    return quote(path.as_posix()), True


def fingerprint(report: Report, diagnostic: Diagnostic) -> str:
    """A hash of rule, file, the trimmed source line and the message: the same finding
    keeps it when lines are added above it."""
    line = report.sources.line(diagnostic.span.file, diagnostic.span.line) or ""
    text = "\0".join((diagnostic.code, diagnostic.span.file, line.strip(), diagnostic.message))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _invocation(report: Report) -> dict:
    """The run itself: it succeeded (findings are results), and says when the lint rules
    were not run on a policy."""
    invocation: dict = {"executionSuccessful": True}
    if found := notes(report):
        invocation["toolExecutionNotifications"] = [
            {"level": "warning", "message": {"text": note}} for note in found
        ]
    return invocation


def sarif(report: Report) -> str:
    codes = sorted({r.code for r in report.rules} | {d.code for d in report.diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    results = []
    seen: dict[str, int] = {}
    for d in report.diagnostics:
        # Two identical findings on identical lines: number them so both survive.
        base = fingerprint(report, d)
        seen[base] = seen.get(base, 0) + 1
        result: dict = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": SARIF_LEVEL[d.severity],
            "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
            "partialFingerprints": {"kpirules/v1": f"{base}:{seen[base]}"},
        }
        if d.span.line:
            uri, relative = _uri(d.span.file)
            location: dict = {"uri": uri}
            if relative:
                location["uriBaseId"] = "%SRCROOT%"
            result["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": location,
                        "region": {
                            "startLine": d.span.line,
                            "startColumn": max(d.span.column, 1),
                            "endLine": max(d.span.end_line, d.span.line),
                            "endColumn": max(d.span.end_column, 1),
                        },
                    }
                }
            ]
        results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kpirules",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_sarif_rule(code) for code in codes],
                    }
                },
                "invocations": [_invocation(report)],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json_text(document, indent=2) + "\n"


# ------------------------------------------------------------------ junit


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def junit(report: Report, fail_level: Severity = Severity.ERROR) -> str:
    """JUnit XML: a test suite per policy file, a test case per rule (and one for the
    checker). A rule's findings in a file at or above `fail_level` (those that make the
    run exit 1) are its `<failure>`; the others are reported in its `<system-out>`, so a
    run that passes shows no failed test. A file of a policy with checker errors has its
    rule test cases `<skipped>`, and the checker's test case says why in `<system-err>`."""
    by_file: dict[str, list[Diagnostic]] = {}
    for d in report.diagnostics:
        by_file.setdefault(d.span.file, []).append(d)
    files = list(report.files) + sorted(f for f in by_file if f not in report.files)
    cases = ["check", *(r.code for r in report.rules)]
    linted = {f for u in report.units if u.ok for f in u.files}
    skipped_units: dict[str, list[UnitResult]] = {}
    for unit in not_linted(report):
        for file in unit.files:
            if file not in linted:
                skipped_units.setdefault(file, []).append(unit)
    root = ET.Element("testsuites", name="kpirules lint")
    total = failures = skips = 0
    for file in files:
        found = by_file.get(file, [])
        suite = ET.SubElement(root, "testsuite", name=file)
        suite_failures = suite_skips = 0
        note = None
        if file in skipped_units:
            names = ", ".join(u.path for u in skipped_units[file])
            note = f"The policy {names} has errors, so the lint rules were not run. {FIX}"
        for case in cases:
            rule = RULES.get(case)
            mine = [d for d in found if (d.code == case if rule else d.code not in RULES)]
            element = ET.SubElement(
                suite,
                "testcase",
                classname=file,
                name=f"{rule.code} {rule.name}" if rule else "kpirules check",
            )
            failing = [d for d in mine if d.severity >= fail_level]
            passing = [d for d in mine if d.severity < fail_level]
            if failing:
                suite_failures += 1
                failure = ET.SubElement(
                    element,
                    "failure",
                    message=_plural(len(failing), "finding"),
                    type=str(max(d.severity for d in failing)),
                )
                failure.text = "\n\n".join(render_text(d, report.sources) for d in failing)
            elif rule and note:
                suite_skips += 1
                ET.SubElement(element, "skipped", message=note)
            if passing:
                out = ET.SubElement(element, "system-out")
                out.text = (
                    f"{_plural(len(passing), 'finding')} below --fail-level {fail_level} "
                    "(reported, not failing the run):\n\n"
                    + "\n\n".join(render_text(d, report.sources) for d in passing)
                )
            if not rule and note:
                ET.SubElement(element, "system-err").text = note
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        suite.set("skipped", str(suite_skips))
        total += len(cases)
        failures += suite_failures
        skips += suite_skips
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("skipped", str(skips))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
