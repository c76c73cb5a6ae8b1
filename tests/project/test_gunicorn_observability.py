"""Under gunicorn with several workers: the metrics of every worker add up at any worker's
``/metrics`` (prometheus-client's multiprocess mode), and LOG_FORMAT=json makes the whole output
JSON lines — one per request with the id the answer carried."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.project.servers import Gunicorn, app_env, flask, get

TOKEN = "gunicorn-metrics-token-0123456789"
REQUESTS = 30


@pytest.fixture
def server(tmp_path):
    env = app_env(
        tmp_path / "instance",
        METRICS_TOKEN=TOKEN,
        LOG_FORMAT="json",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    (tmp_path / "metrics").mkdir()
    flask(env, "init-db")
    (tmp_path / "metrics" / "counter_99999.db").write_bytes(b"stale from an earlier run")
    gunicorn = Gunicorn(env, tmp_path / "gunicorn.log", workers=3, threads=2)
    try:
        yield gunicorn.start()
    finally:
        gunicorn.stop()


def healthz_count(port: int) -> float:
    status, _headers, body = get(port, "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == "shagym_http_requests_total" and s.labels == {
                "endpoint": "health.healthz",
                "method": "GET",
                "status": "200",
            }:
                return s.value
    return 0.0


def test_every_workers_requests_are_counted_and_logged_as_json(server):
    start = healthz_count(server.port)  # the start-up probes of the fixture were counted too
    ids = [get(server.port, "/healthz")[1]["x-request-id"] for _ in range(REQUESTS)]
    # Whichever worker answers the scrape, it reads the files of all of them.
    counts = {healthz_count(server.port) - start for _ in range(6)}
    assert counts == {REQUESTS}
    assert get(server.port, "/metrics")[0] == 404  # no token

    server.stop()
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.strip()]
    assert lines, "no output"  # and every line parsed as JSON (gunicorn's own lines included)
    logged = [line["request_id"] for line in lines if line.get("logger") == "shagym.request"]
    assert set(ids) <= set(logged)
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["msg"] for line in lines)
    assert not any(line.get("logger") == "gunicorn.access" for line in lines)  # the app's line replaces it
