"""Fixtures of the notices' tests: the loopback SMTP and LINE servers, and the settings
that point Komawari at them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from komawari import config
from komawari_soak.fakes.line import DEFAULT_TOKEN, FakeLine
from komawari_soak.fakes.smtp import FakeSmtp


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp() as server:
        yield server


@pytest.fixture
def line() -> Iterator[FakeLine]:
    with FakeLine() as server:
        yield server


@pytest.fixture
def channels(
    smtp: FakeSmtp, line: FakeLine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeSmtp, FakeLine]]:
    """Komawari set up to send to both loopback servers, without a window."""
    monkeypatch.setenv("KOMAWARI_SMTP_URL", smtp.url)
    monkeypatch.setenv("KOMAWARI_MAIL_FROM", "school@example.jp")
    monkeypatch.setenv("KOMAWARI_LINE_CHANNEL_TOKEN", DEFAULT_TOKEN)
    monkeypatch.setenv("KOMAWARI_LINE_API_URL", line.url)
    monkeypatch.setenv("KOMAWARI_NOTICE_WINDOW_SECONDS", "0")
    config.get_settings.cache_clear()
    yield smtp, line
    config.get_settings.cache_clear()
