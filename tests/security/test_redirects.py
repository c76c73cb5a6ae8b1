"""Open redirects: every ``next`` that a browser would read as another site is refused."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from web.redirects import local_path

HOSTILE = [
    "//evil.example",
    "//evil.example/x",
    "/\t/evil.example",
    "/\t\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "HTTPS://evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "../evil.example",
    "ftp://evil.example",
    "//evil.example@shagym.test",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    " //evil.example",
    "///evil.example",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_a_hostile_next_is_replaced_by_the_default(target):
    assert local_path(target) == "/"


@pytest.mark.parametrize("target", ["/%09/evil.example", "/%09%09/evil.example", "//evil.example", "/\\evil.example"])
def test_the_language_switch_never_leaves_the_site(client, target):
    # ``query_string`` encodes ``%09`` once more, so this is what the browser really sent.
    response = client.get(f"/language/en?next={target}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@dataclass(frozen=True)
class Kept:
    id: str
    target: str
    prefix: str
    expected: str


KEPT = [
    Kept("a page", "/report", "/", "/report"),
    Kept(
        "a page with its query",
        "/staff/queues/general?status=open&who=me",
        "/",
        "/staff/queues/general?status=open&who=me",
    ),
    Kept("a staff page under the staff prefix", "/staff/admin/users", "/staff/", "/staff/admin/users"),
    Kept("a public page under the staff prefix", "/track", "/staff/", "/fallback"),
    Kept("nothing", "", "/", "/fallback"),
]


@pytest.mark.parametrize("case", KEPT, ids=[k.id for k in KEPT])
def test_a_path_on_this_site_is_kept(case):
    assert (
        local_path(case.target, default="/fallback" if case.expected == "/fallback" else "/", prefix=case.prefix)
        == case.expected
    )
