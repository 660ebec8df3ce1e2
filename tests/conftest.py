"""Shared test setup."""

import pytest

from kpirules import engine


@pytest.fixture(autouse=True)
def _reference_runner():
    """Each test starts on the API's default runner (pandas): a CLI test that ran before
    it chose DuckDB for the process (`kpirules --engine`, the CLI's default)."""
    engine.use_runner("pandas")
    yield
    engine.use_runner("pandas")
