"""Output formats of `kpirules lint`: text, json, github, sarif, junit.

Every format carries the same diagnostics (checker and lint, after suppression); only
the text format also prints the source line with carets.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

from kpirules import __version__
from kpirules.diagnostics import Diagnostic, Severity, render_text
from kpirules.lint import Report
from kpirules.lint.registry import RULES, Rule
from kpirules.text import to_json as json_text

FORMATS = ("text", "json", "github", "sarif", "junit")
# Where the rule reference is published; SARIF's helpUri needs an absolute address.
DOCS_URL = "https://kpirules.dev/docs/rules.md"
CHECKER_DOCS_URL = "https://kpirules.dev/docs/diagnostics.md"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
GITHUB_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(report: Report, output_format: str) -> str:
    return {
        "text": text,
        "json": to_json,
        "github": github,
        "sarif": sarif,
        "junit": junit,
    }[output_format](report)


def summary(report: Report, fail_level: Severity) -> str:
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    noun = "policy" if len(report.units) == 1 else "policies"
    line = f"{len(report.units)} {noun} linted: "
    if not errors and not warnings:
        line += "no problems"
    else:
        line += f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    if report.suppressed:
        line += f" ({report.suppressed} suppressed)"
    if report.failed(fail_level) and fail_level == Severity.WARNING and not errors:
        line += "; warnings fail (--fail-level warning)"
    return line


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
    return "".join(line + "\n" for line in lines)


# ------------------------------------------------------------------ sarif


def _help_markdown(rule: Rule) -> str:
    return (
        f"**{rule.code} {rule.name}** ({rule.category}): {rule.summary}\n\n{rule.rationale}\n\n"
        f"Bad:\n\n```kpi\n{rule.bad}```\n\nGood:\n\n```kpi\n{rule.good}```\n\n"
        f"[{rule.code} in the rule reference]({DOCS_URL}#{rule.anchor})"
    )


def _sarif_rule(code: str) -> dict:
    rule = RULES.get(code)
    if rule is None:  # a checker code (E…, W…): the policy does not check
        return {
            "id": code,
            "name": f"check-{code.lower()}",
            "shortDescription": {"text": f"kpirules check {code}"},
            "fullDescription": {"text": f"Checker diagnostic {code}: see docs/diagnostics.md."},
            "help": {
                "text": f"See {CHECKER_DOCS_URL} for {code}.",
                "markdown": f"See [{code} in the diagnostics reference]({CHECKER_DOCS_URL}).",
            },
            "helpUri": CHECKER_DOCS_URL,
            "defaultConfiguration": {"level": "warning" if code.startswith("W") else "error"},
            "properties": {"tags": ["check"]},
        }
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": f"{rule.summary}\n\n{rule.rationale}", "markdown": _help_markdown(rule)},
        "helpUri": f"{DOCS_URL}#{rule.anchor}",
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
                        "informationUri": DOCS_URL,
                        "rules": [_sarif_rule(code) for code in codes],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json_text(document, indent=2) + "\n"


# ------------------------------------------------------------------ junit


def junit(report: Report) -> str:
    """JUnit XML: a test suite per policy file, a test case per rule (and one for the
    checker), a failure per rule with findings in that file."""
    by_file: dict[str, list[Diagnostic]] = {}
    for d in report.diagnostics:
        by_file.setdefault(d.span.file, []).append(d)
    files = list(report.files) + sorted(f for f in by_file if f not in report.files)
    cases = ["check", *(r.code for r in report.rules)]
    root = ET.Element("testsuites", name="kpirules lint")
    total = failures = 0
    for file in files:
        found = by_file.get(file, [])
        suite = ET.SubElement(root, "testsuite", name=file)
        suite_failures = 0
        for case in cases:
            rule = RULES.get(case)
            mine = [d for d in found if (d.code == case if rule else d.code not in RULES)]
            element = ET.SubElement(
                suite,
                "testcase",
                classname=file,
                name=f"{rule.code} {rule.name}" if rule else "kpirules check",
            )
            if mine:
                suite_failures += 1
                failure = ET.SubElement(
                    element,
                    "failure",
                    message=f"{len(mine)} finding{'s' * (len(mine) != 1)}",
                    type=str(max(d.severity for d in mine)),
                )
                failure.text = "\n\n".join(render_text(d, report.sources) for d in mine)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        total += len(cases)
        failures += suite_failures
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
