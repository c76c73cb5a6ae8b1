"""Evidence download for staff: always an attachment, never rendered inline."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, abort
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import undefer

from cases import access, audit
from cases.evidence import ALLOWED
from cases.models import Case, Evidence
from cases.services import _commit, utcnow
from cases.staff.views import CASE_ROLES, bp, roles
from extensions import db
from storage import writes_on_get


def content_disposition(filename: str, fallback: str) -> str:
    """RFC 6266 / RFC 5987: an ASCII fallback plus the UTF-8 name, both safely quoted."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@bp.get("/cases/<int:case_id>/evidence/<int:evidence_id>")
@roles(*CASE_ROLES)
@writes_on_get
def evidence_download(case_id: int, evidence_id: int):
    case = db.session.scalars(select(Case).where(Case.id == case_id).with_for_update(of=Case)).first()
    if case is None or not access.can_see(db.session, current_user, case):
        abort(404)
    item = db.session.scalar(
        select(Evidence)
        .options(undefer(Evidence.content))
        .where(Evidence.id == evidence_id, Evidence.case_id == case.id)
    )
    if item is None or item.content is None:
        abort(404)
    content, name = item.content, item.filename or "file"
    audit.append(
        db.session,
        case=case,
        actor_type="staff",
        actor_id=current_user.id,
        action="evidence_downloaded",
        new=item.id,
        at=utcnow(),
        details={"sha256": item.sha256},
    )
    _commit()
    ext = item.kind if item.kind in ALLOWED else "bin"
    response = Response(content, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = content_disposition(name, f"evidence-{item.id}.{ext}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
