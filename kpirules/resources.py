"""Find the files the package ships: the grammar and the JSON Schemas.

A wheel carries them inside the package (`kpirules/grammar`, `kpirules/schemas`); a source
checkout keeps them at the top of the repository. Look in that order.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource(folder: str, name: str) -> Path:
    for base in (_PACKAGE / folder, _PACKAGE.parent / folder):
        candidate = base / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"kpirules is missing its {folder}/{name}; reinstall the package")


@cache
def schema(name: str) -> dict:
    return json.loads(resource("schemas", name).read_text(encoding="utf-8"))
