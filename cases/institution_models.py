"""The register of institutions (places and bodies complained about) and their links to cases.

Kept apart from ``models.py`` (which passed its size); ``models.py`` re-exports these classes,
so the metadata and every import see one set of models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cases.vocabulary import InstitutionType, check_in
from storage import db
from storage.types import UTCDateTime, utcnow


class Institution(db.Model):
    """A place or body complained about: a police department, an IVS, a school… One name as the
    institution itself writes it, and optional translations. Never deleted while a case links to
    it (switched off instead); its names are public facts, stored as plain text."""

    __tablename__ = "institutions"
    __table_args__ = (
        CheckConstraint(check_in("kind", InstitutionType), name="kind_values"),
        # The admin list and the case page's chooser: by region and name.
        Index("ix_institutions_region", "region", "name"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_kk: Mapped[Optional[str]] = mapped_column(String(200))
    name_ru: Mapped[Optional[str]] = mapped_column(String(200))
    name_en: Mapped[Optional[str]] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def title(self, locale: str) -> str:
        """The name in ``locale`` when a translation is given, else the name as written."""
        return getattr(self, f"name_{locale}", None) or self.name

    def names(self) -> list[str]:
        """Every form of the name (for the suggestion terms)."""
        return [n for n in (self.name, self.name_kk, self.name_ru, self.name_en) if n]


class CaseInstitution(db.Model):
    """A case linked to an institution. The key serves "the institutions of this case"; the
    institution index serves "the cases of this institution" and the counts per institution."""

    __tablename__ = "case_institutions"
    __table_args__ = (Index("ix_case_institutions_institution", "institution_id", "case_id"),)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    added_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    institution: Mapped[Institution] = relationship(lazy="joined")


class InstitutionTerm(db.Model):
    """A keyed word stem of an institution's names, for suggestions from a case's place text.
    Keyed with the search key under a prefix of its own (``i:``), so these terms never equal a
    case's search terms (``cases/institutions.py`` explains why)."""

    __tablename__ = "institution_terms"
    __table_args__ = (Index("ix_institution_terms_institution", "institution_id"),)
    term: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True)
