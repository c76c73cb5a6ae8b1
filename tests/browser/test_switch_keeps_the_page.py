"""What a reporter sees when switching language mid-way, in a real browser, with and without
JavaScript: the receipt shown once stays, typed answers stay; and the contact fields appear
only when contact is chosen."""

from __future__ import annotations

import pytest

from tests.browser.pages import VALID_NARRATIVE, fill_valid_report, submit_report


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_switching_language_in_the_form_and_on_the_receipt_keeps_everything(open_tab, js):
    tab = open_tab("kk", js=js)
    page = tab.page
    page.goto("/report")
    fill_valid_report(page)
    page.locator(".lang-switch button[value=ru]").click()
    page.wait_for_selector("html[lang=ru]")
    assert page.input_value("#narrative") == VALID_NARRATIVE
    assert page.is_checked("input[name=category][value=other]")
    assert page.input_value("#region") == "astana"
    page.locator(".lang-switch button[value=en]").click()
    page.wait_for_selector("html[lang=en]")
    if not page.is_checked("#consent"):  # the box is sent back as ticked; a browser may not keep it
        page.check("#consent")
    submit_report(page)
    page.locator("#receipt-code").wait_for()
    code = page.inner_text("#receipt-code code").strip()
    reference = page.inner_text(".panel .reference").strip()
    page.locator(".lang-switch button[value=kk]").click()
    page.wait_for_selector("html[lang=kk]")
    assert page.inner_text("#receipt-code code").strip() == code
    assert page.inner_text(".panel .reference").strip() == reference
    assert "Өтінішіңіз қабылданды" in page.inner_text("h1")
    assert tab.problems == [] and tab.foreign == []


def test_contact_fields_show_only_when_contact_is_chosen(open_tab):
    tab = open_tab("en")
    page = tab.page
    page.goto("/report")
    assert page.is_checked("input[name=contact][value=anonymous]")
    assert not page.is_visible("#email") and not page.is_visible("#phone")
    page.check("input[name=contact][value=contact]")
    page.locator("#email").wait_for(state="visible")
    page.fill("#email", "me@example.org")
    page.check("input[name=contact][value=anonymous]")
    page.locator("#email").wait_for(state="hidden")
    fill_valid_report(page)
    submit_report(page)
    page.locator("#receipt-code").wait_for()  # the hidden details were not sent: no question, a receipt
    assert tab.problems == [] and tab.foreign == []
