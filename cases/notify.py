"""Email a reporter that there is news — never what the news is.

Staff messages to the reporter, status changes and consent questions (referrals) are noticed as they are
flushed; the emails go out only after the transaction commits (nothing is
sent for a change that was rolled back). With no ``MAIL_SERVER`` configured,
notifications are skipped and the staff case page says so.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from flask import Flask, current_app, has_app_context, has_request_context, url_for
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from cases.models import Case, Message, Referral
from cases.vocabulary import Basis
from i18n import DEFAULT_LOCALE

log = logging.getLogger(__name__)
KEY = "shagym_notify"
# Set by the reporter's reply command: the reporter gets no email about their own reply.
REPORTER_ACTION = "shagym_reporter_action"

# The notice in each language of the site; it goes out in the language the reporter filed in
# (``Case.language``). Written here, not in the catalogs: it is sent after the request's page
# was rendered, in a language that need not be the staff member's.
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


def _send_after_commit(session: Session) -> None:
    session.info.pop(REPORTER_ACTION, None)
    pending = session.info.pop(KEY, None)
    if not pending or not has_app_context():
        return
    for address, language in pending:
        send(address, language)


def _discard(session: Session) -> None:
    session.info.pop(KEY, None)
    session.info.pop(REPORTER_ACTION, None)


def send(address: str, language: str = DEFAULT_LOCALE) -> bool:
    """Send the content-free notification in the reporter's language; failures are logged without the address."""
    subject, body = NOTICES.get(language, NOTICES[DEFAULT_LOCALE])
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["To"] = address
    msg["Content-Language"] = language
    msg.set_content(body.format(url=url_for("track.track", _external=True) if has_request_context() else "/track"))
    return _deliver(msg, "reporter notification")


ESCALATION_SUBJECT = "Shagym: кешіккен істер / просроченные дела / late cases"
ESCALATION_BODY = """Shagym: {count} іс мерзімінен кешікті. Басшыға арналған тізімді қараңыз. /
Shagym: просрочено дел: {count}. Посмотрите список для руководителя. /
Shagym: {count} case(s) are late. See the escalation list.
{url}

--
Бұл хатта істер туралы мәлімет жоқ. / В этом письме нет сведений о делах. / This email contains no case details.
"""


def send_escalation(addresses: list[str], count: int) -> bool:
    """Tell supervisors that ``count`` cases became late: no reference, category or content,
    only the number and where to look (STAFF_URL, when set). One message to all of them."""
    if not addresses:
        return False
    base = (current_app.config.get("STAFF_URL") or "").rstrip("/")
    msg = EmailMessage()
    msg["Subject"] = ESCALATION_SUBJECT
    msg["To"] = ", ".join(addresses)
    msg.set_content(ESCALATION_BODY.format(count=count, url=f"{base}/supervise/escalations" if base else ""))
    return _deliver(msg, "escalation notice")


def _deliver(msg: EmailMessage, what: str) -> bool:
    cfg = current_app.config
    msg["From"] = cfg["MAIL_FROM"]
    try:
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls(context=ssl.create_default_context())
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("%s not sent: %s", what, type(exc).__name__)
        return False
    return True


_installed = False


def init_app(app: Flask) -> None:
    global _installed
    if _installed:
        return
    event.listen(Session, "before_flush", _collect)
    event.listen(Session, "after_commit", _send_after_commit)
    event.listen(Session, "after_rollback", _discard)
    _installed = True
