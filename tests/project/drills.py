"""What the failure drills share: a browser-like reporter over plain sockets (form, CSRF cookie,
hidden fields), a write load of several such reporters, and the figures each drill prints into
the CI log (rounds, acknowledged, found, lost)."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from tests.helpers import RECEIPT_RE, REFERENCE_RE, report_form
from tests.project.servers import request

HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
NAME = re.compile(r'name="([^"]+)"')
VALUE = re.compile(r'value="([^"]*)"')
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
# The drills' reporters come from one address: the limits are raised out of the way.
OPEN_LIMITS = {"REPORT_RATE_LIMIT": "100000 per minute", "TRACK_RATE_LIMIT": "100000 per minute"}


ENGLISH = {"Cookie": "lang=en"}  # the drills read English page text (the shipped default is Kazakh)


def _cookie(headers: dict[str, str]) -> str:
    session = headers.get("set-cookie", "").split(";", 1)[0]
    return f"{session}; lang=en" if session else "lang=en"


def _hidden(html: str) -> dict[str, str]:
    out = {}
    for tag in HIDDEN.findall(html):
        name, value = NAME.search(tag), VALUE.search(tag)
        if name:
            out[name.group(1)] = value.group(1) if value else ""
    return out


@dataclass
class Answer:
    status: int
    body: str
    receipt: str | None = None
    reference: str | None = None


def file_report(port: int, n: int = 0, timeout: float = 15) -> Answer:
    """GET the form, then POST it as a browser would; the receipt when the report was acknowledged."""
    status, headers, body = request(port, "GET", "/report", headers=ENGLISH, timeout=timeout)
    if status != 200:
        return Answer(status, body.decode(errors="replace"))
    form = {
        **report_form(narrative=f"[DRILL — fictional] report number {n}, written under load."),
        **_hidden(body.decode()),
    }
    status, _headers, body = request(
        port, "POST", "/report", urlencode(form).encode(), {**FORM, "Cookie": _cookie(headers)}, timeout=timeout
    )
    text = body.decode(errors="replace")
    receipt, reference = RECEIPT_RE.search(text), REFERENCE_RE.search(text)
    if status == 200 and receipt and reference:
        return Answer(status, text, receipt.group(1), reference.group(0))
    return Answer(status, text)


def receipt_found(port: int, receipt: str) -> bool:
    """The reporter's own check: the tracking form takes the receipt (303 to the case)."""
    status, headers, body = request(port, "GET", "/track", headers=ENGLISH)
    assert status == 200
    form = {"receipt": receipt, **_hidden(body.decode())}
    status, _h, _b = request(port, "POST", "/track", urlencode(form).encode(), {**FORM, "Cookie": _cookie(headers)})
    return status == 303


@dataclass
class Load:
    """``threads`` reporters filing reports back to back until stopped; what was acknowledged."""

    port: int
    threads: int = 4
    acknowledged: list[tuple[str, str]] = field(default_factory=list)
    answers: dict[int, int] = field(default_factory=dict)
    failures: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._n = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                self._n += 1
                n = self._n
            try:
                answer = file_report(self.port, n)
            except OSError:  # the server was killed mid-request: never acknowledged
                with self._lock:
                    self.failures += 1
                time.sleep(0.05)
                continue
            with self._lock:
                self.answers[answer.status] = self.answers.get(answer.status, 0) + 1
                if answer.receipt:
                    self.acknowledged.append((answer.receipt, answer.reference))

    def start(self) -> Load:
        self._stop.clear()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for w in self._workers:
            w.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for w in self._workers:
            w.join(timeout=30)

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count and time.monotonic() < deadline:
            time.sleep(0.02)


def print_figures(capsys, drill: str, **figures: object) -> None:
    """One line per drill in the CI log, even when pytest captures output."""
    with capsys.disabled():
        print(f"\nDRILL {drill}: " + " ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
