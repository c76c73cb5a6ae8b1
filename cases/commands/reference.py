"""Reference data administrators keep for statistics: treaty provisions and which categories'
reports count under each. Audited in the system chain; no case changes."""

from __future__ import annotations

import re

from sqlalchemy import delete, select

from cases.categories import CATEGORY_BY_SLUG
from cases.commands.unit import CommandError, NotFound, command, record
from cases.models import CategoryProvision, TreatyProvision, User
from cases.vocabulary import Action, ActorType
from i18n import N_
from storage import db

TREATIES = ("CAT", "ICCPR", "ICESCR", "CEDAW", "CRC", "CRPD", "CERD", "CMW")
ARTICLE = re.compile(r"\d{1,3}(-\d{1,3})?")


@command
def add_provision(treaty: str, article: str, title: str, by: User) -> TreatyProvision:
    """A new provision: a known treaty, an article number or range ("21-22"), a short title."""
    article, title = article.strip(), " ".join(title.split())
    if treaty not in TREATIES:
        raise CommandError(N_("Choose one of the treaties listed."))
    if not ARTICLE.fullmatch(article):
        raise CommandError(N_("Write the article as a number, or a range such as 21-22."))
    if not title or len(title) > 200:
        raise CommandError(N_("Give the provision a short title (at most 200 characters)."))
    if db.session.scalar(
        select(TreatyProvision.id).where(TreatyProvision.treaty == treaty, TreatyProvision.article == article)
    ):
        raise CommandError(N_("%(code)s is on the list already."), code=f"{treaty} art. {article}")
    provision = TreatyProvision(treaty=treaty, article=article, title=title)
    db.session.add(provision)
    record(None, ActorType.STAFF, Action.PROVISION_ADDED, by, new=provision.code, details={"title": title})
    return provision


@command
def map_provisions(category: str, provision_ids: list[int], by: User) -> list[str]:
    """The provisions a category's reports count under, replacing the previous ones. Returns codes."""
    if category not in CATEGORY_BY_SLUG:
        raise NotFound(N_("No such category."))
    chosen = list(db.session.scalars(select(TreatyProvision).where(TreatyProvision.id.in_(provision_ids))))
    if len(chosen) != len(set(provision_ids)):
        raise NotFound(N_("No such provision."))
    old = sorted(
        db.session.scalars(
            select(TreatyProvision.treaty + " art. " + TreatyProvision.article)
            .join(CategoryProvision, CategoryProvision.provision_id == TreatyProvision.id)
            .where(CategoryProvision.category == category)
        )
    )
    new = sorted(p.code for p in chosen)
    if old != new:
        db.session.execute(delete(CategoryProvision).where(CategoryProvision.category == category))
        db.session.add_all(CategoryProvision(category=category, provision_id=p.id) for p in chosen)
        record(None, ActorType.STAFF, Action.PROVISIONS_MAPPED, by, new=category, details={"old": old, "new": new})
    return new
