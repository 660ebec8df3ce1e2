"""The languages kpirules writes for people, and how a policy chooses one.

Everything people read outside the terminal (feedback sheets, the HR workbook) comes in
English or Chinese. A policy's `locale` picks the language and `--lang` overrides it, the
same way for every output, so a zh-CN policy never gets one document in Chinese and the
next in English. Each output keeps its own catalogue of words next to its code; this
module only holds what they share.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")


def language_for(locale: str | None) -> Language:
    """The language a policy's locale asks for: Chinese for any `zh…` locale, else English."""
    return "zh" if (locale or "").lower().startswith("zh") else "en"


def check_language(lang: str) -> Language:
    """`lang` when kpirules writes that language; a ValueError naming the choices if not."""
    if lang not in LANGUAGES:
        raise ValueError(f"no labels for language {lang!r}; use one of {LANGUAGES}")
    return lang  # type: ignore[return-value]  # checked just above
