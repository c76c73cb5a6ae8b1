"""gunicorn as production runs it, for the drills and the observability tests: its own process
group (so ``kill -9`` can take all of it at once), loopback only, on a port of 18400–18499."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PORTS = range(18400, 18500)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18400-18499")


def app_env(instance: Path, database_url: str = "", **extra: str) -> dict[str, str]:
    env = {**os.environ, "SHAGYM_INSTANCE": str(instance), "DATABASE_URL": database_url, **extra}
    env.pop("TEST_DATABASE_URL", None)
    return env


def flask(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BIN / "flask", "--app", "wsgi", *args], cwd=ROOT, env=env, check=check, capture_output=True, text=True
    )


class Gunicorn:
    def __init__(self, env: dict[str, str], log: Path, workers: int = 2, threads: int = 4) -> None:
        self.env = {**env, "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads)}
        self.log = log
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> Gunicorn:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own gunicorn with our own config
                [BIN / "gunicorn", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{self.port}", "wsgi:create_app()"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                # A long wait: a probe given up on would still be answered (and counted) later.
                if get(self.port, "/healthz", timeout=max(1.0, deadline - time.monotonic()))[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer in {timeout} s: {self.log.read_text()[-2000:]}")

    def kill9(self) -> None:
        """SIGKILL to the master and every worker at once: nothing gets to clean up."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request on its own connection: (status, headers, body)."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    raw_head, sep, payload = data.partition(b"\r\n\r\n")
    if not sep or not raw_head.startswith(b"HTTP/1."):
        raise ConnectionError(f"no complete answer ({len(data)} bytes)")  # cut off: the server died
    lines = raw_head.decode("latin-1").split("\r\n")
    found = {k.strip().lower(): v.strip() for k, _s, v in (line.partition(":") for line in lines[1:])}
    if found.get("transfer-encoding") == "chunked":
        payload = _unchunk(payload)
    return int(lines[0].split()[1]), found, payload


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _sep, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def get(port: int, path: str, timeout: float = 10, headers: dict[str, str] | None = None):
    return request(port, "GET", path, headers=headers, timeout=timeout)
