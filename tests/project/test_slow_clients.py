"""Slow clients must not take the site down: gunicorn as ``make run`` starts it keeps answering
while 20 connections trickle their POST bodies in.

This is not a speed test: with one sync process per request the form never answers while the
slow bodies are pending (the workers are all reading), so the bound below is only there so the
test ends instead of hanging.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SLOW = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    env = {**os.environ, "SHAGYM_INSTANCE": str(tmp_path), "DATABASE_URL": ""}
    env.pop("WEB_CONCURRENCY", None)  # as `make run` starts it
    env.pop("TEST_DATABASE_URL", None)
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "flask", "--app", "wsgi", "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own gunicorn with our own config
        [bin_dir / "gunicorn", "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{port}", "wsgi:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):  # wait until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _get(port: int, path: str, timeout: float) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        return data


def test_the_form_answers_while_twenty_clients_trickle_their_bodies(server):
    assert _get(server, "/report", timeout=30).startswith(b"HTTP/1.1 200")  # warm: the workers are up
    slow = []
    try:
        for _ in range(SLOW):
            s = socket.create_connection(("127.0.0.1", server), timeout=30)
            s.sendall(
                b"POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nnarrative="
            )
            slow.append(s)
        time.sleep(0.5)  # let every slow request reach a worker before the real one
        answer = _get(server, "/report", timeout=10)
        assert answer.startswith(b"HTTP/1.1 200") and b"<form" in answer
    finally:
        for s in slow:
            s.close()
