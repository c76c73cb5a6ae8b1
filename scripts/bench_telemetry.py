"""What the metrics and the JSON request log add to one request (`python scripts/bench_telemetry.py`).

Times ``GET /healthz`` (the cheapest route: the hooks' share is the largest there) through the
Flask test client with neither, with metrics (``METRICS_TOKEN``; multiprocess mode as under
gunicorn), with JSON logs, and with both, interleaved over several rounds; prints the median
extra microseconds per request. A measurement for the README, never a pass/fail test.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="shagym-bench-metrics-"))

from wsgi import create_app  # noqa: E402 - after the multiprocess folder is set

REQUESTS = 500
ROUNDS = 5
CONFIGS = {
    "neither": {},
    "metrics": {"METRICS_TOKEN": "bench"},
    "json logs": {"LOG_FORMAT": "json"},
    "both": {"METRICS_TOKEN": "bench", "LOG_FORMAT": "json"},
}


def per_request(client) -> float:
    start = time.perf_counter()
    for _ in range(REQUESTS):
        client.get("/healthz")
    return (time.perf_counter() - start) / REQUESTS * 1e6


def main() -> None:
    instance = Path(tempfile.mkdtemp(prefix="shagym-bench-telemetry-"))
    logging.getLogger("shagym.request").addHandler(logging.FileHandler(os.devnull))
    logging.getLogger("shagym.request").propagate = False
    clients = {}
    for name, extra in CONFIGS.items():
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "INSTANCE_PATH": str(instance / name.replace(" ", "-")),
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/bench.sqlite3",
                **extra,
            }
        )
        clients[name] = app.test_client()
        per_request(clients[name])  # warm
    times: dict[str, list[float]] = {name: [] for name in CONFIGS}
    for _ in range(ROUNDS):
        for name, client in clients.items():
            times[name].append(per_request(client))
    base = statistics.median(times["neither"])
    print(f"GET /healthz, test client, median of {ROUNDS} rounds of {REQUESTS}: {base:.1f} µs without telemetry")
    for name in ("metrics", "json logs", "both"):
        print(f"  + {name}: {statistics.median(times[name]) - base:+.1f} µs per request")


if __name__ == "__main__":
    main()
