"""The lint rules, one module per category; importing this package registers them all."""

from kpirules.lint.rules import correctness, data, hygiene, strategy

__all__ = ["correctness", "data", "hygiene", "strategy"]
