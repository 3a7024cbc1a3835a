"""Run the `komawari` command in-process against the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from komawari import config
from komawari.cli.main import app
from komawari.db import engine as db


@pytest.fixture
def komawari(
    committed_engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., object]]:
    """Return a function that runs `komawari ARGS` and returns the click Result."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> object:
        return runner.invoke(app, list(args), catch_exceptions=False)

    yield run
    db.get_engine().dispose()
    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
