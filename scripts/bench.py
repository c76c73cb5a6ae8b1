"""Benchmarks: report intake throughput through gunicorn, and queue-page cost vs. case count.

Run with `make bench` (or `.venv/bin/python scripts/bench.py --help`). Figures go in the README;
they are measurements, never pass/fail tests.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORM = {
    "category": "torture",
    "narrative": "They beat him in the police station for two days and threatened him.",
    "region": "karaganda",
    "immediate_danger": "no",
    "child_affected": "no",
    "in_custody": "yes",
    "reporter_role": "relative",
    "contact": "anonymous",
    "consent": "y",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SHAGYM_PORT, LIMIT_PORT = 18110, 18111
STAFF_EMAIL, STAFF_PASSWORD = "bench@example.org", "quiet river lantern 42"
# wrk's Lua: POSTs of the report form (a fresh form token each, so none is a double submission)
# or GETs of one page, with the cookie given; prints one RESULT line for the bench to read.
WRK_LUA = """
local method, path, cookie = os.getenv("BENCH_METHOD"), os.getenv("BENCH_PATH"), os.getenv("BENCH_COOKIE") or ""
local fields, counter = os.getenv("BENCH_BODY") or "", 0
math.randomseed(os.time())
request = function()
  local headers = {["Cookie"] = cookie}
  if method ~= "POST" then return wrk.format("GET", path, headers) end
  counter = counter + 1
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  local token = string.format("b%x%x%d", math.random(1, 1073741824), math.random(1, 1073741824), counter)
  return wrk.format("POST", path, headers, fields .. "&submission_token=" .. token)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def _wait_for(port: int) -> None:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answers on port {port}")


def _gunicorn(app_spec: str, port: int, workers: int, env: dict[str, str], *extra: str) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
        + ["--access-logfile", "/dev/null", *extra, app_spec],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for(port)
    return server


def _workers_cpu(master_pid: int) -> float:
    """CPU seconds (user + system) used so far by the worker processes of a gunicorn master."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:  # fields[1] is the parent pid
            total += int(fields[11]) + int(fields[12])
    return total / tick


def _form_session(port: int, path: str = "/report") -> tuple[str, str]:
    """A visitor's cookie and the form's CSRF token."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1)
    return cookie, token


def _staff_cookie(port: int) -> str:
    cookie, token = _form_session(port, "/staff/login")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = urlencode({"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token})
    conn.request(
        "POST",
        "/staff/login",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"staff sign-in answered {response.status}")
    return response.getheader("Set-Cookie").split(";")[0]


@dataclass
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float  # worker CPU per request

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def _wrk_start(port: int, method: str, path: str, cookie: str, body: str, connections: int, seconds: float):
    script = Path(tempfile.mkstemp(prefix="shagym-bench-", suffix=".lua")[1])
    script.write_text(WRK_LUA)
    env = {**os.environ, "BENCH_METHOD": method, "BENCH_PATH": path, "BENCH_COOKIE": cookie, "BENCH_BODY": body}
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "30s", "-s", str(script)]
    return subprocess.Popen([*command, f"http://127.0.0.1:{port}"], env=env, stdout=subprocess.PIPE, text=True)


def _wrk_result(process: subprocess.Popen) -> tuple[int, float, float, float, int]:
    out, _ = process.communicate()
    fields = next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1:]
    requests, duration_us, p50, p99, errors = (int(f) for f in fields)
    return requests, duration_us / 1e6, p50 / 1000, p99 / 1000, errors


def wrk_run(
    server: subprocess.Popen,
    port: int,
    method: str,
    path: str,
    cookie: str,
    body: str,
    connections: int,
    seconds: float,
) -> Run:
    cpu = _workers_cpu(server.pid)
    requests, duration, p50, p99, errors = _wrk_result(
        _wrk_start(port, method, path, cookie, body, connections, seconds)
    )
    return Run(requests, duration, p50, p99, errors, (_workers_cpu(server.pid) - cpu) / max(requests, 1) * 1000)


def _median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.rate)[len(runs) // 2]


def bench_intake(workers: int, clients: int, seconds: float, rounds: int) -> None:
    """Shagym's POST /report beside the limit of its stack, interleaved rounds, medians printed as ratios;
    then intake while two staff members browse, and the queue page at 8 connections against 1."""
    instance = Path(tempfile.mkdtemp(prefix="shagym-bench-"))
    env = {
        **os.environ,
        "SHAGYM_INSTANCE": str(instance),
        "REPORT_RATE_LIMIT": "1000000 per second",
        "SHAGYM_PASSWORD": STAFF_PASSWORD,
        "BENCH_LIMIT_DB": str(instance / "limit.sqlite3"),
    }
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi"]
    quiet = {"cwd": ROOT, "env": env, "check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*flask, "init-db"], **quiet)
    subprocess.run(
        [*flask, "create-user", STAFF_EMAIL, "--name", "Bench", "--role", "caseworker", "--queue", "general"], **quiet
    )
    shagym = _gunicorn("wsgi:create_app()", SHAGYM_PORT, workers, env)
    limit = _gunicorn("bench_limit:create_app()", LIMIT_PORT, workers, env, "--pythonpath", str(ROOT / "scripts"))
    try:
        cookie, token = _form_session(SHAGYM_PORT)
        body = urlencode({**FORM, "csrf_token": token})
        post = ("POST", "/report", cookie, body, clients)
        wrk_run(shagym, SHAGYM_PORT, *post, 3)  # warm-up: imports, compiled templates, caches
        wrk_run(limit, LIMIT_PORT, *post, 3)
        ours, theirs = [], []
        for _ in range(rounds):
            theirs.append(wrk_run(limit, LIMIT_PORT, *post, seconds))
            ours.append(wrk_run(shagym, SHAGYM_PORT, *post, seconds))
        a, b = _median_run(ours), _median_run(theirs)
        print(
            f"intake ({workers} workers, {clients} connections, {rounds} interleaved rounds of {seconds:.0f} s, "
            f"medians): Shagym {a.rate:.0f} reports/s, limit {b.rate:.0f}/s = {a.rate / b.rate:.2f}x the limit; "
            f"worker CPU per report {a.cpu_ms:.2f} ms (limit {b.cpu_ms:.2f} ms); p50 {a.p50_ms:.1f} ms, "
            f"p99 {a.p99_ms:.1f} ms (limit p99 {b.p99_ms:.1f} ms = {a.p99_ms / max(b.p99_ms, 0.001):.1f}x); "
            f"errors {sum(r.errors for r in ours)}"
        )
        staff = _staff_cookie(SHAGYM_PORT)
        queue = ("GET", "/staff/queues/general", staff, "")
        wrk_run(shagym, SHAGYM_PORT, *queue, 1, 2)
        alone, browsed = [], []
        for _ in range(rounds):
            alone.append(wrk_run(shagym, SHAGYM_PORT, *post, seconds))
            browsing = _wrk_start(SHAGYM_PORT, *queue, 2, seconds)
            browsed.append(wrk_run(shagym, SHAGYM_PORT, *post, seconds))
            pages = _wrk_result(browsing)
        a, b = _median_run(alone), _median_run(browsed)
        print(
            f"intake while two staff members browse the queue page: {b.rate:.0f} reports/s against {a.rate:.0f} "
            f"alone = {b.rate / a.rate:.2f}x (the two browsed {pages[0] / pages[1]:.0f} pages/s, p99 "
            f"{pages[3]:.1f} ms)"
        )
        one = _median_run([wrk_run(shagym, SHAGYM_PORT, *queue, 1, seconds) for _ in range(rounds)])
        eight = _median_run([wrk_run(shagym, SHAGYM_PORT, *queue, 8, seconds) for _ in range(rounds)])
        print(
            f"queue page through gunicorn: {one.rate:.0f} pages/s at 1 connection, {eight.rate:.0f} at 8 = "
            f"{eight.rate / one.rate:.2f}x; worker CPU per page {one.cpu_ms:.2f} ms; p99 at 8 {eight.p99_ms:.1f} ms; "
            f"errors {one.errors + eight.errors}; worker RSS max {_worker_rss_mb(shagym.pid):.0f} MB"
        )
    finally:
        for server in (shagym, limit):
            server.terminate()
            server.wait()
        shutil.rmtree(instance, ignore_errors=True)


def _worker_rss_mb(master_pid: int) -> float:
    best = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
        except OSError:
            continue
        if f"PPid:\t{master_pid}\n" in status:
            kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            best = max(best, kb / 1024)
    return best


def seed_cases(n: int, settled_after_days: int | None = None) -> None:
    """Insert n cases quickly (one narrative ciphertext reused, in the format from before values were
    bound to their case, which still opens); realistic spread of queues, statuses, dates. Half the
    cases stay open whatever their age; with ``settled_after_days``, a case older than that is
    closed unless its number is a multiple of 100 (an office's backlog: recent cases and a tail)."""
    from sqlalchemy import insert, select

    from cases import receipts
    from cases.models import Case, Queue
    from storage import crypto, db

    ring = crypto.current_keyring()
    narrative = ring.encrypt(b"Benchmark case narrative, fictional.", "cases.narrative")
    queues = [q.id for q in db.session.scalars(select(Queue))]
    now = datetime.now(UTC)
    statuses = ["new", "triage", "investigating", "awaiting_info", "closed", "closed", "closed", "resolved"]
    regions = ["astana", "almaty-city", "shymkent", "karaganda", "aktobe", "turkistan"]
    batch = []
    for i in range(1, n + 1):
        created = now - timedelta(minutes=i)
        status = statuses[i % len(statuses)]
        if settled_after_days is not None and i > settled_after_days * 1440 and i % 100 and status != "resolved":
            status = "closed"
        finished = status in ("closed", "resolved")
        batch.append(
            {
                "reference": f"SHG-BENCH-{i:07d}",
                "created_at": created,
                "updated_at": created,
                "public_updated_at": created,
                "category": "other",
                "region": regions[i % len(regions)],
                "narrative": narrative,
                "ongoing": False,
                "immediate_danger": False,
                "child_affected": "no",
                "in_custody": "no",
                "reporter_role": "witness",
                "receipt_hash": receipts.digest(b"k", f"{i:020d}"),
                "queue_id": queues[i % len(queues)],
                "routing_rule_name": "bench",
                "priority": i % 4,
                "status": status,
                "is_open": not finished,
                "due_at": created + timedelta(days=3),
                "first_response_at": created + timedelta(hours=1 + i % 97) if status != "new" else None,
                "resolution_due_at": created + timedelta(days=21),
                "resolved_at": created + timedelta(hours=24 + i % 500) if finished else None,
                "reopened": 1 if i % 50 == 0 else 0,
                "version": 1,
                "paused_seconds": 0,
                "reporter_news": False,
                "legal_hold": False,
            }
        )
        if len(batch) == 20_000:
            db.session.execute(insert(Case).execution_options(render_nulls=True), batch)
            db.session.commit()
            batch = []
    if batch:
        db.session.execute(insert(Case), batch)
        db.session.commit()


SEARCH_VOCABULARY = 20_000
TERMS_PER_CASE = 20


def seed_search_terms(n: int) -> None:
    """Give the n cases a blind index like real narratives: TERMS_PER_CASE stems each, drawn from a
    vocabulary with a Zipf-like spread, plus "common" in 10 % of cases and "rare" in 0.01 %."""
    import random

    from sqlalchemy import insert

    from cases import search
    from cases.commands.searchindex import search_key
    from cases.models import SearchTerm
    from storage import db

    key = search_key()
    vocabulary = [search.blind(key, f"w:bench{i}") for i in range(SEARCH_VOCABULARY)]
    weights = [1 / (i + 1) for i in range(SEARCH_VOCABULARY)]
    common, rare = (search.blind(key, f"w:{search.stems(w).pop()}") for w in ("common", "rare"))
    rng = random.Random(7)  # noqa: S311 - benchmark data, not a secret  # nosec B311
    batch: list[dict] = []
    for case_id in range(1, n + 1):
        terms = set(rng.choices(vocabulary, weights, k=TERMS_PER_CASE))
        if case_id % 10 == 0:
            terms.add(common)
        if case_id % 10_000 == 0:
            terms.add(rare)
        batch.extend({"term": t, "case_id": case_id} for t in terms)
        if len(batch) >= 200_000:
            db.session.execute(insert(SearchTerm), batch)
            db.session.commit()
            batch = []
    if batch:
        db.session.execute(insert(SearchTerm), batch)
        db.session.commit()


def bench_queue(sizes: list[int], env: dict[str, str]) -> None:
    from sqlalchemy import select, text

    from cases import commands
    from cases.models import Queue
    from storage import db
    from wsgi import create_app

    cpu_pages: dict[int, dict[str, float]] = {}
    for n in sizes:
        # Seeded once into a folder under /tmp (its keys with it) and reused by later runs.
        instance = Path(tempfile.gettempdir()) / f"shagym-bench-seed-{n}"
        seeded = (instance / "seeded").exists()
        if not seeded:
            shutil.rmtree(instance, ignore_errors=True)
        instance.mkdir(exist_ok=True)
        os.environ["SHAGYM_INSTANCE"] = str(instance)
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'bench.sqlite3'}",
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            from flask_migrate import upgrade

            from cases import seed

            upgrade()
            t0 = time.perf_counter()
            if not seeded:
                seed.seed_reference_data()
                seed_cases(n)
                seed_search_terms(n)
                db.session.execute(text("ANALYZE"))
                db.session.commit()
                commands.create_user(
                    STAFF_EMAIL,
                    "Bench",
                    "caseworker",
                    STAFF_PASSWORD,
                    [q.slug for q in db.session.scalars(select(Queue))],
                )
                (instance / "seeded").touch()
            load = time.perf_counter() - t0
            client = app.test_client()
            client.post("/staff/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
            slug = db.session.scalar(select(Queue.slug).where(Queue.id == 1))

            def timed(path: str, repeat: int = 20) -> float:
                samples = []
                for _ in range(repeat):
                    t = time.perf_counter()
                    r = client.get(path)  # noqa: B023 - called only within this iteration
                    samples.append(time.perf_counter() - t)
                    if r.status_code != 200:
                        raise RuntimeError(f"{path} answered {r.status_code}")
                return statistics.median(samples) * 1000

            def cpu(path: str, repeat: int = 30) -> float:
                """Median CPU of this process per page (time.process_time: the machine may be busy)."""
                client.get(path)  # noqa: B023 - called only within this iteration
                samples = []
                for _ in range(repeat):
                    t = time.process_time()
                    client.get(path)  # noqa: B023
                    samples.append(time.process_time() - t)
                return statistics.median(samples) * 1000

            first = timed(f"/staff/queues/{slug}")
            page = client.get(f"/staff/queues/{slug}").get_data(as_text=True)
            cursor = re.search(r"after=([0-9.]+)", page)
            case_path = "/staff/cases/" + re.search(r"/staff/cases/(\d+)", page).group(1)
            cpu_pages[n] = {
                "first page": cpu(f"/staff/queues/{slug}"),
                "next page": cpu(f"/staff/queues/{slug}?after={cursor.group(1)}") if cursor else float("nan"),
                "case page": cpu(case_path),
            }
            print(
                f"CPU per staff page at {n:>9,} cases: "
                + ", ".join(f"{what} {ms:.1f} ms ({ms / 3:.1f}x the 3 ms target)" for what, ms in cpu_pages[n].items())
            )
            deep = timed(f"/staff/queues/{slug}?after={cursor.group(1)}") if cursor else float("nan")
            overdue = timed(f"/staff/queues/{slug}?overdue=1&who=unassigned")
            home = timed("/staff/")
            by_due = timed(f"/staff/queues/{slug}?sort=due")
            by_age = timed(f"/staff/queues/{slug}?sort=age")
            searches = {
                what: timed(f"/staff/search?q={q}")
                for what, q in (
                    ("a word in 10 % of cases", "common"),
                    ("a word in 0.01 %", "rare"),
                    ("both words", "common+rare"),
                    ("the common word and one in no case", "common+nowhere"),
                    ("a word in no case", "nowhere"),
                    ("a reference", "SHG-2026-000042"),
                )
            }
            print(
                f"search at {n:>9,} cases ({n * TERMS_PER_CASE:,} index rows): "
                + ", ".join(f"{what} {ms:.1f} ms" for what, ms in searches.items())
            )
            print(
                f"queue pages at {n:>9,} cases (loaded in {load:.0f}s): first page {first:.1f} ms, next page "
                f"{deep:.1f} ms, overdue+unassigned filter {overdue:.1f} ms, /staff home with counts {home:.1f} ms, "
                f"by due date {by_due:.1f} ms, oldest first {by_age:.1f} ms"
            )
            db.session.remove()
            db.engine.dispose()
    smallest = min(cpu_pages) if cpu_pages else None
    for n, pages in cpu_pages.items():
        if n != smallest:
            print(
                f"staff page CPU at {n:,} ÷ at {smallest:,} cases: "
                + ", ".join(f"{what} {ms / cpu_pages[smallest][what]:.2f}x" for what, ms in pages.items())
            )


# The dashboard's data: the queue benchmark's, but cases older than this are settled (seed_cases).
SETTLED_AFTER_DAYS = 30


def _dashboard_app(n: int, cache: Path):
    """An app over a database of n benchmark cases kept in ``cache``: seeded once (Core inserts in
    batches), reused by later runs; migrations run each time, so a new table appears in an old file."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from cases import seed
    from storage import db
    from wsgi import create_app

    instance = cache / f"instance-{n}-settled-{SETTLED_AFTER_DAYS}"
    instance.mkdir(parents=True, exist_ok=True)
    os.environ["SHAGYM_INSTANCE"] = str(instance)
    path = cache / f"cases-{n}-settled-{SETTLED_AFTER_DAYS}.sqlite3"
    fresh = not path.exists()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        if fresh:
            t0 = time.perf_counter()
            seed.seed_reference_data()
            seed_cases(n, SETTLED_AFTER_DAYS)
            db.session.execute(text("ANALYZE"))
            db.session.commit()
            print(f"seeded {n:,} cases into {path} in {time.perf_counter() - t0:.0f}s")
    return app


def bench_dashboard(sizes: list[int], cache: Path, runs: int) -> None:
    """``dashboard.build`` for 12 weeks and a year after ``rollup run`` (office time zone), without
    filters, with one and with two: the median of ``runs`` runs each."""
    from zoneinfo import ZoneInfo

    from cases import commands, dashboard

    for n in sizes:
        app = _dashboard_app(n, cache)
        with app.app_context():
            tz = ZoneInfo(app.config["OFFICE_TIMEZONE"])
            t0 = time.perf_counter()
            done = commands.run_rollups(tz, datetime.now(UTC))
            rolled = time.perf_counter() - t0
            today = datetime.now(tz).date()
            cases = (
                ("12 weeks", 84, {}),
                ("a year", 365, {}),
                ("a year, one region", 365, {"region": "astana"}),
                ("a year, one queue and region", 365, {"region": "astana", "queue_id": 1}),
            )
            board = {}
            for label, days, filters in cases:
                f = dashboard.Filters(since=today - timedelta(days=days - 1), until=today, **filters)
                samples = []
                for _ in range(runs):
                    t = time.perf_counter()
                    dashboard.build(f, tz, datetime.now(UTC))
                    samples.append(time.perf_counter() - t)
                board[label] = statistics.median(samples) * 1000
            print(
                f"dashboard figures at {n:>9,} cases (rollup run: {len(done.days)} days in {rolled:.1f}s; "
                f"median of {runs} runs): " + ", ".join(f"{label} {ms:.0f} ms" for label, ms in board.items())
            )


def bench_audit(n: int) -> None:
    """``audit verify`` and checkpoints over n events (chains of 10, keyed like real ones), beside
    raw SHA-256 over the same canonical messages: what verification costs over the hashing itself."""
    import hashlib

    from sqlalchemy import insert

    from cases import audit, commands
    from cases.models import Event
    from storage import db
    from wsgi import create_app

    instance = Path(tempfile.mkdtemp(prefix="shagym-bench-"))
    os.environ["SHAGYM_INSTANCE"] = str(instance)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'bench.sqlite3'}"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        key_id, key = audit.audit_keys().current()
        start = datetime.now(UTC)
        messages, prev, batch = [], audit.GENESIS, []
        for i in range(n):
            chain, seq = 1_000_000 + i // 10, i % 10 + 1
            if seq == 1:
                prev = audit.GENESIS
            e = Event(
                id=i + 1,
                chain_id=chain,
                case_id=None,
                seq=seq,
                created_at=start,
                actor_type="system",
                actor_id=None,
                action="note",
                old_value=None,
                new_value=str(i),
                reason=None,
                details=None,
                prev_hash=prev,
                key_id=key_id,
            )
            fields = audit.event_fields(e)
            messages.append(bytes.fromhex(prev) + audit.canonical_json(fields).encode())
            e.hash = audit.compute_hash(prev, fields, key)
            batch.append({c.key: getattr(e, c.key) for c in Event.__table__.columns})
            prev = e.hash
            if len(batch) == 50_000:
                db.session.execute(insert(Event), batch)
                batch = []
        if batch:
            db.session.execute(insert(Event), batch)
        db.session.commit()
        t0 = time.perf_counter()
        for m in messages:
            hashlib.sha256(m).digest()
        raw = time.perf_counter() - t0
        t0 = time.perf_counter()
        commands.write_checkpoint()
        first_cp = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = audit.verify_all(db.session, app.extensions["shagym_signing_key"].public_key())
        verify = time.perf_counter() - t0
        if not report.intact:
            raise RuntimeError(report.problems[:3])
        print(
            f"audit at {n:,} events: verify {verify:.1f} s (raw SHA-256 of the same messages {raw:.2f} s, "
            f"{verify / raw:.0f}x), first checkpoint {first_cp:.1f} s"
        )
    shutil.rmtree(instance, ignore_errors=True)


# --- issue 15 items 4, 5, 8: checkpoints, verify, intake with a large audit trail -------------

# Ports of this section's servers (the bench's own range, so parallel runs do not collide).
AUDIT_BENCH_PORTS = range(18200, 18300)


def seeded_audit(n: int) -> Path:
    """An instance folder (keys, witness, SQLite database) holding ``n`` keyed events in chains of
    10 and a signed checkpoint over them, built once under /tmp and reused: the chain is computed
    here and written with Core bulk inserts (no ORM objects)."""
    import hashlib
    import hmac

    from flask_migrate import upgrade
    from sqlalchemy import insert

    from cases import audit, commands, seed
    from cases.models import Event
    from storage import db
    from wsgi import create_app

    folder = Path(tempfile.gettempdir()) / f"shagym-bench-audit-{n}"
    if (folder / "ready").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    app = create_app(
        {"INSTANCE_PATH": str(folder), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'shagym.sqlite3'}"}
    )
    with app.app_context():
        upgrade()
        seed.seed_reference_data()
        key_id, key = audit.audit_keys().current()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        prev, batch = audit.GENESIS, []
        for i in range(n):
            chain, seq = 1_000_000 + i // 10, i % 10 + 1
            if seq == 1:
                prev = audit.GENESIS
            at = start + timedelta(microseconds=i)
            fields = {
                "chain": chain,
                "case": None,
                "seq": seq,
                "at": at.isoformat(timespec="microseconds"),
                "actor_type": "system",
                "actor": None,
                "action": "note",
                "old": None,
                "new": f"value {i}",
                "reason": None,
                "details": None,
                "key": key_id,
            }
            message = bytes.fromhex(prev) + audit.canonical_json(fields).encode()
            digest = hmac.digest(key, message, hashlib.sha256).hex()
            batch.append(
                {
                    "id": i + 1,
                    "chain_id": chain,
                    "case_id": None,
                    "seq": seq,
                    "created_at": at,
                    "actor_type": "system",
                    "actor_id": None,
                    "action": "note",
                    "old_value": None,
                    "new_value": f"value {i}",
                    "reason": None,
                    "details": None,
                    "prev_hash": prev,
                    "hash": digest,
                    "key_id": key_id,
                }
            )
            prev = digest
            if len(batch) == 50_000:
                db.session.execute(insert(Event), batch)
                batch = []
        if batch:
            db.session.execute(insert(Event), batch)
        db.session.commit()
        t0 = time.perf_counter()
        commands.write_checkpoint()  # the first one reads every event
        (folder / "first-checkpoint-seconds").write_text(f"{time.perf_counter() - t0:.3f}")
        db.engine.dispose()
    (folder / "ready").touch()
    return folder


def bench_audit_scale(sizes: list[int]) -> None:
    """At each size: the first checkpoint over everything (what a checkpoint without a frontier
    costs), the next one after 1,000 more events (what the worker pays: O(new events)), and
    ``verify_all`` against hashlib SHA-256 over the same messages (prev hash || canonical JSON)."""
    import hashlib

    from sqlalchemy import insert

    from cases import audit, audit_rows, commands
    from cases.models import Event
    from storage import db
    from wsgi import create_app

    for n in sizes:
        folder = seeded_audit(n)
        work = Path(tempfile.mkdtemp(prefix="shagym-bench-scale-"))
        shutil.copytree(folder, work, dirs_exist_ok=True)
        app = create_app(
            {"INSTANCE_PATH": str(work), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'shagym.sqlite3'}"}
        )
        with app.app_context():
            # Hashing only, batch by batch (the messages of 1M events need not all be in memory at once).
            raw = 0.0
            for batch in audit_rows.batches(db.session, audit.VERIFY_BATCH):
                messages = [bytes.fromhex(r[12]) + audit_rows.canonical(r).encode() for r in batch]
                t0 = time.perf_counter()
                for m in messages:
                    hashlib.sha256(m).digest()
                raw += time.perf_counter() - t0
            db.session.rollback()
            # 1,000 more events (one chain of its own), then the incremental checkpoint.
            key_id, key = audit.audit_keys().current()
            prev, rows, at = audit.GENESIS, [], datetime.now(UTC)
            for seq in range(1, 1001):
                fields = {
                    "chain": 999_999,
                    "case": None,
                    "seq": seq,
                    "at": at.isoformat(timespec="microseconds"),
                    "actor_type": "system",
                    "actor": None,
                    "action": "note",
                    "old": None,
                    "new": None,
                    "reason": None,
                    "details": None,
                    "key": key_id,
                }
                digest = audit.compute_hash(prev, fields, key)
                rows.append(
                    {
                        "id": n + seq,
                        "chain_id": 999_999,
                        "case_id": None,
                        "seq": seq,
                        "created_at": at,
                        "actor_type": "system",
                        "action": "note",
                        "prev_hash": prev,
                        "hash": digest,
                        "key_id": key_id,
                    }
                )
                prev = digest
            db.session.execute(insert(Event), rows)
            db.session.commit()
            t0 = time.perf_counter()
            commands.write_checkpoint()
            incremental = time.perf_counter() - t0
            t0 = time.perf_counter()
            report = audit.verify_all(db.session, app.extensions["shagym_signing_key"].public_key())
            verify = time.perf_counter() - t0
            if not report.intact:
                raise RuntimeError(report.problems[:3])
            db.engine.dispose()
        shutil.rmtree(work, ignore_errors=True)
        ratio = f"{verify / raw:.1f}x" if n else "—"
        first = float((folder / "first-checkpoint-seconds").read_text())
        print(
            f"audit at {n:>9,} events: first checkpoint (reads all) {first:.2f} s; next checkpoint (1,000 new events) {incremental * 1000:.0f} ms; "
            f"verify_all {verify:.2f} s over {report.events:,} events, hashlib SHA-256 of the same messages "
            f"{raw:.2f} s ({ratio})"
        )


def _client_session(port: int) -> tuple[http.client.HTTPConnection, str, str]:
    """A connection with its session cookie and the report form's CSRF token."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/report")
    response = conn.getresponse()
    body = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1)
    return conn, cookie, token


def _post_reports(port: int, seconds: float, clients: int) -> list[float]:
    """``clients`` connections filing reports for ``seconds`` (counted once every connection has
    its form token, so a slow worker start is not counted); every request's latency."""
    latencies: list[float] = []
    lock = threading.Lock()
    sessions = [_client_session(port) for _ in range(clients)]
    stop = time.monotonic() + seconds

    def run(conn: http.client.HTTPConnection, cookie: str, token: str) -> None:
        local = []
        while time.monotonic() < stop:
            body = urlencode({**FORM, "csrf_token": token, "submission_token": secrets.token_urlsafe(16)})
            t0 = time.perf_counter()
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
            conn.request("POST", "/report", body=body, headers=headers)
            conn.getresponse().read()
            local.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=run, args=session) for session in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def bench_intake_with_events(sizes: list[int], seconds: float, clients: int) -> None:
    """Intake latency through gunicorn (2 workers) with ``n`` events already in the trail and the
    worker process (``flask --app wsgi worker``, checkpoint every 1,000 events) running beside it,
    on ports 18200-18299: the request path must not grow with the trail."""
    for n in sizes:
        folder = seeded_audit(n)
        work = Path(tempfile.mkdtemp(prefix="shagym-bench-intake-"))
        shutil.copytree(folder, work, dirs_exist_ok=True)
        port = AUDIT_BENCH_PORTS[1]
        env = {
            **os.environ,
            "SHAGYM_INSTANCE": str(work),
            "REPORT_RATE_LIMIT": "1000000 per second",
            "AUDIT_CHECKPOINT_EVERY": "1000",
            "WORKER_POLL_SECONDS": "1",
        }
        server = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "-c",
                "gunicorn.conf.py",
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{port}",
                "--access-logfile",
                "/dev/null",
                "wsgi:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        worker = subprocess.Popen(
            [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            latencies = _post_reports(port, seconds, clients)
            latencies.sort()
            print(
                f"intake with {n:>9,} events in the trail (worker signing every 1,000): {len(latencies)} reports, "
                f"p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms"
            )
        finally:
            for proc in (worker, server):
                proc.terminate()
                proc.wait()
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gunicorn workers of each server")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians are printed)")
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--skip-queue", action="store_true")
    parser.add_argument("--audit-events", type=int, default=1_000_000, help="0 to skip the audit benchmark")
    parser.add_argument("--skip-dashboard", action="store_true")
    parser.add_argument(
        "--dashboard-cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "shagym-bench-dashboard",
        help="where the dashboard's seeded databases are kept and reused (1M cases take minutes to seed)",
    )
    parser.add_argument("--dashboard-runs", type=int, default=7, help="runs per figure; the median is printed")
    parser.add_argument(
        "--audit-scale",
        default="",
        help="e.g. 0,100000,1000000: checkpoint cost, verify vs hashlib and intake p99 at these event counts",
    )
    parser.add_argument("--skip-audit-verify", action="store_true", help="with --audit-scale: only the intake part")
    args = parser.parse_args()
    if not args.skip_intake:
        bench_intake(args.workers, args.clients, args.seconds, args.rounds)
    if not args.skip_queue:
        bench_queue([int(s) for s in args.sizes.split(",")], dict(os.environ))
    if not args.skip_dashboard:
        bench_dashboard([int(s) for s in args.sizes.split(",")], args.dashboard_cache, args.dashboard_runs)
    if args.audit_events:
        bench_audit(args.audit_events)
    if args.audit_scale:
        sizes = [int(x) for x in args.audit_scale.split(",")]
        if not args.skip_audit_verify:
            bench_audit_scale(sizes)
        bench_intake_with_events([sizes[0], sizes[-1]], args.seconds, 4)
    print(f"bench process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
