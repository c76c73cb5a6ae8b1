"""Reference data (categories, queues, routing rules) and clearly fictional demo data."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from cases import commands
from cases.categories import CATEGORIES
from cases.models import Case, CategoryProvision, CategorySetting, Queue, RoutingRule, TreatyProvision, User
from cases.vocabulary import Priority, Role
from i18n import N_
from storage import db

# (slug, name, description shown to the reporter)
QUEUES = (
    ("urgent", N_("Urgent response team"), N_("Reports where someone is in immediate danger. We act within hours.")),
    (
        "torture-prevention",
        N_("Torture prevention unit"),
        N_("Torture and ill-treatment, especially of people in custody."),
    ),
    ("children", N_("Children's rights unit"), N_("Violations affecting children, including bullying online.")),
    ("trafficking", N_("Anti-trafficking unit"), N_("Human trafficking and forced labour.")),
    ("women", N_("Women's rights unit"), N_("Discrimination against women and gender-based violence.")),
    ("online", N_("Online harassment unit"), N_("Cyberbullying and harassment online.")),
    ("disability", N_("Disability rights unit"), N_("Rights of persons with disabilities.")),
    (
        "civic-freedoms",
        N_("Civic freedoms unit"),
        N_("Freedom of association, peaceful assembly, expression and the press."),
    ),
    ("policing", N_("Policing and right to life unit"), N_("Deaths and dangers caused by police or officials.")),
    (
        "justice",
        N_("Criminal justice and detention unit"),
        N_("Investigations, trials, detention and prison conditions."),
    ),
    ("general", N_("General intake"), N_("Every other human-rights concern.")),
)

CATEGORY_QUEUE = {
    "torture": ("torture-prevention", Priority.HIGH),
    "trafficking": ("trafficking", Priority.HIGH),
    "women": ("women", Priority.NORMAL),
    "cyberbullying": ("online", Priority.NORMAL),
    "disability": ("disability", Priority.NORMAL),
    "association": ("civic-freedoms", Priority.NORMAL),
    "expression": ("civic-freedoms", Priority.NORMAL),
    "life": ("policing", Priority.HIGH),
    "justice": ("justice", Priority.NORMAL),
    "other": ("general", Priority.NORMAL),
}

FIRST_RESPONSE_HOURS = {"torture": 24, "life": 24}
# Resolution targets in working days (the same starting point as migration 0015).
RESOLUTION_WORKING_DAYS = {"torture": 10, "life": 10}
DEFAULT_RESOLUTION_WORKING_DAYS = 15


@dataclass(frozen=True)
class RuleSeed:
    name: str
    queue: str
    priority: int
    category: str | None = None
    immediate_danger: bool | None = None
    child_affected: str | None = None
    in_custody: str | None = None


RULES: tuple[RuleSeed, ...] = (
    RuleSeed("Immediate danger → urgent response", "urgent", Priority.URGENT, immediate_danger=True),
    RuleSeed(
        "Torture of someone in custody → torture prevention",
        "torture-prevention",
        Priority.HIGH,
        category="torture",
        in_custody="yes",
    ),
    RuleSeed(
        "Cyberbullying of a child → children's rights",
        "children",
        Priority.HIGH,
        category="cyberbullying",
        child_affected="yes",
    ),
    RuleSeed(
        "Trafficking of a child → anti-trafficking (high)",
        "trafficking",
        Priority.HIGH,
        category="trafficking",
        child_affected="yes",
    ),
    *(RuleSeed(f"{slug} → {queue}", queue, prio, category=slug) for slug, (queue, prio) in CATEGORY_QUEUE.items()),
    RuleSeed("Catch-all → general intake", "general", Priority.NORMAL),
)


# A starting point for a person to review: which treaty articles each category's reports concern.
PROVISIONS = (
    ("CAT", "2", "Prevention of torture"),
    ("CAT", "16", "Other cruel, inhuman or degrading treatment"),
    ("ICCPR", "6", "Right to life"),
    ("ICCPR", "7", "Freedom from torture and ill-treatment"),
    ("ICCPR", "8", "Freedom from slavery and forced labour"),
    ("ICCPR", "9", "Liberty and security of person"),
    ("ICCPR", "10", "Humane treatment in detention"),
    ("ICCPR", "14", "Fair trial"),
    ("ICCPR", "19", "Freedom of expression"),
    ("ICCPR", "21-22", "Peaceful assembly and association"),
    ("CEDAW", "2", "Elimination of discrimination against women"),
    ("CEDAW", "6", "Trafficking and exploitation of women"),
    ("CRC", "16", "Child's privacy, honour and reputation"),
    ("CRC", "19", "Protection of children from violence"),
    ("CRC", "35", "Prevention of trafficking of children"),
    ("CRPD", "5", "Equality and non-discrimination of persons with disabilities"),
)
CATEGORY_PROVISIONS = {
    "torture": (("CAT", "2"), ("CAT", "16"), ("ICCPR", "7")),
    "trafficking": (("ICCPR", "8"), ("CEDAW", "6"), ("CRC", "35")),
    "women": (("CEDAW", "2"),),
    "cyberbullying": (("CRC", "16"), ("CRC", "19")),
    "disability": (("CRPD", "5"),),
    "association": (("ICCPR", "21-22"),),
    "expression": (("ICCPR", "19"),),
    "life": (("ICCPR", "6"),),
    "justice": (("ICCPR", "9"), ("ICCPR", "10"), ("ICCPR", "14")),
}


def seed_reference_data() -> list[str]:
    """Insert what is missing; never changes what an administrator edited. Returns what was added."""
    added: list[str] = []
    for position, c in enumerate(CATEGORIES):
        if db.session.get(CategorySetting, c.slug) is None:
            db.session.add(
                CategorySetting(
                    slug=c.slug,
                    position=position,
                    first_response_hours=FIRST_RESPONSE_HOURS.get(c.slug),
                    first_response_working_days=3,
                    resolution_working_days=RESOLUTION_WORKING_DAYS.get(c.slug, DEFAULT_RESOLUTION_WORKING_DAYS),
                )
            )
            added.append(f"category {c.slug}")
    for slug, name, description in QUEUES:
        if db.session.scalar(select(Queue.id).where(Queue.slug == slug)) is None:
            db.session.add(Queue(slug=slug, name=name, description=description))
            added.append(f"queue {slug}")
    db.session.flush()
    if db.session.scalar(select(func.count(RoutingRule.id))) == 0:
        queues = {q.slug: q.id for q in db.session.scalars(select(Queue))}
        for i, r in enumerate(RULES, start=1):
            db.session.add(
                RoutingRule(
                    position=i * 10,
                    name=r.name,
                    category=r.category,
                    immediate_danger=r.immediate_danger,
                    child_affected=r.child_affected,
                    in_custody=r.in_custody,
                    region=None,
                    queue_id=queues[r.queue],
                    priority=r.priority,
                    active=True,
                )
            )
        added.append(f"{len(RULES)} routing rules")
    if db.session.scalar(select(func.count(TreatyProvision.id))) == 0:
        provisions = {(t, a): TreatyProvision(treaty=t, article=a, title=title) for t, a, title in PROVISIONS}
        db.session.add_all(provisions.values())
        db.session.flush()
        for category, keys in CATEGORY_PROVISIONS.items():
            for key in keys:
                db.session.add(CategoryProvision(category=category, provision_id=provisions[key].id))
        added.append(f"{len(PROVISIONS)} treaty provisions")
    db.session.commit()
    return added


class NotFreshDatabase(Exception):
    pass


DEMO_MARK = "[DEMO — fictional] "
DEMO_STORIES = {
    "torture": "My brother was held at a district police station for two days and came back with bruises on his back.",
    "trafficking": "A recruiter took the passports of six workers at a construction site and does not pay them.",
    "women": "My neighbour is beaten by her husband; the local police officer refused to register her complaint.",
    "cyberbullying": "Classmates post edited photos of my 13-year-old daughter in a group chat and threaten her.",
    "disability": "The school refused to admit my son because he uses a wheelchair and there is no ramp.",
    "association": "Our registered trade union was told by the employer that members will be dismissed.",
    "expression": "A local blogger was fined after posting a video about the condition of the city hospital.",
    "life": "During a traffic stop an officer fired at a car; a passenger was wounded and got no first aid.",
    "justice": "In the pre-trial detention centre twelve people share a cell for four and there is no doctor.",
    "other": "The village council refuses to issue documents to a family because they belong to a minority.",
}


# (name, language, text): the demo office's reply templates, one of each kind in each language.
DEMO_TEMPLATES = (
    (
        "Acknowledgement",
        "en",
        "Thank you for your report. It has been registered as {reference} and is now with our team. "
        "My name is {case_worker}, and I am handling it. We will give you a first answer by {due_date}. "
        "If anyone is in immediate danger, call 112 now.",
    ),
    (
        "Request for more information",
        "en",
        "To look into report {reference} we need a little more information. Could you tell us where and when "
        "this happened, and whether anyone else saw it? Answer here, with your receipt code, whenever it is "
        "safe for you. — {case_worker}",
    ),
    (
        "Referral notice",
        "en",
        "Report {reference} concerns matters handled by another body, so with your consent we are passing it "
        "to them, together with what you told us. We will tell you here who is dealing with it. — {case_worker}",
    ),
    (
        "Подтверждение получения",
        "ru",
        "Спасибо за ваше обращение. Оно зарегистрировано под номером {reference} и передано нашей команде. "
        "Меня зовут {case_worker}, я занимаюсь вашим делом. Первый ответ мы дадим до {due_date}. "
        "Если кому-то угрожает непосредственная опасность, звоните 112.",
    ),
    (
        "Запрос дополнительных сведений",
        "ru",
        "Чтобы разобраться в обращении {reference}, нам нужно немного больше сведений. Расскажите, пожалуйста, "
        "где и когда это произошло и видел ли это кто-то ещё. Ответьте здесь, с вашим кодом квитанции, "
        "когда это будет для вас безопасно. — {case_worker}",
    ),
    (
        "Уведомление о передаче",
        "ru",
        "Обращение {reference} касается вопросов, которыми занимается другой орган, поэтому с вашего согласия "
        "мы передаём его туда вместе с тем, что вы нам рассказали. Здесь мы сообщим, кто им занимается. "
        "— {case_worker}",
    ),
    (
        "Өтініштің қабылданғаны туралы",
        "kk",
        "Өтінішіңіз үшін рахмет. Ол {reference} нөмірімен тіркеліп, біздің топқа берілді. Менің атым "
        "{case_worker}, ісіңізбен мен айналысамын. Алғашқы жауапты {due_date} дейін береміз. "
        "Біреудің өміріне тікелей қауіп төнсе, қазір 112-ге қоңырау шалыңыз.",
    ),
    (
        "Қосымша мәлімет сұрау",
        "kk",
        "{reference} өтінішін қарау үшін бізге тағы біраз мәлімет қажет. Бұл қайда және қашан болғанын, "
        "оны басқа біреу көрді ме, соны айтып беріңізші. Өзіңізге қауіпсіз кезде осы жерде түбіртек "
        "кодыңызбен жауап беріңіз. — {case_worker}",
    ),
    (
        "Басқа органға жіберу туралы хабарлама",
        "kk",
        "{reference} өтініші басқа органның құзыретіндегі мәселеге қатысты, сондықтан сіздің келісіміңізбен "
        "оны сіз айтқан мәліметтермен бірге сол органға жібереміз. Онымен кім айналысатынын осы жерде "
        "хабарлаймыз. — {case_worker}",
    ),
)


# (name as written, translations, type, region): a clearly fictional register of institutions.
DEMO_INSTITUTIONS = (
    (
        "[ДЕМО] ИВС районного отдела полиции №0",
        {"en": "[DEMO] Temporary holding facility of district police No. 0"},
        "ivs",
        "karaganda",
    ),
    (
        "[ДЕМО] Отдел полиции Вымышленного района",
        {"kk": "[ДЕМО] Ойдан шығарылған аудан полиция бөлімі", "en": "[DEMO] Police department, Fictional district"},
        "police",
        "karaganda",
    ),
    ("[ДЕМО] СИЗО №0", {"en": "[DEMO] Pre-trial detention centre No. 0"}, "sizo", "pavlodar"),
    ("[ДЕМО] Исправительная колония ЕЦ-000/0", {"en": "[DEMO] Correctional colony EC-000/0"}, "colony", "karaganda"),
    (
        "[ДЕМО] «Мысал» мектеп-гимназиясы",
        {"ru": "[ДЕМО] Школа-гимназия «Пример»", "en": "[DEMO] School-gymnasium “Example”"},
        "school",
        "shymkent",
    ),
    (
        "[ДЕМО] №0 балалар үйі",
        {"ru": "[ДЕМО] Детский дом №0", "en": "[DEMO] Children's home No. 0"},
        "childrens_home",
        "turkistan",
    ),
    (
        "[ДЕМО] «Мысал» психиатриялық ауруханасы",
        {"ru": "[ДЕМО] Психиатрическая больница «Пример»", "en": "[DEMO] Psychiatric hospital “Example”"},
        "psychiatric",
        "almaty",
    ),
    (
        "[ДЕМО] «Мысал» медициналық-әлеуметтік мекемесі",
        {"ru": "[ДЕМО] Медико-социальное учреждение «Пример»", "en": "[DEMO] Social-care home “Example”"},
        "social_care",
        "east-kazakhstan",
    ),
)
# Which demo institutions the demo cases of a category are linked to (by position above).
DEMO_LINKS = {"torture": (0, 1), "justice": (2,), "disability": (4,)}
# Demo partner bodies: invented names and addresses, marked fictional in every language.
DEMO_PARTNERS = (
    (
        {
            "kk": "Демо прокуратура (ойдан шығарылған)",
            "ru": "Демо-прокуратура (вымышленная)",
            "en": "Demo Prosecutor's Office (fictional)",
        },
        "state_body",
        None,
        "Demo street 1, Astana (fictional) · demo-prosecutor@demo.shagym.test",
        ["torture", "life", "justice"],
        10,
    ),
    (
        {
            "kk": "Демо ұлттық алдын алу тетігі (ойдан шығарылған)",
            "ru": "Демо-НПМ (вымышленный)",
            "en": "Demo National Preventive Mechanism (fictional)",
        },
        "npm",
        None,
        "Demo avenue 2, Astana (fictional) · demo-npm@demo.shagym.test",
        ["torture", "justice", "disability"],
        15,
    ),
    (
        {
            "kk": "Демо бала құқықтары жөніндегі уәкіл (ойдан шығарылған)",
            "ru": "Демо-уполномоченный по правам ребёнка (вымышленный)",
            "en": "Demo Commissioner for Children's Rights (fictional)",
        },
        "commissioner",
        None,
        "Demo square 3, Astana (fictional) · demo-children@demo.shagym.test",
        ["cyberbullying", "women", "disability"],
        15,
    ),
    (
        {
            "kk": "Демо дағдарыс орталығы (ойдан шығарылған)",
            "ru": "Демо кризисный центр (вымышленный)",
            "en": "Demo Crisis Centre for Women (fictional)",
        },
        "ngo",
        "almaty-city",
        "Demo lane 4, Almaty (fictional) · demo-crisis@demo.shagym.test",
        ["women", "trafficking"],
        5,
    ),
)


def demo_accounts() -> list[tuple[str, str, str, list[str]]]:
    """The demo logins: (email, name, role, queue slugs); the README's table is generated from this."""
    accounts = [
        ("supervisor@demo.shagym.test", "Demo Supervisor", Role.SUPERVISOR, []),
        ("admin@demo.shagym.test", "Demo Admin", Role.ADMIN, []),
    ]
    for slug, _name, _desc in QUEUES:
        accounts.append((f"{slug}@demo.shagym.test", f"Demo caseworker ({slug})", Role.CASEWORKER, [slug]))
    return accounts


def seed_demo(rng: random.Random | None = None) -> dict[str, str]:
    """Demo accounts (printed passwords), reply templates, fictional partner bodies, a fictional
    register of institutions and sample cases (in each language, some linked to those institutions),
    only in a database with no users or cases."""
    if db.session.scalar(select(func.count(User.id))) or db.session.scalar(select(func.count(Case.id))):
        raise NotFreshDatabase("seed-demo only runs on a database it has just created (this one has data).")
    rng = rng or random.Random(2021)  # noqa: S311 - picks demo regions, not secrets  # nosec B311
    logins: dict[str, str] = {}

    def make(email: str, name: str, role: str, queues: list[str]) -> None:
        password = "demo-" + secrets.token_urlsafe(12)
        commands.create_user(email, name, role, password, queues)
        logins[email] = password

    for email, name, role, queues in demo_accounts():
        make(email, name, role, queues)
    supervisor = db.session.scalar(select(User).where(User.role == Role.SUPERVISOR))
    for name, language, body in DEMO_TEMPLATES:
        commands.create_template(name, language, body, supervisor)
    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN))
    register = [commands.create_institution(*row, by=admin) for row in DEMO_INSTITUTIONS]
    for names, kind, region, contact, categories, days in DEMO_PARTNERS:
        commands.create_partner(commands.PartnerValues(names, kind, region, contact, categories, days), by=admin)
    key = current_app.extensions["shagym_receipt_key"]
    regions = ["astana", "almaty-city", "karaganda", "shymkent", "pavlodar", "turkistan"]
    for slug, story in DEMO_STORIES.items():
        for n in range(2):
            filed = commands.file_report(
                commands.NewReport(
                    category=slug,
                    narrative=DEMO_MARK + story,
                    occurred_on=None,
                    ongoing=n == 0,
                    region=rng.choice(regions),
                    place_description="",
                    immediate_danger=(slug == "life" and n == 0),
                    child_affected="yes" if slug == "cyberbullying" else "no",
                    in_custody="yes" if slug in ("torture", "justice") else "no",
                    reporter_role="witness",
                    contact_email="",
                    contact_phone="",
                    language=("kk", "ru", "en")[(len(slug) + n) % 3],
                ),
                key,
            )
            for position in DEMO_LINKS.get(slug, ()):
                commands.link_institution(filed.case.id, supervisor, register[position].id)
    return logins
