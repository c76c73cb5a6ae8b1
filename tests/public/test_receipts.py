"""Receipt codes: at least 80 random bits, easy to read aloud, stored only as a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import math
import re

import pytest
from sqlalchemy import inspect, text

from cases import queries, receipts
from storage import db

CODE_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){4}")
KEY = b"k" * 32


def test_code_has_at_least_80_bits_in_readable_groups():
    assert math.log2(len(receipts.ALPHABET)) * receipts.LENGTH >= 80
    assert len(set(receipts.ALPHABET)) == 32 and not set("ILOU") & set(receipts.ALPHABET)
    codes = [receipts.new_code() for _ in range(2000)]
    assert all(CODE_RE.fullmatch(c) for c in codes)
    assert len(set(codes)) == len(codes)
    # Every symbol turns up: the code is drawn from the whole alphabet, not a part of it.
    assert set("".join(codes).replace("-", "")) == set(receipts.ALPHABET)


FIXED = "0123-4567-89AB-CDEF-GH1J"


@pytest.mark.parametrize(
    "typed",
    [
        FIXED,
        FIXED.lower(),
        FIXED.replace("-", ""),
        FIXED.replace("-", " "),
        f"\t{FIXED}\n",
        "O123-4567-89AB-CDEF-GH1J",
        "oI23-4567-89ab-cdef-ghLj",
        "0l23 4567 89AB CDEF GHIJ",
    ],
)
def test_normalize_forgives_case_spaces_dashes_and_lookalikes(typed):
    assert receipts.normalize(typed) == FIXED.replace("-", "")


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "0123-4567-89AB-CDEF-GH1",
        "0123-4567-89AB-CDEF-GH1JK",
        "U123-4567-89AB-CDEF-GH1J",
        "0123-4567-89AB-CDEF-GH1!",
        "Ф123-4567-89AB-CDEF-GH1J",
        "0" * 101,
        "0123-4567-89AB-CDEF-GH1J" + " " * 90,
    ],
)
def test_normalize_refuses_what_cannot_be_a_code(typed):
    assert receipts.normalize(typed) is None


def test_digest_is_keyed():
    normalized = receipts.normalize(FIXED)
    assert receipts.digest(KEY, normalized) == hmac.new(KEY, normalized.encode(), hashlib.sha256).digest()
    assert receipts.digest(KEY, normalized) != receipts.digest(b"other key", normalized)
    assert receipts.digest(KEY, normalized) != hashlib.sha256(normalized.encode()).digest()
    assert len(receipts.digest(KEY, normalized)) == 32


def test_speakable_spells_each_symbol():
    assert receipts.speakable(FIXED) == "0 1 2 3 · 4 5 6 7 · 8 9 A B · C D E F · G H 1 J"


@pytest.fixture
def fixed_code(monkeypatch):
    monkeypatch.setattr(receipts, "new_code", lambda: FIXED)


def test_case_stores_only_the_keyed_hash_and_is_found_by_any_spelling(app, make_case, fixed_code):
    key = app.extensions["shagym_receipt_key"]
    filed = make_case()
    assert filed.receipt == FIXED
    db.session.expire_all()
    assert filed.case.receipt_hash == receipts.digest(key, FIXED.replace("-", ""))
    for typed in (FIXED, "oi23 4567 89ab cdef gh1j", "OL2345 6789ABCDEFGHIJ"):
        assert queries.find_by_receipt(key, typed).id == filed.case.id


@pytest.mark.parametrize("typed", ["", "not a code", "0123-4567-89AB-CDEF-GH1K", "0" * 20, "x" * 1000])
def test_wrong_or_malformed_receipt_finds_nothing(app, make_case, fixed_code, typed):
    make_case()
    assert queries.find_by_receipt(app.extensions["shagym_receipt_key"], typed) is None


def test_receipt_of_another_key_finds_nothing(app, make_case, fixed_code):
    make_case()
    assert queries.find_by_receipt(b"another installation's key", FIXED) is None


def test_receipt_lookup_uses_a_unique_index_not_a_scan(app, make_case):
    columns = [tuple(u["column_names"]) for u in inspect(db.engine).get_unique_constraints("cases")]
    columns += [tuple(i["column_names"]) for i in inspect(db.engine).get_indexes("cases") if i["unique"]]
    assert ("receipt_hash",) in columns
    if db.engine.dialect.name == "sqlite":
        for _ in range(3):
            make_case()
        plan = " ".join(
            str(row[-1])
            for row in db.session.execute(
                text("EXPLAIN QUERY PLAN SELECT id FROM cases WHERE receipt_hash = :h"), {"h": b"x" * 32}
            )
        )
        assert "USING" in plan and "INDEX" in plan and "SCAN" not in plan, plan
