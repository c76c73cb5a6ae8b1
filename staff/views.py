"""Case workers' and supervisors' pages. Thin: parse, call a service, render."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from cases import (
    access,
    audit,
    commands,
    deadlines,
    evidence,
    history,
    institutions,
    queries,
    receipts,
    referral_queries,
    related,
    replies,
    triage,
    workflow,
)
from cases.categories import ANSWER_LABELS, CATEGORIES, CATEGORY_BY_SLUG, REGION_LABELS, REPORTER_ROLE_LABELS
from cases.evidence import ALLOWED
from cases.models import Case, Event, Evidence, Message, Queue, QueueMembership, SavedView, User
from cases.refusals import Refused
from cases.vocabulary import CASE_ROLES, CHANNEL_TITLES, Channel, MessageKind, Priority, Role
from cases.workflow import Status
from i18n import LANGUAGE_NAMES, N_
from intake.forms import local_today
from intake.uploads import evidence_limits, uploaded_files
from staff.forms import (
    AssignForm,
    BulkForm,
    CaseTagForm,
    HandOverForm,
    HoldForm,
    LinkForm,
    MoveForm,
    NoteForm,
    PriorityForm,
    SavedViewForm,
    StaffReportForm,
    StatusForm,
)
from staff.gate import id_or_none, roles
from staff.periods import office_today
from storage import db, writes_on_get

bp = Blueprint("staff", __name__, url_prefix="/staff")
# In the session after a successful action on a case: the redirect to it logs no second view.
ACTED_ON = "acted_on"
# In the session after a refused link: what was typed, for the form on the case page again.
LINK_TYPED = "link_typed"


@bp.app_context_processor
def _case_row_labels() -> dict:
    """What the case rows of staff pages name (category, region, channel), by slug."""
    return {
        "category_name": lambda slug: CATEGORY_BY_SLUG[slug].name if slug in CATEGORY_BY_SLUG else slug,
        "region_name": lambda slug: REGION_LABELS.get(slug, slug),
        "channel_title": lambda value: {c.value: t for c, t in CHANNEL_TITLES.items()}.get(value, value),
        "service_levels": deadlines.service_levels,
        "tag_name": lambda tag: tag.name(str(get_locale() or "kk")),
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _my_queues() -> list[Queue]:
    if current_user.role == Role.SUPERVISOR:
        return list(db.session.scalars(select(Queue).where(Queue.active.is_(True)).order_by(Queue.name)))
    return list(
        db.session.scalars(
            select(Queue)
            .join(QueueMembership, QueueMembership.queue_id == Queue.id)
            .where(QueueMembership.user_id == current_user.id, Queue.active.is_(True))
            .order_by(Queue.name)
        )
    )


@bp.get("/")
def home():
    if current_user.role == Role.ADMIN:
        return redirect(url_for("staff_admin.users"))
    now = _now()
    summaries = [triage.queue_summary(q, now) for q in _my_queues()]
    mine, _next = triage.queue_page(None, triage.QueueFilter(), current_user, None, now, assignee_id=current_user.id)
    views = db.session.scalars(
        select(SavedView).where(SavedView.user_id == current_user.id).order_by(SavedView.name)
    ).all()
    visible = {q.id for q in _my_queues()}
    return render_template(
        "staff/home.html",
        summaries=summaries,
        mine=mine,
        row_tags=queries.tags_for(c.id for c in mine),
        now=now,
        cap=triage.COUNT_CAP,
        views=[v for v in views if v.queue_id in visible],  # a queue left since stays out of sight
        delete_form=SavedViewForm(prefix="delete"),
        late_answers=referral_queries.late_for(current_user, office_today()),
    )


@bp.route("/reports/new", methods=["GET", "POST"])
@roles(*CASE_ROLES)
def report_for_someone():
    """A report taken down by staff for someone who phoned, came in, wrote or e-mailed: the same
    questions, checks and routing as the public form; the receipt is shown once, to hand over."""
    form = StaffReportForm()
    if request.method == "GET":
        form.submission_token.data = secrets.token_urlsafe(24)
    file_problems: list[str] = []
    accepted: list = []
    if form.is_submitted():
        accepted, refused = evidence.check_batch(uploaded_files(), evidence_limits())
        file_problems = [_(r.template, **r.params) for r in refused]
    if form.validate_on_submit() and not file_problems:
        try:
            filed = commands.file_report(
                form.new_report(Channel(form.channel.data), form.reporter_language.data),
                current_app.extensions["shagym_receipt_key"],
                form.submission_token.data or None,
                accepted,
                filed_by=current_user,
            )
        except commands.DuplicateSubmission:
            flash(_("This report was already filed; its receipt was shown when it was."), "error")
            return redirect(url_for("staff.home"))
        return render_template(
            "staff/report_receipt.html", filed=filed, receipt=filed.receipt, speakable=receipts.speakable(filed.receipt)
        )
    status = 422 if request.method == "POST" else 200
    return render_template(
        "staff/report.html",
        form=form,
        categories=CATEGORIES,
        file_problems=file_problems,
        limits=evidence_limits(),
        today=local_today().isoformat(),
    ), status


@bp.get("/search")
@roles(*CASE_ROLES)
def search():
    """Cases by reference, exact contact, or words of their encrypted texts (the blind index)."""
    q = request.args.get("q", "").strip()[:200]
    cases, before = [], None
    if q:
        key = current_app.extensions["shagym_search_keys"].current()[1]
        cases, before = queries.search_cases(current_user, q, key, id_or_none(request.args.get("before")))
    return render_template(
        "staff/search.html", q=q, cases=cases, before=before, now=_now(), row_tags=queries.tags_for(c.id for c in cases)
    )


def _queue_or_404(slug: str) -> Queue:
    q = db.session.scalar(select(Queue).where(Queue.slug == slug))
    if q is None or (current_user.role == Role.CASEWORKER and q.id not in access.queue_ids(db.session, current_user)):
        abort(404)
    return q


def _queue_filter(args) -> triage.QueueFilter:
    return triage.QueueFilter.parse(args, set(CATEGORY_BY_SLUG), set(REGION_LABELS))


def _queue_members(q: Queue) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(QueueMembership, QueueMembership.user_id == User.id)
            .where(QueueMembership.queue_id == q.id, User.active.is_(True))
            .order_by(User.name)
        )
    )


SORT_TITLES = {
    "priority": N_("Urgent first, then due date"),
    "due": N_("Due date, soonest first"),
    "age": N_("Oldest first"),
}


@bp.get("/queues/<slug>")
@roles(*CASE_ROLES)
def queue(slug: str):
    q = _queue_or_404(slug)
    ref = request.args.get("ref", "").strip()
    if ref:
        case = queries.find_reference(ref)
        if case is not None and access.can_see(db.session, current_user, case):
            return redirect(url_for("staff.case", case_id=case.id))
        flash(_("No case with reference %(ref)s in your queues.", ref=ref[:40]), "error")
    f = _queue_filter(request.args)
    now = _now()
    cases, next_cursor = triage.queue_page(q.id, f, current_user, request.args.get("after"), now)
    return render_template(
        "staff/queue.html",
        queue=q,
        cases=cases,
        f=f,
        next_cursor=next_cursor,
        now=now,
        statuses=list(Status),
        categories=CATEGORIES,
        regions=REGION_LABELS,
        priorities=list(Priority),
        channels=CHANNEL_TITLES,
        sorts=SORT_TITLES,
        members=_queue_members(q) if current_user.role == Role.SUPERVISOR else [],
        tags=related.active_tags(),
        row_tags=queries.tags_for(c.id for c in cases),
        bulk_form=_bulk_form(q),
        view_form=SavedViewForm(prefix="view"),
    )


@bp.post("/queues/<slug>/views")
@roles(*CASE_ROLES)
def save_view(slug: str):
    """Keep the queue's current filter under a name; it is listed on the start page."""
    q = _queue_or_404(slug)
    form = SavedViewForm(prefix="view")
    f = _queue_filter(request.form)
    if form.validate():
        try:
            commands.save_view(current_user, q, form.name.data or "", f.query_string())
        except Refused as exc:
            flash(refusal_text(exc), "error")
        else:
            flash(
                _("View “%(name)s” saved; it is on your start page.", name=" ".join(form.name.data.split())), "success"
            )
    else:
        flash(_("Give the view a name."), "error")
    return redirect(url_for("staff.queue", slug=q.slug, **f.params()))


@bp.get("/views/<int:view_id>")
@roles(*CASE_ROLES)
def open_view(view_id: int):
    """A saved view opens its queue with the filter parsed again (never trusted as stored)."""
    view = db.session.get(SavedView, view_id)
    if view is None or view.user_id != current_user.id:
        abort(404)
    q = _queue_or_404(view.queue.slug)
    f = triage.QueueFilter.from_query_string(view.params, set(CATEGORY_BY_SLUG), set(REGION_LABELS))
    return redirect(url_for("staff.queue", slug=q.slug, **f.params()))


@bp.post("/views/<int:view_id>/delete")
@roles(*CASE_ROLES)
def delete_view(view_id: int):
    """Delete one of one's own saved views (anyone else's is a 404, like a missing one)."""
    SavedViewForm(prefix="delete").validate()  # CSRF is checked app-wide; the name is not needed here
    try:
        commands.delete_view(view_id, current_user)
    except commands.NotFound:
        abort(404)
    flash(_("View deleted."), "success")
    return redirect(url_for("staff.home"))


BULK_LABELS = {
    "claim": N_("Claim them"),
    "status": N_("Change their status"),
    "assign": N_("Assign them"),
    "move": N_("Move them to another queue"),
}


def _bulk_form(q: Queue) -> BulkForm:
    """The bulk action form of a queue page: what this role may do, with the choices it needs."""
    form = BulkForm(prefix="bulk")
    supervisor = current_user.role == Role.SUPERVISOR
    actions = [a for a in commands.BULK_ACTIONS if supervisor or a in ("claim", "status")]
    form.action.choices = [("", _("Choose an action"))] + [(a, _(BULK_LABELS[a])) for a in actions]
    form.target.choices = [("", _("Choose a status"))] + [(s.value, _(s.title)) for s in Status]
    if supervisor:
        workers = _queue_members(q)
        form.assignee.choices = [("", _("Nobody (unassigned)"))] + [(str(u.id), u.name) for u in workers]
        form.queue.choices = [("", _("Choose a queue"))] + [
            (other.slug, _(other.name))
            for other in db.session.scalars(
                select(Queue).where(Queue.active.is_(True), Queue.id != q.id).order_by(Queue.name)
            )
        ]
    return form


@bp.post("/queues/<slug>/bulk")
@roles(*CASE_ROLES)
def bulk(slug: str):
    """One action on the ticked cases; each case is its own audited command. The answer lists
    what was done and what was refused, and why."""
    q = _queue_or_404(slug)
    form = _bulk_form(q)
    ids = [i for i in (id_or_none(v) for v in request.form.getlist("case")) if i is not None]
    if not form.validate() or not ids:
        flash(_("Tick at least one case and choose what to do with them."), "error")
        return redirect(url_for("staff.queue", slug=q.slug))
    outcomes = commands.apply_to_each(
        current_user,
        ids,
        form.action.data,
        target=form.target.data or "",
        assignee=form.assignee.data or "",
        queue=form.queue.data or "",
        reason=form.reason.data or "",
    )
    return render_template(
        "staff/bulk_result.html",
        queue=q,
        action=_(BULK_LABELS[form.action.data]),
        done=[o for o in outcomes if o.done],
        refused=[(o, refusal_text(o.refused)) for o in outcomes if not o.done],
    )


def _missing_case(case_id: int):
    """A case nobody can see is a 404; to a supervisor (who may see every case), one whose chain
    the audit witness saw committed was deleted from the database outside the audit trail."""
    head = audit.current_witness().head(case_id) if current_user.role == Role.SUPERVISOR else None
    if head is None:
        abort(404)
    return render_template("staff/case_deleted.html", case_id=case_id, head=head), 404


def _visible_or_404(case_id: int) -> Case:
    case = access.visible_case(db.session, current_user, case_id)
    if case is None:
        abort(404)
    return case


@bp.get("/cases/<int:case_id>")
@roles(*CASE_ROLES)
@writes_on_get
def case(case_id: int):
    if access.visible_case(db.session, current_user, case_id) is None:
        return _missing_case(case_id)
    case = _visible_or_404(case_id)
    # The page after the viewer's own action is not another reading: that action is in the history.
    if session.pop(ACTED_ON, None) != case.id:
        commands.record_view(case.id, current_user)
        case = _visible_or_404(case_id)
    return _case_page(case, NoteForm(formdata=None))


def _case_page(case: Case, note_form: NoteForm, status: int = 200):
    """The case page: its facts, the actions this role may take, messages and history."""
    events = list(db.session.scalars(select(Event).where(Event.chain_id == case.id).order_by(Event.seq)))
    messages = list(db.session.scalars(select(Message).where(Message.case_id == case.id).order_by(Message.id)))
    evidence = list(db.session.scalars(select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.id)))
    broken = (
        audit.check_case(db.session, case, events, [*messages, *evidence])
        if current_user.role == Role.SUPERVISOR
        else None
    )
    status_form = StatusForm(version=case.version)
    # No move is chosen until the person chooses one; each move is listed once, with what it needs.
    moves = workflow.available(case.status, current_user.role)
    status_form.target.choices = [("", _("Choose a move"))] * bool(moves) + [(t.target.value, _move(t)) for t in moves]
    priority_form = PriorityForm(version=case.version, priority=case.priority_name)
    assign_form = move_form = hold_form = hand_form = None
    if current_user.role == Role.CASEWORKER and case.is_open:
        colleagues = db.session.scalars(
            select(User)
            .join(QueueMembership, QueueMembership.user_id == User.id)
            .where(
                QueueMembership.queue_id == case.queue_id,
                User.active.is_(True),
                User.role == Role.CASEWORKER,
                User.id != current_user.id,
            )
            .order_by(User.name)
        ).all()
        if colleagues:
            hand_form = HandOverForm(version=case.version)
            hand_form.colleague.choices = [("", _("Choose a colleague"))] + [
                (str(u.id), u.name) for u in colleagues if u.id != case.assignee_id
            ]
    if current_user.role == Role.SUPERVISOR:
        assign_form = AssignForm(version=case.version, assignee=str(case.assignee_id or ""))
        workers = db.session.scalars(
            select(User)
            .join(QueueMembership, QueueMembership.user_id == User.id)
            .where(QueueMembership.queue_id == case.queue_id, User.active.is_(True))
            .order_by(User.name)
        ).all()
        supervisors = db.session.scalars(select(User).where(User.role == Role.SUPERVISOR, User.active.is_(True))).all()
        assign_form.assignee.choices = [("", _("Nobody (unassigned)"))] + [
            (str(u.id), f"{u.name} ({_(u.role)})") for u in {u.id: u for u in [*workers, *supervisors]}.values()
        ]
        move_form = MoveForm(version=case.version)
        move_form.queue.choices = [
            (q.slug, _(q.name))
            for q in db.session.scalars(
                select(Queue).where(Queue.active.is_(True), Queue.id != case.queue_id).order_by(Queue.name)
            )
        ]
        hold_form = HoldForm(version=case.version, hold=not case.legal_hold)
    now = _now()
    labels = queries.history_labels(events, current_user)
    return render_template(
        "staff/case.html",
        case=case,
        events=events,
        timeline=history.entries(events, labels),
        also_open=[labels.names.get(i, "") for i in history.recent_viewers(events, current_user.id, now)],
        levels=deadlines.service_levels(case, now),
        messages=messages,
        evidence=evidence,
        broken=broken,
        status_form=status_form,
        priority_form=priority_form,
        assign_form=assign_form,
        hand_form=hand_form,
        move_form=move_form,
        hold_form=hold_form,
        note_form=_with_templates(note_form, case),
        now=now,
        category=CATEGORY_BY_SLUG[case.category],
        region=REGION_LABELS.get(case.region, case.region),
        answers=ANSWER_LABELS,
        reporter_role=REPORTER_ROLE_LABELS.get(case.reporter_role, case.reporter_role),
        referrals=referral_queries.of_case(case.id),
        today=office_today(),
        **_tags_and_links(case),
        **institutions.case_panel(case, current_app.extensions["shagym_search_keys"].current()[1]),
    ), status


def _with_templates(form: NoteForm, case: Case) -> NoteForm:
    """The message form's template chooser: the active templates, the reporter's language first
    (and the first of those chosen unless the person chose another)."""
    choices = queries.template_choices(case.language)
    form.template.choices = [(str(t.id), f"{t.name} ({LANGUAGE_NAMES[t.language]})") for t in choices]
    if form.template.data in (None, "", "None") and choices:
        form.template.data = str(choices[0].id)
    return form


def _tags_and_links(case: Case) -> dict:
    """The case page's tags, links both ways and (for an open case) its possible duplicates."""
    locale = str(get_locale() or "kk")
    tags = queries.tags_for([case.id]).get(case.id, [])
    tag_form = CaseTagForm()
    on = {t.id for t in tags}
    offered = [(str(t.id), t.name(locale)) for t in related.active_tags() if t.id not in on]
    tag_form.tag.choices = [("", _("Choose a tag"))] + offered
    typed = session.pop(LINK_TYPED, None)
    link_form = LinkForm(data=typed if isinstance(typed, dict) else None)
    suggestions = (
        related.duplicate_suggestions(case, current_user, current_app.config["DUPLICATE_WINDOW_DAYS"])
        if case.is_open
        else []
    )
    return {
        "tags": tags,
        "tag_form": tag_form if offered else None,
        "links": related.links_of(case, current_user),
        "link_form": link_form,
        "suggestions": suggestions,
    }


def _move(t: workflow.Transition) -> str:
    """A move as the status menu offers it: its label, and what it needs when a reason is required."""
    if not t.reason_required:
        return _(t.label)
    return _("%(move)s — needs: %(what)s", move=_(t.label), what=_(t.reason_label))


def _version() -> int | None:
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        return None


def refusal_text(exc: Refused) -> str:
    """A refusal in the reader's language; its parameters (status titles) are translated too."""
    return _(exc.template, **{k: _(v) if isinstance(v, str) else v for k, v in exc.params.items()})


def _act(case_id: int, action, success: str):
    """Run a command for a POST action and report the outcome as a flash message."""
    _visible_or_404(case_id)
    try:
        action()
    except commands.NotFound:
        abort(404)
    except Refused as exc:
        flash(refusal_text(exc), "error")
    else:
        flash(success, "success")
        session[ACTED_ON] = case_id
    return redirect(url_for("staff.case", case_id=case_id))


@bp.post("/cases/<int:case_id>/claim")
@roles(*CASE_ROLES)
def claim(case_id: int):
    return _act(case_id, lambda: commands.claim(case_id, current_user, _version()), _("You now hold this case."))


@bp.post("/cases/<int:case_id>/hand-over")
@roles(Role.CASEWORKER)
def hand_over(case_id: int):
    _visible_or_404(case_id)
    colleague = id_or_none(request.form.get("colleague"))
    if colleague is None:
        flash(_("Choose a colleague who works this queue."), "error")
        return redirect(url_for("staff.case", case_id=case_id))
    return _act(
        case_id,
        lambda: commands.hand_over(case_id, current_user, colleague, _version(), request.form.get("reason", "")),
        _("Handed over."),
    )


@bp.post("/cases/<int:case_id>/assign")
@roles(Role.SUPERVISOR)
def assign(case_id: int):
    _visible_or_404(case_id)
    raw = request.form.get("assignee", "").strip()
    assignee = id_or_none(raw)
    if raw and assignee is None:
        # Garbage is not "nobody": it must never unassign the case.
        flash(_("That person cannot work cases in this queue."), "error")
        return redirect(url_for("staff.case", case_id=case_id))
    return _act(
        case_id,
        lambda: commands.assign(case_id, current_user, assignee, _version(), request.form.get("reason", "")),
        _("Assignment changed."),
    )


@bp.post("/cases/<int:case_id>/status")
@roles(*CASE_ROLES)
def status(case_id: int):
    _visible_or_404(case_id)  # before anything else: another queue's case is 404 whatever was posted
    target = request.form.get("target", "")
    if target not in {s.value for s in Status}:
        flash(_("Choose a status."), "error")
        return redirect(url_for("staff.case", case_id=case_id))
    return _act(
        case_id,
        lambda: commands.change_status(
            case_id, current_user, target, request.form.get("reason", ""), _version(), request.form.get("message", "")
        ),
        _("Status changed to “%(status)s”.", status=_(Status(target).title)),
    )


@bp.post("/cases/<int:case_id>/priority")
@roles(*CASE_ROLES)
def priority(case_id: int):
    return _with_reason(case_id, commands.change_priority, "priority", _("Priority changed."))


@bp.post("/cases/<int:case_id>/move")
@roles(Role.SUPERVISOR)
def move(case_id: int):
    return _with_reason(case_id, commands.move_queue, "queue", _("Case moved to another queue."))


def _with_reason(case_id: int, command, field: str, success: str):
    """A case action that takes one chosen value and a reason (priority, queue)."""
    return _act(
        case_id,
        lambda: command(case_id, current_user, request.form.get(field, ""), request.form.get("reason", ""), _version()),
        success,
    )


@bp.post("/cases/<int:case_id>/messages")
@roles(*CASE_ROLES)
def add_message(case_id: int):
    kind, body = request.form.get("kind", "note"), request.form.get("body", "")
    if kind == MessageKind.TO_REPORTER:
        template_id = id_or_none(request.form.get("template_id"))
        return _act(
            case_id,
            lambda: commands.send_message(case_id, current_user, body, template_id),
            _("Message sent to the reporter."),
        )
    return _act(case_id, lambda: commands.add_note(case_id, current_user, body), _("Internal note added."))


@bp.post("/cases/<int:case_id>/messages/template")
@roles(*CASE_ROLES)
def insert_template(case_id: int):
    """Without JavaScript: the case page again, with the chosen template filled in for this case
    below whatever was already typed (nothing typed is lost). Nothing is stored or sent."""
    case = _visible_or_404(case_id)
    form = NoteForm()
    template = queries.active_template(id_or_none(form.template.data))
    if template is None:
        form.template.errors = [_("Choose one of the templates offered.")]
        return _case_page(case, form, 422)
    values = replies.values_for(
        case.reference or "", current_user.name, case.due_at, template.language, current_app.config["OFFICE_TIMEZONE"]
    )
    text = replies.substitute(template.body, values)
    typed = (form.body.data or "").rstrip()
    form.body.data = f"{typed}\n\n{text}" if typed else text
    form.kind.data = MessageKind.TO_REPORTER.value
    form.template_id.data = str(template.id)
    return _case_page(case, form)


@bp.post("/cases/<int:case_id>/hold")
@roles(Role.SUPERVISOR)
def hold(case_id: int):
    on = request.form.get("hold") == "y"
    return _act(
        case_id,
        lambda: commands.set_legal_hold(case_id, current_user, on, request.form.get("reason", ""), _version()),
        _("Legal hold set.") if on else _("Legal hold lifted."),
    )


@bp.post("/cases/<int:case_id>/tags")
@roles(*CASE_ROLES)
def add_tag(case_id: int):
    tag_id = id_or_none(request.form.get("tag"))
    return _act(case_id, lambda: commands.add_tag(case_id, current_user, tag_id), _("Tag added."))


@bp.post("/cases/<int:case_id>/tags/<int:tag_id>/remove")
@roles(*CASE_ROLES)
def remove_tag(case_id: int, tag_id: int):
    return _act(case_id, lambda: commands.remove_tag(case_id, current_user, tag_id), _("Tag removed."))


@bp.post("/cases/<int:case_id>/links")
@roles(*CASE_ROLES)
def link(case_id: int):
    """Link this case to another by its reference; a refusal brings the form back as it was typed."""
    _visible_or_404(case_id)
    typed = {k: request.form.get(k, "")[:500] for k in ("reference", "kind", "reason")}
    duplicate = typed["kind"] == "duplicate_of"
    response = _act(
        case_id,
        lambda: commands.link_cases(case_id, current_user, typed["reference"], typed["kind"], typed["reason"]),
        _("Case closed as a duplicate.") if duplicate else _("Cases linked."),
    )
    if session.get(ACTED_ON) != case_id:
        session[LINK_TYPED] = typed
    return response


@bp.post("/cases/<int:case_id>/links/<int:link_id>/remove")
@roles(*CASE_ROLES)
def unlink(case_id: int, link_id: int):
    return _act(case_id, lambda: commands.unlink_cases(case_id, current_user, link_id), _("Link removed."))


def content_disposition(filename: str, fallback: str) -> str:
    """RFC 6266 / RFC 5987: an ASCII fallback plus the UTF-8 name, both safely quoted."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@bp.get("/cases/<int:case_id>/evidence/<int:evidence_id>")
@roles(*CASE_ROLES)
@writes_on_get
def evidence_download(case_id: int, evidence_id: int):
    """Evidence for staff: always an attachment, never rendered inline; each download audited."""
    try:
        item = commands.record_download(case_id, evidence_id, current_user)
    except commands.NotFound:
        abort(404)
    ext = item.kind if item.kind in ALLOWED else "bin"
    response = Response(item.content, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = content_disposition(item.filename, f"evidence-{item.id}.{ext}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
