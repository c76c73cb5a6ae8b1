"""Tags and links between cases: the vocabulary supervisors keep, tags on a case, related cases,
closing a duplicate (and what its reporter reads), possible duplicates — each change audited,
and nothing shown of a case the viewer may not see."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from cases import commands, queries, related
from cases.models import Case, CaseLink, CaseTag, Event, Tag
from storage import db
from tests.helpers import chain, count, page

NAMES = {"kk": "Жер дауы", "ru": "Земельный спор", "en": "Land dispute"}
NOT_FOUND = "No case with that reference among the cases you may see."


@pytest.fixture
def tag(make_user):
    supervisor = make_user("supervisor")
    return commands.create_tag("land", NAMES, by=supervisor)


def system_events(action: str) -> list[Event]:
    return list(db.session.scalars(select(Event).where(Event.chain_id == 0, Event.action == action)))


def flashes(body: str) -> list[str]:
    """The flashed messages of a page, as read."""
    notices = re.findall(r'<strong class="notice-label">(.*?)</strong>(.*?)</div>', body, re.S)
    return [" ".join(f"{label} {text}".split()) for label, text in notices]


def actions(case_id: int) -> list[str]:
    return [e.action for e in chain(case_id)]


# --- the vocabulary -------------------------------------------------------------------------


def test_a_supervisor_creates_renames_and_switches_off_a_tag(app, staff):
    client, supervisor = staff("supervisor")
    response = client.post(
        "/staff/supervise/tags",
        data={"slug": "Land-Dispute", "name_kk": "Жер дауы", "name_ru": "Земельный спор", "name_en": "Land dispute"},
    )
    assert response.status_code == 302
    tag = db.session.scalar(select(Tag))
    assert (tag.slug, tag.name_kk, tag.name_ru, tag.name_en, tag.active) == (
        "land-dispute",
        "Жер дауы",
        "Земельный спор",
        "Land dispute",
        True,
    )
    [created] = system_events("tag_created")
    assert (created.actor_id, created.new_value) == (supervisor.id, "land-dispute")
    assert "Land dispute" in page(client.get("/staff/supervise/tags"))

    client.post(f"/staff/supervise/tags/{tag.id}", data={"name_kk": "Жер", "name_ru": "Земля", "name_en": "Land"})
    client.post(f"/staff/supervise/tags/{tag.id}/toggle")
    db.session.expire_all()
    tag = db.session.get(Tag, tag.id)
    assert (tag.slug, tag.name_en, tag.active) == ("land-dispute", "Land", False)
    assert [e.new_value for e in system_events("tag_changed")] == ["land-dispute", "false"]
    assert count(Tag) == 1  # switched off, never deleted


def test_a_bad_tag_form_says_why_and_keeps_what_was_typed(app, staff, tag):
    client, _ = staff("supervisor")
    response = client.post(
        "/staff/supervise/tags", data={"slug": "land", "name_kk": "Қ", "name_ru": "З", "name_en": "Typed here"}
    )
    body = page(response)
    assert response.status_code == 422
    assert "A tag with this short name exists." in body and 'value="Typed here"' in body
    response = client.post("/staff/supervise/tags", data={"slug": "no spaces!", "name_en": "x"})
    assert response.status_code == 422 and "Fill in this field." in page(response)
    assert count(Tag) == 1


@pytest.mark.parametrize(
    "path", ["/staff/supervise/tags", "/staff/supervise/tags/{id}", "/staff/supervise/tags/{id}/toggle"]
)
def test_case_workers_may_not_manage_tags(app, staff, tag, path):
    client, _ = staff("caseworker", ["general"])
    path = path.format(id=tag.id)
    assert client.get(path).status_code in (403, 405)
    assert client.post(path, data={"slug": "x", **{f"name_{k}": v for k, v in NAMES.items()}}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Tag, tag.id).active and count(Tag) == 1


def test_the_command_refuses_a_case_worker_too(app, make_user):
    worker = make_user("caseworker")
    with pytest.raises(commands.Forbidden):
        commands.create_tag("x", NAMES, by=worker)


# --- tags on a case ---------------------------------------------------------------------------


def test_a_case_worker_tags_a_case_and_removes_the_tag(app, make_case, staff, tag):
    client, worker = staff("caseworker", ["general"])
    case = make_case().case
    assert client.post(f"/staff/cases/{case.id}/tags", data={"tag": str(tag.id)}).status_code == 302
    assert db.session.get(CaseTag, (case.id, tag.id)).added_by == worker.id
    body = page(client.get(f"/staff/cases/{case.id}"))
    assert "Land dispute" in body
    [added] = [e for e in chain(case.id) if e.action == "tag_added"]
    assert (added.actor_id, added.new_value) == (worker.id, "land")
    assert queries.tags_for([case.id, case.id + 99]) == {case.id: [tag]}

    client.post(f"/staff/cases/{case.id}/tags/{tag.id}/remove")
    assert db.session.get(CaseTag, (case.id, tag.id)) is None
    assert actions(case.id)[-1] == "tag_removed"
    assert queries.tags_for([case.id]) == {}


def test_the_tag_is_shown_in_the_readers_language(app, make_case, login_as, tag, make_user):
    case = make_case().case
    commands.add_tag(case.id, make_user("supervisor"), tag.id)
    client, _ = login_as("caseworker", ["general"])
    for lang, name in NAMES.items():
        client.set_cookie("lang", lang)
        assert name in page(client.get(f"/staff/cases/{case.id}")), lang


def test_tag_refusals(app, make_case, staff, tag, make_user):
    client, worker = staff("caseworker", ["general"])
    case = make_case().case
    commands.add_tag(case.id, worker, tag.id)
    response = client.post(f"/staff/cases/{case.id}/tags", data={"tag": str(tag.id)}, follow_redirects=True)
    assert "The case already has this tag." in page(response)
    for forged in ("999999", "abc", ""):
        response = client.post(f"/staff/cases/{case.id}/tags", data={"tag": forged}, follow_redirects=True)
        assert "Choose a tag from the list." in page(response), forged
    commands.set_tag_active(tag.id, False, by=make_user("supervisor"))
    other = make_case().case
    response = client.post(f"/staff/cases/{other.id}/tags", data={"tag": str(tag.id)}, follow_redirects=True)
    assert "Choose a tag from the list." in page(response)  # switched off: no longer offered
    hidden = make_case(category="women").case
    assert client.post(f"/staff/cases/{hidden.id}/tags", data={"tag": str(tag.id)}).status_code == 404
    assert client.post(f"/staff/cases/{hidden.id}/tags/{tag.id}/remove").status_code == 404
    tag_events = select(Event).where(Event.action.in_(("tag_added", "tag_removed")))
    assert len(db.session.scalars(tag_events).all()) == 1  # refused: no trace
    assert count(CaseTag) == 1


# --- related cases ----------------------------------------------------------------------------


def test_related_cases_are_linked_on_both_chains_and_unlinked(app, make_case, staff):
    client, worker = staff("caseworker", ["general"])
    a, b = make_case().case, make_case().case
    response = client.post(f"/staff/cases/{b.id}/links", data={"reference": a.reference.lower(), "kind": "related"})
    assert response.status_code == 302
    link = db.session.scalar(select(CaseLink))
    assert (link.case_id, link.other_case_id, link.kind, link.created_by) == (a.id, b.id, "related", worker.id)
    for this, that in ((a, b), (b, a)):
        event = chain(this.id)[-1]
        assert (event.action, event.new_value, event.actor_id) == ("case_linked", str(that.id), worker.id)
    body = page(client.get(f"/staff/cases/{a.id}"))
    assert b.reference in body and "Related:" in body

    client.post(f"/staff/cases/{a.id}/links/{link.id}/remove")
    assert count(CaseLink) == 0
    assert actions(a.id)[-1] == "case_unlinked" and actions(b.id)[-1] == "case_unlinked"


def test_link_refusals_reveal_nothing_about_other_queues(app, make_case, staff):
    client, _ = staff("caseworker", ["general"])
    case, other = make_case().case, make_case().case
    hidden = make_case(category="women").case

    def refusal(reference: str, kind: str = "related", reason: str = "") -> str:
        response = client.post(
            f"/staff/cases/{case.id}/links",
            data={"reference": reference, "kind": kind, "reason": reason},
            follow_redirects=True,
        )
        assert response.status_code == 200
        return page(response)

    invisible = refusal(hidden.reference)
    ghost = refusal("SHG-2099-999999")
    assert NOT_FOUND in invisible and NOT_FOUND in ghost
    assert flashes(invisible) == flashes(ghost) == [f"Error: {NOT_FOUND}"]
    assert hidden.reference not in invisible.replace(f'value="{hidden.reference}"', "")
    assert NOT_FOUND in refusal("'; DROP TABLE cases; --")
    assert "A case cannot be linked to itself." in refusal(case.reference)
    body = refusal(other.reference, "duplicate_of")
    assert "A reason is required to close a case as a duplicate." in body
    assert f'value="{other.reference}"' in body  # what was typed comes back
    commands.link_cases(case.id, _, other.reference, "related")
    assert "These cases are already linked." in refusal(other.reference, "related")
    assert "These cases are already linked." in refusal(other.reference, "duplicate_of", "same events")
    assert "Choose how the cases are linked." in refusal(other.reference, "sibling")
    assert count(CaseLink) == 1
    db.session.expire_all()
    assert db.session.get(Case, case.id).is_open


def test_a_link_to_a_case_the_viewer_may_not_see_shows_no_reference(app, make_case, staff, make_user):
    client, _ = staff("caseworker", ["general"])
    case, hidden = make_case().case, make_case(category="women").case
    link = commands.link_cases(case.id, make_user("supervisor"), hidden.reference, "related")
    body = page(client.get(f"/staff/cases/{case.id}"))
    assert hidden.reference not in body and "a case in another queue" in body
    assert f"/links/{link.id}/remove" not in body
    assert client.post(f"/staff/cases/{case.id}/links/{link.id}/remove").status_code == 302
    assert count(CaseLink) == 1
    assert client.post(f"/staff/cases/{hidden.id}/links/{link.id}/remove").status_code == 404


# --- duplicates -------------------------------------------------------------------------------


def test_closing_a_duplicate(app, make_case, staff):
    client, worker = staff("caseworker", ["general"])
    kept, duplicate = make_case(), make_case()
    response = client.post(
        f"/staff/cases/{duplicate.case.id}/links",
        data={"reference": kept.case.reference, "kind": "duplicate_of", "reason": "Same arrest, same day"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    closed = db.session.get(Case, duplicate.case.id)
    assert (closed.status, closed.is_open, closed.finished_at is not None) == ("closed", False, True)
    link = db.session.scalar(select(CaseLink))
    assert (link.case_id, link.other_case_id, link.kind, link.reason) == (
        duplicate.case.id,
        kept.case.id,
        "duplicate_of",
        "Same arrest, same day",
    )
    status, marked = chain(duplicate.case.id)[-2:]
    assert (status.action, status.old_value, status.new_value, status.reason) == (
        "status",
        "new",
        "closed",
        "Same arrest, same day",
    )
    assert (marked.action, marked.new_value, marked.actor_id) == ("marked_duplicate", str(kept.case.id), worker.id)
    other_side = chain(kept.case.id)[-1]
    assert (other_side.action, other_side.new_value) == ("case_linked", str(duplicate.case.id))
    assert db.session.get(Case, kept.case.id).is_open
    body = page(client.get(f"/staff/cases/{duplicate.case.id}"))
    assert f"Closed as a duplicate of {kept.case.reference}." in body
    assert "A duplicate of this case:" in page(client.get(f"/staff/cases/{kept.case.id}"))
    # The duplicate's link cannot be removed: it is how the case was closed.
    response = client.post(f"/staff/cases/{kept.case.id}/links/{link.id}/remove", follow_redirects=True)
    assert "A duplicate's link is how it was closed; it cannot be removed." in page(response)
    assert count(CaseLink) == 1


def test_duplicate_refusals(app, make_case, make_user):
    worker = make_user("caseworker", ["general"])
    supervisor = make_user("supervisor")
    kept, first, second, third = (make_case().case for _ in range(4))
    commands.link_cases(first.id, worker, kept.reference, "duplicate_of", "same events")
    with pytest.raises(commands.CommandError, match="only an open case"):  # already closed
        commands.link_cases(first.id, worker, second.reference, "duplicate_of", "again")
    with pytest.raises(commands.CommandError, match="itself a duplicate"):
        commands.link_cases(second.id, worker, first.reference, "duplicate_of", "chain")
    with pytest.raises(commands.CommandError, match="Other reports were joined"):
        commands.link_cases(kept.id, worker, third.reference, "duplicate_of", "kept one")
    commands.change_status(third.id, supervisor, "rejected", "out of mandate")
    with pytest.raises(commands.CommandError, match="only an open case"):
        commands.link_cases(third.id, worker, kept.reference, "duplicate_of", "closed")
    assert count(CaseLink) == 1


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "Your report has been joined with another report about the same events"),
        ("ru", "Ваше сообщение объединено с другим сообщением о тех же событиях"),
        ("kk", "Сіздің хабарламаңыз сол оқиғалар туралы басқа хабарламамен біріктірілді"),
    ],
)
def test_the_duplicates_reporter_reads_a_neutral_message(app, make_case, make_user, lang, words):
    kept, duplicate = make_case(), make_case()
    commands.link_cases(duplicate.case.id, make_user("supervisor"), kept.case.reference, "duplicate_of", "Same events")
    client = app.test_client()
    client.set_cookie("lang", lang)
    body = page(client.post("/track", data={"receipt": duplicate.receipt}, follow_redirects=True))
    assert words in body
    assert kept.case.reference not in body and "Same events" not in body
    assert kept.case.narrative not in body or kept.case.narrative == duplicate.case.narrative
    # The kept case's reporter reads nothing about it.
    other = page(client.post("/track", data={"receipt": kept.receipt}, follow_redirects=True))
    assert words not in other and duplicate.case.reference not in other


# --- possible duplicates ----------------------------------------------------------------------

STORY = "Police officers detained my brother near the central market and beat him at the station."


def test_possible_duplicates_share_words_in_the_same_category_region_and_window(app, make_case, make_user, staff):
    client, worker = staff("caseworker", ["general"])
    supervisor = make_user("supervisor")
    case = make_case(narrative=STORY).case
    close = make_case(narrative="My brother was beaten at the police station after the market.").case
    far = make_case(narrative="Something at the market.").case
    unrelated = make_case(narrative="A pension was not paid for months.").case
    other_region = make_case(narrative=STORY, region="shymkent").case
    other_category = make_case(narrative=STORY, category="justice").case
    other_queue = make_case(narrative=STORY).case
    commands.move_queue(other_queue.id, supervisor, "women", "belongs there")
    old = make_case(narrative=STORY).case
    closed = make_case(narrative=STORY).case
    commands.change_status(closed.id, supervisor, "rejected", "no grounds")
    db.session.get(Case, old.id).created_at = case.created_at - timedelta(days=31)
    db.session.commit()

    found = related.duplicate_suggestions(db.session.get(Case, case.id), worker, 30)
    assert [s.case.id for s in found] == [close.id, far.id]
    assert found[0].shared > found[1].shared >= 1
    assert unrelated.id not in {s.case.id for s in found}
    # A supervisor sees every queue: the case moved to another queue is offered to them.
    by_supervisor = [s.case.id for s in related.duplicate_suggestions(db.session.get(Case, case.id), supervisor, 30)]
    assert other_queue.id in by_supervisor
    for excluded in (other_region, other_category, old, closed):
        assert excluded.id not in by_supervisor
    body = page(client.get(f"/staff/cases/{case.id}"))
    assert "Possible duplicates" in body and close.reference in body and other_queue.reference not in body
    # A linked case is no longer suggested.
    commands.link_cases(case.id, worker, close.reference, "related")
    assert close.id not in {s.case.id for s in related.duplicate_suggestions(db.session.get(Case, case.id), worker, 30)}


def test_the_window_is_a_setting(app, make_case, make_user):
    supervisor = make_user("supervisor")
    case = make_case(narrative=STORY).case
    earlier = make_case(narrative=STORY).case
    db.session.get(Case, earlier.id).created_at = case.created_at - timedelta(days=10)
    db.session.commit()
    assert [s.case.id for s in related.duplicate_suggestions(case, supervisor, 30)] == [earlier.id]
    assert related.duplicate_suggestions(case, supervisor, 5) == []
    assert app.config["DUPLICATE_WINDOW_DAYS"] == 30
