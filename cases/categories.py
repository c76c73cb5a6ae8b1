"""The fixed vocabularies of a report: categories, regions and answers.

Strings are marked with ``N_`` so Babel extracts them; they are translated
where they are shown (``_(label)`` in templates), which keeps this module free
of Flask.
"""

from __future__ import annotations

from dataclasses import dataclass

from cases.vocabulary import Answer
from i18n import N_


@dataclass(frozen=True)
class Category:
    slug: str
    name: str
    explanation: str


# From the areas of Kazakhstan's 2021 decree on priority human-rights measures.
CATEGORIES: tuple[Category, ...] = (
    Category(
        "torture",
        N_("Torture and ill-treatment"),
        N_("Someone was beaten, threatened, humiliated or hurt by police, guards or other officials."),
    ),
    Category(
        "trafficking",
        N_("Human trafficking and forced labour"),
        N_("Someone is made to work or provide sex against their will, or their documents are taken away."),
    ),
    Category(
        "women",
        N_("Discrimination against women and gender-based violence"),
        N_("A woman or girl is treated unfairly, threatened or hurt because of her gender, including at home."),
    ),
    Category(
        "cyberbullying",
        N_("Cyberbullying and online harassment"),
        N_("Someone is bullied, threatened or shamed online, in messengers or on social media."),
    ),
    Category(
        "disability",
        N_("Rights of persons with disabilities"),
        N_("A person with a disability is refused help, access, education, work or care they have a right to."),
    ),
    Category(
        "association",
        N_("Freedom of association and peaceful assembly"),
        N_("People are stopped from forming a group, joining a union or gathering peacefully."),
    ),
    Category(
        "expression",
        N_("Freedom of expression and of the press"),
        N_("Someone is punished or pressured for what they said, wrote or published."),
    ),
    Category(
        "life",
        N_("Right to life, policing and public order"),
        N_("Someone died or was put in danger because of the actions of police or other officials."),
    ),
    Category(
        "justice",
        N_("Criminal justice, detention and prison conditions"),
        N_("An unfair investigation or trial, or bad conditions in a detention centre or prison."),
    ),
    Category(
        "other", N_("Another human-rights concern"), N_("Something else that you think violates someone's rights.")
    ),
)
CATEGORY_BY_SLUG = {c.slug: c for c in CATEGORIES}

REGIONS: tuple[tuple[str, str], ...] = (
    ("astana", N_("Astana (city)")),
    ("almaty-city", N_("Almaty (city)")),
    ("shymkent", N_("Shymkent (city)")),
    ("abai", N_("Abai Region")),
    ("akmola", N_("Akmola Region")),
    ("aktobe", N_("Aktobe Region")),
    ("almaty", N_("Almaty Region")),
    ("atyrau", N_("Atyrau Region")),
    ("east-kazakhstan", N_("East Kazakhstan Region")),
    ("jambyl", N_("Jambyl Region")),
    ("jetisu", N_("Jetisu Region")),
    ("karaganda", N_("Karaganda Region")),
    ("kostanay", N_("Kostanay Region")),
    ("kyzylorda", N_("Kyzylorda Region")),
    ("mangystau", N_("Mangystau Region")),
    ("north-kazakhstan", N_("North Kazakhstan Region")),
    ("pavlodar", N_("Pavlodar Region")),
    ("turkistan", N_("Turkistan Region")),
    ("ulytau", N_("Ulytau Region")),
    ("west-kazakhstan", N_("West Kazakhstan Region")),
    ("none", N_("Outside Kazakhstan / prefer not to say")),
)
REGION_LABELS = dict(REGIONS)

YES_NO = ((Answer.YES.value, N_("Yes")), (Answer.NO.value, N_("No")))
YES_NO_UNKNOWN = (*YES_NO, (Answer.UNKNOWN.value, N_("I don't know")))
REPORTER_ROLES = (
    ("affected", N_("I am the affected person")),
    ("relative", N_("A relative or friend")),
    ("witness", N_("A witness")),
    ("lawyer", N_("A lawyer or representative")),
    ("organisation", N_("An organisation")),
)
REPORTER_ROLE_LABELS = dict(REPORTER_ROLES)
ANSWER_LABELS = dict(YES_NO_UNKNOWN)
