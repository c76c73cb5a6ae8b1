"""Fixtures of the public-side tests."""

from __future__ import annotations

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = f"{parsed['Subject']}\n{parsed.get_body(preferencelist=('plain',)).get_content()}"
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, text))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    """A real SMTP server on 127.0.0.1: yields (port, inbox); ``inbox.messages`` are (from, to, subject and text)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()
