"""What the metrics and the JSON request log add to one request (`python scripts/bench_telemetry.py`).

Runs the two telemetry hooks (web/telemetry.py: the first before-request hook and the last
after-request one) inside a request context, many times, for each setting: metrics only
(multiprocess mode, as under gunicorn), JSON logs only (to /dev/null), both. Full requests on a
shared machine vary by more than the hooks cost, so the hooks are timed by themselves; without
either setting no hook is installed at all. A measurement for the README, never a pass/fail test.
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

from flask import Response  # noqa: E402

from wsgi import create_app  # noqa: E402 - after the multiprocess folder is set

CALLS = 20_000
ROUNDS = 5
CONFIGS = {
    "metrics": {"METRICS_TOKEN": "bench"},
    "json logs": {"LOG_FORMAT": "json"},
    "both": {"METRICS_TOKEN": "bench", "LOG_FORMAT": "json"},
}


def hooks_cost(app) -> float:
    start_hook = app.before_request_funcs[None][0]
    finish_hook = app.after_request_funcs[None][0]
    if (start_hook.__name__, finish_hook.__name__) != ("_start", "_finish"):
        raise RuntimeError("the telemetry hooks are no longer the first ones registered")
    response = Response("ok")
    runs = []
    with app.test_request_context("/report", method="POST"):
        for _ in range(ROUNDS):
            begin = time.perf_counter()
            for _ in range(CALLS):
                start_hook()
                finish_hook(response)
            runs.append((time.perf_counter() - begin) / CALLS * 1e6)
    return statistics.median(runs)


def calibration_ms() -> float:
    """A million additions in a Python loop: about 40 ms on an idle core of the development machine."""
    begin = time.perf_counter()
    total = 0
    for i in range(1_000_000):
        total += i
    return (time.perf_counter() - begin) * 1000


def main() -> None:
    print(f"calibration: a million additions took {calibration_ms():.0f} ms (idle core: about 40 ms)")
    instance = Path(tempfile.mkdtemp(prefix="shagym-bench-telemetry-"))
    request_log = logging.getLogger("shagym.request")
    request_log.addHandler(logging.FileHandler(os.devnull))
    request_log.propagate = False
    print(f"telemetry hooks per request, median of {ROUNDS} rounds of {CALLS:,} calls:")
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
        if extra.get("LOG_FORMAT") == "json":
            for handler in request_log.handlers:
                handler.setFormatter(logging.getLogger().handlers[0].formatter)  # the JSON formatter
        print(f"  {name}: {hooks_cost(app):.1f} µs")


if __name__ == "__main__":
    main()
