"""Referrals on a case, on the ``staff`` blueprint: prepare one, open it, send its letter, record
the answer, withdraw a draft; the letter as HTML and as PDF in the letter's language.

Opening a referral or its letter is read access to the case: it is audited like opening the case.
A refusal brings the page back with everything typed (422), never a blank form.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from flask import Response, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from cases import access, commands, referral_letter, referral_queries
from cases.categories import CATEGORY_BY_SLUG
from cases.models import Case, Referral
from cases.refusals import Refused
from cases.vocabulary import (
    BASIS_TITLES,
    CASE_ROLES,
    OUTCOME_TITLES,
    PARTNER_KIND_TITLES,
    SHARED_FIELD_TITLES,
    Basis,
)
from i18n import DEFAULT_LOCALE
from staff.gate import id_or_none, roles
from staff.periods import office_today
from staff.referral_forms import AnswerForm, ReferralForm, SendForm, WithdrawForm
from staff.views import ACTED_ON, bp, refusal_text
from storage import db, writes_on_get
from web import printing


def _case_or_404(case_id: int) -> Case:
    case = access.visible_case(db.session, current_user, case_id)
    if case is None:
        abort(404)
    return case


def _referral_or_404(case: Case, referral_id: int) -> Referral:
    referral = db.session.get(Referral, referral_id)
    if referral is None or referral.case_id != case.id:
        abort(404)
    return referral


def _day(raw: str | None) -> date | None:
    """A YYYY-MM-DD day as typed, or None (the command says that a date is needed)."""
    try:
        return datetime.strptime((raw or "").strip()[:10], "%Y-%m-%d").date()
    except ValueError:
        return None


def letter_document(referral: Referral, case: Case, *, page: bool = False) -> str:
    """The letter in its own language. The document without page links (``page`` False) is the
    one whose SHA-256 the sending records and which becomes the PDF."""
    with force_locale(referral.language):
        return render_template(
            "staff/referral_letter.html",
            referral=referral,
            case=case,
            body=referral.partner,
            items=referral_letter.items(referral, case),
            basis=BASIS_TITLES[Basis(referral.basis)],
            page=page,
            letter_language=referral.language,
        )


def _referral_page(case: Case, referral: Referral, forms: dict | None = None, status: int = 200):
    forms = forms or {}
    sent_copy = None
    if referral.letter_sha256:
        sent_copy = hashlib.sha256(letter_document(referral, case).encode("utf-8")).hexdigest() == (
            referral.letter_sha256
        )
    return render_template(
        "staff/referral.html",
        case=case,
        referral=referral,
        body=referral.partner,
        send_form=forms.get("send") or SendForm(formdata=None, sent_on=office_today().isoformat()),
        answer_form=forms.get("answer") or AnswerForm(formdata=None),
        withdraw_form=forms.get("withdraw") or WithdrawForm(formdata=None),
        basis=BASIS_TITLES[Basis(referral.basis)],
        field_titles=SHARED_FIELD_TITLES,
        outcomes=OUTCOME_TITLES,
        kinds=PARTNER_KIND_TITLES,
        sent_copy=sent_copy,
        late=referral.is_late(office_today()),
        pdf=printing.available(),
    ), status


def _new_form(case: Case) -> ReferralForm:
    form = ReferralForm()
    if request.method == "GET":
        form.language.data = case.language or DEFAULT_LOCALE
        form.letter_narrative.data = case.narrative or ""
        form.basis.data = Basis.DEIDENTIFIED.value
    locale = str(get_locale() or DEFAULT_LOCALE)
    form.partner.choices = [("", _("Choose a partner body"))] + [
        (str(b.id), f"{b.name(locale)} ({_(PARTNER_KIND_TITLES[b.kind])})")
        for b in referral_queries.active_partners(case.category)
    ]
    return form


@bp.route("/cases/<int:case_id>/referrals/new", methods=["GET", "POST"])
@roles(*CASE_ROLES)
def new_referral(case_id: int):
    """Prepare a referral: the body, the basis, what the letter shares, the redacted narrative."""
    case = _case_or_404(case_id)
    form = _new_form(case)
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            draft = commands.Draft(
                partner_id=id_or_none(form.partner.data),
                basis=form.basis.data or "",
                fields=list(form.fields.data or []),
                language=form.language.data or "",
                tell_reporter=bool(form.tell_reporter.data),
                legal_duty=form.legal_duty.data or "",
                letter_narrative=form.letter_narrative.data or "",
            )
            try:
                referral = commands.prepare_referral(case.id, current_user, draft)
            except commands.NotFound:
                abort(404)
            except Refused as exc:
                flash(refusal_text(exc), "error")
            else:
                flash(
                    _("Referral prepared. The reporter is asked for consent on the tracking page.")
                    if referral.basis == Basis.CONSENT
                    else _("Referral prepared. Check the letter, then record it as sent."),
                    "success",
                )
                session[ACTED_ON] = case.id
                return redirect(url_for("staff.referral", case_id=case.id, referral_id=referral.id))
    return render_template(
        "staff/referral_new.html",
        case=case,
        form=form,
        category=CATEGORY_BY_SLUG[case.category],
        anonymous=not case.contact_email and not case.contact_phone,
    ), status


@bp.get("/cases/<int:case_id>/referrals/<int:referral_id>")
@roles(*CASE_ROLES)
@writes_on_get
def referral(case_id: int, referral_id: int):
    case = _case_or_404(case_id)
    item = _referral_or_404(case, referral_id)
    commands.record_view(case.id, current_user)
    return _referral_page(_case_or_404(case_id), item)


def _step(case_id: int, referral_id: int, key: str, form, run, success: str):
    """A POST step on a referral: the command, or the referral page again with what was typed."""
    case = _case_or_404(case_id)
    item = _referral_or_404(case, referral_id)
    if form.validate():
        try:
            run(form)
        except commands.NotFound:
            abort(404)
        except Refused as exc:
            flash(refusal_text(exc), "error")
        else:
            flash(success, "success")
            return redirect(url_for("staff.referral", case_id=case_id, referral_id=referral_id))
    db.session.expire_all()
    case = _case_or_404(case_id)
    return _referral_page(case, _referral_or_404(case, item.id), {key: form}, 422)


@bp.post("/cases/<int:case_id>/referrals/<int:referral_id>/send")
@roles(*CASE_ROLES)
def send_referral(case_id: int, referral_id: int):
    return _step(
        case_id,
        referral_id,
        "send",
        SendForm(),
        lambda f: commands.send_referral(
            case_id, referral_id, current_user, f.letter_number.data or "", _day(f.sent_on.data), letter_document
        ),
        _("Referral recorded as sent. Its letter's SHA-256 is in the case history."),
    )


@bp.post("/cases/<int:case_id>/referrals/<int:referral_id>/answer")
@roles(*CASE_ROLES)
def referral_answer(case_id: int, referral_id: int):
    return _step(
        case_id,
        referral_id,
        "answer",
        AnswerForm(),
        lambda f: commands.record_referral_answer(
            case_id,
            referral_id,
            current_user,
            commands.Answered(
                _day(f.answered_on.data), f.number.data or "", f.summary.data or "", f.outcome.data or ""
            ),
        ),
        _("The body's answer is recorded."),
    )


@bp.post("/cases/<int:case_id>/referrals/<int:referral_id>/withdraw")
@roles(*CASE_ROLES)
def withdraw_referral(case_id: int, referral_id: int):
    return _step(
        case_id,
        referral_id,
        "withdraw",
        WithdrawForm(),
        lambda f: commands.withdraw_referral(case_id, referral_id, current_user, f.reason.data or ""),
        _("Referral withdrawn; it will not be sent."),
    )


@bp.get("/cases/<int:case_id>/referrals/<int:referral_id>/letter")
@roles(*CASE_ROLES)
@writes_on_get
def referral_letter_page(case_id: int, referral_id: int):
    """The letter to print, in its own language, with a link back and to the PDF."""
    case = _case_or_404(case_id)
    item = _referral_or_404(case, referral_id)
    commands.record_view(case.id, current_user)
    case = _case_or_404(case_id)
    return letter_document(_referral_or_404(case, item.id), case, page=True)


@bp.get("/cases/<int:case_id>/referrals/<int:referral_id>/letter.pdf")
@roles(*CASE_ROLES)
@writes_on_get
def referral_letter_pdf(case_id: int, referral_id: int):
    case = _case_or_404(case_id)
    item = _referral_or_404(case, referral_id)
    if not printing.available():
        return Response(
            _("PDF is not available on this server; print the HTML letter instead."), 503, mimetype="text/plain"
        )
    commands.record_view(case.id, current_user)
    case = _case_or_404(case_id)
    item = _referral_or_404(case, item.id)
    with force_locale(item.language):
        title = _("Referral letter") + (f" {item.letter_number}" if item.letter_number else "")
    pdf = printing.pdf_from_html(letter_document(item, case), title=title, language=item.language)
    name = f"referral-{case.reference or case.id}-{item.id}.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})
