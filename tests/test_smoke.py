from sqlalchemy import select

from cases.models import Case, Event


def test_report_roundtrip(client, app):
    data = {"category": "torture", "narrative": "They beat him in the police station for two days.",
            "region": "karaganda", "immediate_danger": "no", "child_affected": "no", "in_custody": "yes",
            "reporter_role": "relative", "contact": "anonymous", "consent": "y", "submission_token": "t1"}
    r = client.post("/report", data=data)
    assert r.status_code == 200, r.data.decode()[:3000]
    assert "SHG-" in r.get_data(as_text=True)
    case = app.extensions  # noqa
    from extensions import db
    c = db.session.scalar(select(Case))
    assert c.queue.slug == "torture-prevention"
    assert [e.action for e in db.session.scalars(select(Event).order_by(Event.id))] == ["created", "routed"]
