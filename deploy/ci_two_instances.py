"""CI: the production shape — nginx in front of two gunicorn instances on one PostgreSQL and Redis.

Run by ``deploy/ci-two-instances.sh`` (from ``.ci/run``, after the test suites). Everything lives in
a temporary directory and on ports 18300–18399; nothing root-owned is needed. Steps:

1. a fresh PostgreSQL database, Redis database 3 emptied; every key generated once and written to
   files (mode 0600) that both instances read through the ``*_FILE`` settings;
2. ``init-db`` from instance A, a case worker created from instance B (``REQUIRE_2FA_FOR_ALL=1``);
3. gunicorn A and B (their own ``instance/`` folders), nginx (``deploy/nginx/shagym-proxy.conf``
   included as is) listening on three ports: both instances, A only, B only;
4. reports filed through nginx on A and on B, each receipt tracked on the *other* instance;
5. the report rate limit (5 a minute) counted across both: the sixth report is refused on B;
6. the case worker signs in on A (password, then enrols and passes TOTP) and works a case through
   the workflow on B (claim, triage, investigating, resolved, closed);
7. a third instance started with its own generated keys must refuse to start, naming them;
8. ``flask audit verify`` with both instances' witnesses: intact.

It prints a short summary and exits 1 with the reason (and the logs' tails) on any failure.
Only the standard library plus what the app already depends on (pyotp, for the TOTP code).
"""

from __future__ import annotations

import base64
import html
import http.client
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv" / "bin"
BASE_PORT = int(os.environ.get("SHAGYM_CI_PORT", "18300"))
PORT_BOTH, PORT_A, PORT_B = BASE_PORT, BASE_PORT + 1, BASE_PORT + 2
APP_A, APP_B, APP_C = BASE_PORT + 11, BASE_PORT + 12, BASE_PORT + 13
PG = os.environ.get("SHAGYM_CI_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS_DB = 3
DEADLINE = time.monotonic() + float(os.environ.get("SHAGYM_CI_SECONDS", "300"))
RECEIPT_RE = re.compile(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</code>")
REFERENCE_RE = re.compile(r"SHG-\d{4}-\d{6}")
CASEWORKER = "ci-caseworker@ci.shagym.test"
PASSWORD = "ci-" + secrets.token_urlsafe(18)
NARRATIVE = "CI (fictional): a test report filed through nginx on instance {}; no real person or event."


class Failed(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Failed(what)
    if time.monotonic() > DEADLINE:
        raise Failed(f"over the time limit, at: {what}")


# --- HTTP through nginx, with a cookie jar ------------------------------------------------


@dataclass
class Browser:
    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, dict, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                if "max-age=0" in value.lower() or val == "":
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = val
        conn.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, html.unescape(text)

    def get(self, path: str) -> tuple[int, dict, str]:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> tuple[int, dict, str]:
        return self.request("POST", path, form)

    def on(self, port: int) -> Browser:
        """The same browser (cookies) talking to another nginx port, i.e. another instance."""
        return Browser(port, self.cookies)


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    check(match is not None, "a CSRF token on the form")
    return match.group(1)  # type: ignore[union-attr]


def report_form(instance: str) -> dict[str, str]:
    return {
        "category": "other",
        "narrative": NARRATIVE.format(instance),
        "region": "astana",
        "immediate_danger": "no",
        "child_affected": "no",
        "in_custody": "no",
        "reporter_role": "witness",
        "contact": "anonymous",
        "consent": "y",
    }


# --- processes ------------------------------------------------------------------------------


@dataclass
class Services:
    work: Path
    env: dict[str, str]
    database: str
    processes: list[tuple[str, subprocess.Popen, Path]] = field(default_factory=list)

    def instance_env(self, name: str, **extra: str) -> dict[str, str]:
        return {**self.env, "SHAGYM_INSTANCE": str(self.work / f"instance-{name}"), **extra}

    def flask(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - our own venv's flask, fixed arguments
            [str(VENV / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=env or self.instance_env(name),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = self.work / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        self.processes.append((name, process, log))
        return process

    def gunicorn(self, name: str, port: int, env: dict[str, str]) -> subprocess.Popen:
        # No control socket: two instances on one host would share its default path.
        argv = [
            str(VENV / "gunicorn"),
            "--config",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
        ]
        return self.start(f"gunicorn-{name}", [*argv, "wsgi:create_app()"], env)

    def stop(self) -> None:
        for _name, process, _log in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for _name, process, _log in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    def tails(self) -> str:
        out = []
        for name, _process, log in self.processes:
            lines = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
            out.append(f"--- {name} ({log}) ---\n" + "\n".join(lines))
        return "\n".join(out)


def wait_ready(port: int, process: subprocess.Popen, what: str) -> None:
    while time.monotonic() < DEADLINE:
        check(process.poll() is None, f"{what} exited with {process.returncode}")
        try:
            status, _h, _b = Browser(port).get("/readyz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise Failed(f"{what} not ready in time")


def key_files(directory: Path) -> dict[str, str]:
    """Every key generated once, in the settings' formats, as files both instances read."""
    directory.mkdir(mode=0o700)
    seed = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    values = {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "SHAGYM_DATA_KEYS": "cidata01:" + base64.b64encode(os.urandom(32)).decode(),
        "SHAGYM_AUDIT_KEYS": "ciaudit1:" + base64.b64encode(os.urandom(32)).decode(),
        "SHAGYM_SEARCH_KEYS": "cisearch:" + base64.b64encode(os.urandom(32)).decode(),
        "SHAGYM_SIGNING_KEY": base64.b64encode(seed).decode(),
        "SHAGYM_RECEIPT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    settings = {}
    for name, value in values.items():
        path = directory / name.lower()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        settings[f"{name}_FILE"] = str(path)
    return settings


NGINX_CONF = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    log_format shagym_private '$time_iso8601 "$request_method $uri" $status $body_bytes_sent '
                              '$request_time $upstream_addr';
    access_log {prefix}/access.log shagym_private;
    server_tokens off;
    client_header_timeout 30s;
    upstream shagym_both {{ server 127.0.0.1:{app_a}; server 127.0.0.1:{app_b}; keepalive 8; }}
    upstream shagym_a {{ server 127.0.0.1:{app_a}; keepalive 4; }}
    upstream shagym_b {{ server 127.0.0.1:{app_b}; keepalive 4; }}
    server {{ listen 127.0.0.1:{both}; location / {{ include {snippet}; proxy_pass http://shagym_both; }} }}
    server {{ listen 127.0.0.1:{port_a}; location / {{ include {snippet}; proxy_pass http://shagym_a; }} }}
    server {{ listen 127.0.0.1:{port_b}; location / {{ include {snippet}; proxy_pass http://shagym_b; }} }}
}}
"""


def start_nginx(services: Services) -> subprocess.Popen:
    prefix = services.work / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    user = ""
    if os.geteuid() == 0:  # workers run as nobody: let them into their own temp folders only
        user = "user nobody nogroup;"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "tmp" / sub).mkdir()
            shutil.chown(prefix / "tmp" / sub, "nobody", "nogroup")
        for path in (services.work, prefix, prefix / "tmp"):
            path.chmod(0o711)
    conf = prefix / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            prefix=prefix,
            user=user,
            app_a=APP_A,
            app_b=APP_B,
            both=PORT_BOTH,
            port_a=PORT_A,
            port_b=PORT_B,
            snippet=ROOT / "deploy" / "nginx" / "shagym-proxy.conf",
        )
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    test = subprocess.run(  # noqa: S603
        [nginx, "-t", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
    )
    check(test.returncode == 0, f"nginx -t: {test.stderr.strip()}")
    return services.start(
        "nginx", [nginx, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf), "-g", "daemon off;"], {}
    )


def psql(*sql: str, database: str = "postgres") -> str:
    args = ["psql", f"{PG}/{database}", "-qAtX"]
    for statement in sql:
        args += ["-c", statement]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)  # noqa: S603
    check(done.returncode == 0, f"psql: {done.stderr.strip()}")
    return done.stdout.strip()


def redis_flush() -> None:
    subprocess.run(["redis-cli", "-n", str(REDIS_DB), "FLUSHDB"], capture_output=True, timeout=10, check=True)  # noqa: S603,S607


# --- the run ----------------------------------------------------------------------------------


def file_and_track(summary: list[str]) -> list[str]:
    """A report through nginx on each instance, each tracked on the other; then the shared limit."""
    references = []
    for here, there, name in ((PORT_A, PORT_B, "A"), (PORT_B, PORT_A, "B")):
        reporter = Browser(here)
        status, _h, page = reporter.get("/report")
        check(status == 200, f"GET /report on {name}: {status}")
        status, _h, page = reporter.post("/report", {**report_form(name), "csrf_token": csrf(page)})
        check(status == 200, f"POST /report on {name}: {status}")
        receipt, reference = RECEIPT_RE.search(page), REFERENCE_RE.search(page)
        check(receipt is not None and reference is not None, f"a receipt and a reference from {name}")
        references.append(reference.group(0))  # type: ignore[union-attr]
        other = Browser(there)  # a new browser: only the receipt crosses over
        status, _h, page = other.get("/track")
        status, headers, _p = other.post("/track", {"receipt": receipt.group(1), "csrf_token": csrf(page)})  # type: ignore[union-attr]
        check(status == 303, f"the receipt filed on {name} is found on the other instance ({status})")
        status, _h, page = other.get("/track/case")
        check(status == 200 and references[-1] in page, f"the case page of {references[-1]} on the other instance")
        summary.append(f"report filed on {name} ({references[-1]}), its receipt tracked on the other instance")
    # REPORT_RATE_LIMIT is 5 a minute per client, kept in Redis: 2 filed; 3 more across both, then no.
    for i, port in enumerate((PORT_A, PORT_BOTH, PORT_B, PORT_B)):
        reporter = Browser(port)
        _s, _h, page = reporter.get("/report")
        status, _h, page = reporter.post("/report", {**report_form(f"port {port}"), "csrf_token": csrf(page)})
        if i < 3:
            check(status == 200, f"report {i + 3} within the limit: {status}")
            references.append(REFERENCE_RE.search(page).group(0))  # type: ignore[union-attr]
        else:
            check(status == 429, f"the sixth report in a minute is refused on B, counted across instances ({status})")
    summary.append("rate limit shared through Redis: 5 reports across A and B accepted, the 6th refused (429)")
    return references


def staff_workflow(services: Services, reference: str, summary: list[str]) -> None:
    """Sign in on A with two-factor enrolment; work the case through the workflow on B."""
    staff = Browser(PORT_A)
    _s, _h, page = staff.get("/staff/login")
    status, headers, _p = staff.post(
        "/staff/login", {"email": CASEWORKER, "password": PASSWORD, "csrf_token": csrf(page)}
    )
    check(status == 302 and headers.get("location", "").endswith("/staff/2fa/setup"), f"sign-in step 1 ({status})")
    _s, _h, page = staff.get("/staff/2fa/setup")
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page)
    check(secret is not None, "the TOTP key on the enrolment page")
    code = pyotp.TOTP(secret.group(1).replace(" ", "")).now()  # type: ignore[union-attr]
    status, _h, page = staff.post("/staff/2fa/setup", {"code": code, "csrf_token": csrf(page)})
    check(status == 200 and "recovery" in page.lower(), f"two-factor enrolment ({status})")
    staff = staff.on(PORT_B)  # the session is in the database: the other instance knows it
    status, _h, page = staff.get("/staff/queues/general")
    check(status == 200, f"the queue page on B ({status})")
    case_id = psql(f"SELECT id FROM cases WHERE reference = '{reference}'", database=services.database)  # noqa: S608
    check(case_id.isdigit(), f"the case {reference} in the database")
    path = f"/staff/cases/{case_id}"

    def act(action: str, form: dict[str, str]) -> None:
        _s, _h, page = staff.get(path)
        version = re.search(r'name="version"[^>]*value="(\d+)"', page)
        check(version is not None, f"the case page before {action}")
        status, _h, _p = staff.post(
            f"{path}/{action}",
            {**form, "version": version.group(1), "csrf_token": csrf(page)},  # type: ignore[union-attr]
        )
        check(status == 302, f"{action} {form} ({status})")

    act("claim", {})
    for target, reason in (
        ("triage", ""),
        ("investigating", ""),
        ("resolved", "CI: fictional outcome"),
        ("closed", ""),
    ):
        act("status", {"target": target, "reason": reason, "message": ""})
    status = psql(f"SELECT status FROM cases WHERE id = {int(case_id)}", database=services.database)  # noqa: S608
    check(status == "closed", f"the case ends closed, not {status}")
    summary.append(f"case worker signed in on A (password + TOTP), worked {reference} on B: claim → … → closed")


def refused_instance(services: Services, summary: list[str]) -> None:
    """An instance with its own generated keys (the silent failure of the issue) must not start."""
    env = {k: v for k, v in services.instance_env("C").items() if not k.endswith("_FILE")}
    process = services.gunicorn("C", APP_C, env)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired as exc:
        raise Failed("an instance with other keys kept running") from exc
    log = services.work / "gunicorn-C.log"
    text = log.read_text(errors="replace")
    check(process.returncode != 0, "an instance with other keys exits with an error")
    check("refusing to start" in text and "the receipt key (SHAGYM_RECEIPT_KEY) differs" in text, "the refusal line")
    check("App failed to load" in text, "gunicorn halts instead of respawning")
    summary.append("a third instance with its own generated keys refused to start, naming each key that differs")


def run(work: Path) -> list[str]:
    summary: list[str] = []
    database = f"shagym_scaleout_ci_{os.getpid()}"
    psql(f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}")
    redis_flush()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"{PG}/{database}",
        "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "REPORT_RATE_LIMIT": "5 per minute",
        "SHAGYM_PROXY_HOPS": "1",
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "REQUIRE_2FA_FOR_ALL": "1",
        "AUDIT_CHECKPOINT_EVERY": "5",  # checkpoints signed on both instances during the run
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        **key_files(work / "keys"),
    }
    services = Services(work, env, database)
    try:
        done = services.flask("A", "init-db")
        check(done.returncode == 0, f"init-db: {done.stderr.strip() or done.stdout.strip()}")
        done = services.flask(
            "B",
            "create-user",
            CASEWORKER,
            "--name",
            "CI caseworker (fictional)",
            "--role",
            "caseworker",
            "--queue",
            "general",
            env=services.instance_env("B", SHAGYM_PASSWORD=PASSWORD),
        )
        check(done.returncode == 0, f"create-user on B: {done.stderr.strip() or done.stdout.strip()}")
        a = services.gunicorn("A", APP_A, services.instance_env("A"))
        b = services.gunicorn("B", APP_B, services.instance_env("B"))
        wait_ready(APP_A, a, "gunicorn A")
        wait_ready(APP_B, b, "gunicorn B")
        nginx = start_nginx(services)
        for port in (PORT_BOTH, PORT_A, PORT_B):
            wait_ready(port, nginx, f"nginx :{port}")
        summary.append(f"nginx :{PORT_BOTH} (A+B), :{PORT_A} (A), :{PORT_B} (B) → gunicorn :{APP_A}, :{APP_B}")
        references = file_and_track(summary)
        staff_workflow(services, references[0], summary)
        refused_instance(services, summary)
        served = (work / "nginx" / "access.log").read_text()
        check(f"127.0.0.1:{APP_A}" in served and f"127.0.0.1:{APP_B}" in served, "nginx served from both instances")
        witnesses = [str(work / f"instance-{n}" / "audit_witness.sqlite3") for n in ("A", "B")]
        for name in ("A", "B"):
            done = services.flask(name, "audit", "verify", "--witness", witnesses[0], "--witness", witnesses[1])
            check(done.returncode == 0, f"audit verify on {name}: {done.stdout.strip()} {done.stderr.strip()}")
        summary.append("audit verify (both witnesses), on A and on B: " + done.stdout.strip().splitlines()[-1])
        cases = psql("SELECT count(*) FROM cases", database=database)
        check(cases == "5", f"5 cases stored, not {cases}")
        return summary
    except Failed:
        print(services.tails(), file=sys.stderr)
        raise
    finally:
        services.stop()
        redis_flush()
        psql(f"DROP DATABASE IF EXISTS {database}")


def main() -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="shagym-ci-two-"))
    try:
        summary = run(work)
    except (Failed, subprocess.SubprocessError, OSError) as exc:
        print(f"=== two instances behind nginx: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"=== two instances behind nginx: passed in {time.monotonic() - started:.0f} s")
    for line in summary:
        print(f"  - {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
