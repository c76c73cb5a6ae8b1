"""Fixtures of the project-level tests (languages, migrations, the command line, the README)."""

from __future__ import annotations

import pytest

from tests.project.catalogs import compile_catalogs


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    """The .mo files are not in git: compile them as ``make translations`` does, so ``pytest`` alone works."""
    compile_catalogs()
