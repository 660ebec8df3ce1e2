"""Lint configuration: `[tool.kpirules.lint]` in pyproject.toml, or `[lint]` in
.kpirules.toml (or kpirules.toml), at the project root of the linted policy.

    [tool.kpirules.lint]
    select = ["all"]             # codes, prefixes (L1), categories (strategy) or "all"
    ignore = ["L306"]
    [tool.kpirules.lint.rules]
    L102 = { level = "warning", min = 3, max = 7 }
    L101 = "off"                 # "off" | "warning" | "error"
    [tool.kpirules.lint.per-file-ignores]
    "policies/legacy/*.kpi" = ["L101"]

Anything wrong in it is a `ConfigError`: the command stops with exit code 2 rather than
lint with settings nobody meant.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kpirules.check.expressions import suggest
from kpirules.diagnostics import Severity
from kpirules.lint.registry import CATEGORIES, Rule, all_rules
from kpirules.paths import confine, display_path

LEVELS: dict[str, Severity | None] = {
    "off": None,
    "warning": Severity.WARNING,
    "error": Severity.ERROR,
}
# Files looked at, in order, with the table that holds the lint settings.
FILES = (
    (".kpirules.toml", ("lint",)),
    ("kpirules.toml", ("lint",)),
    ("pyproject.toml", ("tool", "kpirules", "lint")),
)
KEYS = ("select", "ignore", "rules", "per-file-ignores")


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Config:
    root: Path  # per-file-ignores patterns are relative to this folder
    file: str | None = None  # the file the settings came from
    select: tuple[str, ...] = ("all",)
    ignore: tuple[str, ...] = ()
    levels: dict[str, Severity | None] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def with_command_line(self, select: list[str] | None, ignore: list[str] | None) -> Config:
        """`--select` replaces the configured selection; `--ignore` adds to it."""
        for selector in (*(select or ()), *(ignore or ())):
            _check_selector(selector, "the command line")
        return replace(
            self,
            select=tuple(select) if select else self.select,
            ignore=self.ignore + tuple(ignore or ()),
        )

    def enabled(self, rule: Rule) -> bool:
        return (
            any(matches(s, rule) for s in self.select)
            and not any(matches(s, rule) for s in self.ignore)
            and self.level(rule) is not None
        )

    def level(self, rule: Rule) -> Severity | None:
        return self.levels.get(rule.code, rule.level)

    def rule_options(self, rule: Rule) -> dict[str, Any]:
        return {**rule.options, **self.options.get(rule.code, {})}

    def ignored_in(self, file: str, code: str) -> bool:
        if not self.per_file_ignores:
            return False
        try:
            relative = Path(file).resolve().relative_to(self.root).as_posix()
        except ValueError:  # outside the project: no pattern can name it
            return False
        rule = next((r for r in all_rules() if r.code == code), None)
        return rule is not None and any(
            fnmatch.fnmatchcase(relative, pattern) and any(matches(s, rule) for s in selectors)
            for pattern, selectors in self.per_file_ignores
        )


def matches(selector: str, rule: Rule) -> bool:
    """`all`, a category (`strategy`), a code (`L102`) or a code prefix (`L1`)."""
    lowered = selector.strip().lower()
    return lowered in ("all", rule.category) or rule.code.lower().startswith(lowered)


def _check_selector(selector: Any, where: str) -> str:
    if not isinstance(selector, str) or not any(matches(selector, r) for r in all_rules()):
        choices = [r.code for r in all_rules()] + list(CATEGORIES) + ["all"]
        hint = suggest(str(selector), choices) if isinstance(selector, str) else None
        raise ConfigError(
            f"{where}: {selector!r} is not a rule code, code prefix, category or `all`"
            + (f" ({hint})" if hint else "")
        )
    return selector


def load_config(root: Path) -> Config:
    """The settings at `root` (the project root), or the defaults."""
    for name, table_path in FILES:
        path = root / name
        if not path.is_file():
            continue
        if confine(path, root) is None:
            raise ConfigError(
                f"{path}: leads outside the project root ({display_path(root)}): a symbolic "
                "link to a file elsewhere is not read"
            )
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        table: Any = document
        for key in table_path:
            table = table.get(key) if isinstance(table, dict) else None
        if table is None:
            continue
        return _parse(table, root, f"{path} [{'.'.join(table_path)}]")
    return Config(root.resolve())


def _parse(table: Any, root: Path, where: str) -> Config:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    for key in table:
        if key not in KEYS:
            hint = suggest(key, KEYS)
            raise ConfigError(f"{where}: unknown setting {key!r}" + (f" ({hint})" if hint else ""))
    select = tuple(_check_selector(s, f"{where} select") for s in _strings(table, "select", where))
    ignore = tuple(_check_selector(s, f"{where} ignore") for s in _strings(table, "ignore", where))
    levels: dict[str, Severity | None] = {}
    options: dict[str, dict[str, Any]] = {}
    rules = {r.code: r for r in all_rules()}
    settings = table.get("rules", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{where}: `rules` must be a table of rule code = level or options")
    for code, value in settings.items():
        at = f"{where} rules.{code}"
        rule = rules.get(code)
        if rule is None:
            hint = suggest(code, rules)
            raise ConfigError(f"{at}: unknown rule" + (f" ({hint})" if hint else ""))
        if isinstance(value, str):
            value = {"level": value}
        if not isinstance(value, dict):
            raise ConfigError(f'{at}: give a level ("off", "warning", "error") or a table')
        if "level" in value:
            if value["level"] not in LEVELS:
                raise ConfigError(
                    f'{at}: level {value["level"]!r} is not "off", "warning" or "error"'
                )
            levels[code] = LEVELS[value["level"]]
        chosen = {k: v for k, v in value.items() if k != "level"}
        for name, given in chosen.items():
            if name not in rule.options:
                known = ", ".join(rule.options) or "none"
                raise ConfigError(f"{at}: unknown option {name!r} (options: {known})")
            _check_type(given, rule.options[name], f"{at}.{name}")
        if rule.validate is not None:
            problem = rule.validate({**rule.options, **chosen})
            if problem:
                raise ConfigError(f"{at}: {problem}")
        options[code] = chosen
    ignores = table.get("per-file-ignores", {})
    if not isinstance(ignores, dict):
        raise ConfigError(f"{where}: `per-file-ignores` must be a table of pattern = [codes]")
    per_file = tuple(
        (
            pattern,
            tuple(
                _check_selector(s, f"{where} per-file-ignores {pattern!r}")
                for s in _list(value, f"{where} per-file-ignores {pattern!r}")
            ),
        )
        for pattern, value in ignores.items()
    )
    return Config(root.resolve(), where, select or ("all",), ignore, levels, options, per_file)


def _strings(table: dict, key: str, where: str) -> list[str]:
    return _list(table.get(key, []), f"{where} {key}")


def _list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where}: must be a list of strings, e.g. ["L101", "hygiene"]')
    return value


def _check_type(value: Any, default: Any, where: str) -> None:
    """An option takes the type of its default (an integer is fine where a fraction is
    expected; a boolean is not a number)."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{where}: expected {type(default).__name__}, got {value!r}")
