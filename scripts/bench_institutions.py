"""Benchmark: the register of institutions at scale — the supervisors' ranking (first and a later
keyset page), an institution's page, and a case page with suggestions from its place text.

``.venv/bin/python scripts/bench_institutions.py --cases 100000 --institutions 2000``. Figures go in
the README; measurements, never pass/fail tests. Supervisors log in with a second factor, so the
pages are timed as the functions behind them (the same queries), each the median of 20 runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from cases import commands, institutions, seed  # noqa: E402
from cases.models import Case, CaseInstitution, Institution  # noqa: E402
from cases.vocabulary import InstitutionType  # noqa: E402
from storage import db  # noqa: E402
from wsgi import create_app  # noqa: E402

WORDS = ("полиции", "отдел", "района", "изолятор", "колония", "школа", "детский", "дом", "больница", "центр")


def median_ms(call, repeat: int = 20) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def run(cases: int, count: int, links_per_case: float) -> None:
    instance = Path(tempfile.mkdtemp(prefix="shagym-bench-"))
    os.environ["SHAGYM_INSTANCE"] = str(instance)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'bench.sqlite3'}"})
    with app.app_context():
        upgrade()
        seed.seed_reference_data()
        bench.seed_cases(cases)
        commands.create_user("admin@example.org", "Admin", "admin", "quiet river lantern 42", [])
        kinds = list(InstitutionType)
        regions = ["astana", "almaty-city", "shymkent", "karaganda", "aktobe", "turkistan"]
        t0 = time.perf_counter()
        # Most rows inserted directly (through the command, each is an audited, durable commit);
        # their name terms are then made by the same command that rekeys them.
        db.session.execute(
            insert(Institution),
            [
                {
                    "name": f"Учреждение {i} {WORDS[i % len(WORDS)]} {WORDS[(i * 7) % len(WORDS)]}",
                    "kind": kinds[i % len(kinds)].value,
                    "region": regions[i % len(regions)],
                    "active": True,
                }
                for i in range(count)
            ],
        )
        db.session.commit()
        commands.reindex_institutions()
        made = time.perf_counter() - t0
        ids = list(db.session.scalars(select(Institution.id)))
        case_ids = list(db.session.scalars(select(Case.id)))
        rows = []
        for n, case_id in enumerate(case_ids[: int(len(case_ids) * links_per_case)]):
            # A skewed spread: a few institutions come up again and again (the pattern to see).
            rows.append({"case_id": case_id, "institution_id": ids[(n * n) % len(ids)] if n % 3 else ids[n % 10]})
        db.session.execute(insert(CaseInstitution), rows)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        supervisor = commands.create_user("boss@example.org", "Boss", "supervisor", "quiet river lantern 42", [])
        worker = commands.create_user("w@example.org", "Worker", "caseworker", "quiet river lantern 42", ["general"])
        tz = ZoneInfo("Asia/Almaty")
        today = datetime.now(tz).date()
        f = institutions.Filter(today - timedelta(days=364), today)
        first, after = institutions.ranking(f, tz)
        for _ in range(4):
            _rows, after = institutions.ranking(f, tz, after)
        busiest = first[0].institution.id
        key = app.extensions["shagym_search_keys"].current()[1]
        case = db.session.get(Case, case_ids[0])
        case.place_description = "Отдел полиции района, изолятор"
        print(f"{cases} cases, {count} institutions (names indexed in {made:.1f} s), {len(rows)} links")
        print(f"  ranking, first page:        {median_ms(lambda: institutions.ranking(f, tz)):.1f} ms")
        print(f"  ranking, sixth page:        {median_ms(lambda: institutions.ranking(f, tz, after)):.1f} ms")
        cat = institutions.Filter(today - timedelta(days=364), today, category="other", kind="police")
        print(f"  ranking, filtered:          {median_ms(lambda: institutions.ranking(cat, tz)):.1f} ms")
        print(
            f"  busiest institution's page: {median_ms(lambda: institutions.cases_of(busiest, supervisor, None)):.1f} ms cases, "
            f"{median_ms(lambda: institutions.counts_of(busiest, worker, 5)):.1f} ms counts"
        )
        print(f"  case panel (suggestions):   {median_ms(lambda: institutions.case_panel(case, key)):.1f} ms")
        db.session.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--institutions", type=int, default=2000)
    parser.add_argument("--links", type=float, default=0.5, help="share of cases linked to an institution")
    args = parser.parse_args()
    run(args.cases, args.institutions, args.links)


if __name__ == "__main__":
    main()
