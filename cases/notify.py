"""Email a reporter that there is news — never what the news is; tell supervisors how many cases are late.

Staff messages to the reporter, status changes and consent questions (referrals) are noticed as
they are flushed; the command that made them writes one outbox row per address in the
same transaction (``cases/commands/unit.py``), so a change that was rolled back
mails nothing and a committed one is never forgotten. The worker
(``flask --app wsgi worker``, ``cases/commands/outbox.py``) composes and sends
them here, outside any request. With no ``MAIL_SERVER`` configured,
notifications are skipped and the staff case page says so.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from flask import Flask, current_app, has_app_context, has_request_context, url_for
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from cases.models import Case, Message, OutboxMail, Referral
from cases.vocabulary import Basis, MailKind
from i18n import DEFAULT_LOCALE

KEY = "shagym_notify"
# Set by the reporter's reply command: the reporter gets no email about their own reply.
REPORTER_ACTION = "shagym_reporter_action"

# The notice in each language of the site; it goes out in the language the reporter filed in
# (``Case.language``). Written here, not in the catalogs: it is sent by the worker, outside any
# request, in a language that need not be the staff member's.
NOTICES: dict[str, tuple[str, str]] = {
    "kk": (
        "Shagym: жаңалық бар",
        """Сәлеметсіз бе! Shagym-дағы өтінішіңіз бойынша жаңалық бар. Оны түбіртек кодыңызбен мына жерден қараңыз:
{url}

--
Бұл хатта сіздің ісіңіз туралы ешқандай мәлімет жоқ. Оған жауап бермеңіз.
""",
    ),
    "ru": (
        "Shagym: есть новости",
        """Здравствуйте! По вашему обращению в Shagym есть новости. Посмотрите их с вашим кодом квитанции здесь:
{url}

--
В этом письме нет сведений о вашем деле. Не отвечайте на него.
""",
    ),
    "en": (
        "Shagym: there is news",
        """Hello! There is news about the report you made on Shagym. Check it with your receipt code here:
{url}

--
This email contains no details of your case. Do not reply to it.
""",
    ),
}


def enabled(app: Flask) -> bool:
    return bool(app.config["MAIL_SERVER"])


def _collect(session: Session, _ctx, _instances) -> None:
    if not has_app_context() or not enabled(current_app) or session.info.get(REPORTER_ACTION):
        return
    pending: set[tuple[str, str]] = session.info.setdefault(KEY, set())
    for obj in session.new:
        # A message to them, or a referral that waits for their consent on the tracking page.
        if (isinstance(obj, Message) and obj.kind == "to_reporter") or (
            isinstance(obj, Referral) and obj.basis == Basis.CONSENT
        ):
            case = session.get(Case, obj.case_id)
            if case is not None and case.contact_email:
                pending.add((case.contact_email, case.language))
    for obj in session.dirty:
        if isinstance(obj, Case) and inspect(obj).attrs.status.history.has_changes() and obj.contact_email:
            pending.add((obj.contact_email, obj.language))


def take_pending(session: Session) -> set[tuple[str, str]]:
    """The (address, language) pairs this transaction's flushes noticed; the command's commit
    turns them into outbox rows."""
    return session.info.pop(KEY, None) or set()


def track_link() -> str:
    """Where the reporter checks for news: the absolute address when a request names the host."""
    return url_for("track.track", _external=True) if has_request_context() else "/track"


def escalation_link() -> str:
    base = (current_app.config.get("STAFF_URL") or "").rstrip("/")
    return f"{base}/supervise/escalations" if base else ""


def _forget(session: Session) -> None:
    session.info.pop(KEY, None)
    session.info.pop(REPORTER_ACTION, None)


ESCALATION_SUBJECT = "Shagym: кешіккен істер / просроченные дела / late cases"
ESCALATION_BODY = """Shagym: {count} іс мерзімінен кешікті. Басшыға арналған тізімді қараңыз. /
Shagym: просрочено дел: {count}. Посмотрите список для руководителя. /
Shagym: {count} case(s) are late. See the escalation list.
{url}

--
Бұл хатта істер туралы мәлімет жоқ. / В этом письме нет сведений о делах. / This email contains no case details.
"""


def compose(mail: OutboxMail, mail_from: str) -> EmailMessage:
    """The e-mail an outbox row stands for: the reporter's content-free notice in their language,
    or the supervisors' count of late cases (no reference, category or content)."""
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = ", ".join((mail.recipients or "").split("\n"))
    if mail.kind == MailKind.ESCALATION:
        msg["Subject"] = ESCALATION_SUBJECT
        msg.set_content(ESCALATION_BODY.format(count=mail.count, url=mail.link))
    else:
        subject, body = NOTICES.get(mail.language, NOTICES[DEFAULT_LOCALE])
        msg["Subject"] = subject
        msg["Content-Language"] = mail.language
        msg.set_content(body.format(url=mail.link))
    return msg


def deliver(msg: EmailMessage, cfg: Mapping[str, Any]) -> None:
    """Hand one message to the SMTP server; raises ``OSError``/``SMTPException`` when it does not take it."""
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT_SECONDS"]) as smtp:
        if cfg.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(msg)


_installed = False


def init_app(app: Flask) -> None:
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _collect)
    event.listen(Session, "after_commit", _forget)
    event.listen(Session, "after_rollback", _forget)
    _installed = True
