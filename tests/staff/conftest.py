"""Fixtures of the staff-side tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def staff(login_as):
    """Signed-in clients that read English: ``staff("caseworker", ["general"])`` -> (client, user)."""

    def factory(role="caseworker", queues=None):
        client, user = login_as(role, queues)
        client.set_cookie("lang", "en")
        return client, user

    return factory


@pytest.fixture
def admin(staff):
    """A signed-in administrator reading English: (client, user)."""
    return staff("admin")
