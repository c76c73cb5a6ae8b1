"""Without Chromium the browser tests skip loudly on a laptop, and fail in CI (no browser needed here)."""

from __future__ import annotations

import io
import sys

import pytest

from tests.browser import support


@pytest.fixture
def no_chromium(monkeypatch):
    monkeypatch.setattr(support, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(support, "missing", [])
    monkeypatch.setattr(sys, "__stderr__", io.StringIO())
    return monkeypatch


def test_missing_browser_fails_when_ci_is_set(no_chromium):
    no_chromium.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        support.require_browser()


def test_missing_browser_skips_with_a_loud_warning_elsewhere(no_chromium):
    no_chromium.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="did NOT run: no Chromium at /nonexistent/chromium"):
        support.require_browser()
    assert "WARNING: real-browser tests in tests/browser did NOT run" in sys.__stderr__.getvalue()
    assert support.missing  # and the terminal summary repeats it under "BROWSER TESTS SKIPPED"
