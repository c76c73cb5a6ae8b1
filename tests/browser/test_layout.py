"""Layout in a real browser: reflow at 320 px and at 200 % zoom (WCAG 1.4.10, 1.4.4), text
spacing (1.4.12), a visible focus on every stop of the keyboard (2.4.7), a working skip link
(2.4.1), and screenshots of the main pages at 375 px and 1280 px in test-artifacts/screenshots/
for a person to look at.
"""

from __future__ import annotations

import pytest

from tests.browser.pages import ALL, PUBLIC
from tests.browser.support import SCREENSHOTS

# Elements that stick out of the viewport (and so are cut off or need sideways scrolling),
# apart from those inside a box that scrolls sideways by design (wide data tables, code)
# and the visually hidden texts for screen readers.
OVERFLOW = r"""() => {
  const root = document.documentElement, width = root.clientWidth, found = [];
  if (root.scrollWidth > width) found.push('page scrolls sideways: ' + root.scrollWidth + ' > ' + width);
  const scrolls = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (/(auto|scroll)/.test(getComputedStyle(p).overflowX)) return true; } return false; };
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.visually-hidden, .skip-link, script, style, template')) continue;
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    if ((r.width === 0 && r.height === 0) || s.visibility === 'hidden' || scrolls(el)) continue;
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && el.className.baseVal === undefined
                 ? '.' + el.className.trim().split(/\s+/).join('.') : '');
    if (r.right > width + 1 || r.left < -1) found.push(name + ' spans ' + Math.round(r.left) + '..' + Math.round(r.right));
    else if (/hidden|clip/.test(s.overflowX) && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0)
      found.push(name + ' clips its content: ' + el.scrollWidth + ' > ' + el.clientWidth);
    else if (/hidden|clip/.test(s.overflowY) && el.scrollHeight > el.clientHeight + 1 && el.clientHeight > 0)
      found.push(name + ' clips its content: height ' + el.scrollHeight + ' > ' + el.clientHeight);
  }
  return found.slice(0, 15);
}"""

FOCUS = r"""() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const s = getComputedStyle(el), r = el.getBoundingClientRect();
  const seen = c => c && c !== 'transparent' && !/rgba\([^)]*,\s*0\)$/.test(c);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 && seen(s.outlineColor);
  const shadow = s.boxShadow !== 'none' && s.boxShadow !== '';
  const onScreen = r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth && r.width > 0;
  // The focused text stays readable: its colour against the first opaque background behind it.
  const rgba = c => { const v = (c.match(/[\d.]+/g) || []).map(Number); return v.length === 3 ? [...v, 1] : v; };
  const lum = ([r, g, b]) => [r, g, b].map(v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
                                      .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let back = [255, 255, 255, 1];
  for (let p = el; p; p = p.parentElement) { const c = rgba(getComputedStyle(p).backgroundColor); if (c[3] === 1) { back = c; break; } }
  const hasText = /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName) ? !/radio|checkbox|file/.test(el.type) : el.innerText.trim() !== '';
  const [l1, l2] = [lum(rgba(s.color)), lum(back)].sort((a, b) => b - a);
  const contrast = hasText ? (l1 + 0.05) / (l2 + 0.05) : 21;
  return {what: el.outerHTML.slice(0, 120), key: el.outerHTML + '@' + Math.round(r.top + scrollY) + ',' + Math.round(r.left),
          visible: (outline || shadow) && onScreen && contrast >= 4.5, contrast: Math.round(contrast * 10) / 10,
          outline: s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor, shadow: s.boxShadow, onScreen};
}"""

# WCAG 1.4.12: a reader's own style sheet may set these; nothing may be lost. Added through the
# CSSOM, which the CSP allows (it refuses inline <style>).
TEXT_SPACING = """() => {
  const sheet = document.styleSheets[0];
  sheet.insertRule('* { line-height: 1.5 !important; letter-spacing: .12em !important; word-spacing: .16em !important; }',
                   sheet.cssRules.length);
  sheet.insertRule('p { margin-bottom: 2em !important; }', sheet.cssRules.length);
}"""

VIEWS = {
    "320px": {"width": 320, "height": 640},
    "200%-zoom": {"width": 640, "height": 450, "scale": 2},  # a 1280 x 900 window at 200 %
    "text-spacing": {"width": 375, "height": 800},
}


SPACING_PAGES = {s.name for s in PUBLIC} | {"staff-login", "staff-case-supervisor", "staff-accounts"}


@pytest.mark.parametrize(
    ("name", "view"),
    [(s.name, view) for s in ALL for view in VIEWS if view != "text-spacing" or s.name in SPACING_PAGES],
)
def test_nothing_is_cut_off_or_needs_sideways_scrolling(visit, name, view):
    page = visit(name, "kk", **VIEWS[view]).page
    if view == "text-spacing":
        page.evaluate(TEXT_SPACING)
    assert page.evaluate(OVERFLOW) == []


FOCUS_PAGES = [
    "report",
    "report-errors",
    "track-case",
    "not-found",
    "staff-login",
    "staff-queue-supervisor",
    "staff-case-supervisor",
    "staff-accounts",
]


@pytest.mark.parametrize("name", FOCUS_PAGES)
def test_every_keyboard_stop_shows_the_focus_and_stays_readable(visit, name):
    page = visit(name, "ru").page
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    stops, hidden = [], []
    for _i in range(200):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        if focus is None:
            continue
        if stops and focus["key"] == stops[0]:
            break  # round the page once
        stops.append(focus["key"])
        if not focus["visible"]:
            hidden.append(focus)
    assert len(stops) >= 5
    assert hidden == []


def test_skip_link_is_the_first_stop_and_moves_to_the_content(visit):
    from playwright.sync_api import expect  # here, not at the top: without Playwright the module still loads and skips

    page = visit("report", "kk").page
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible()
    box = page.locator(".skip-link").bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()  # the jump to #main is a navigation: wait for it, not for time
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('main') !== null")


SHOT_PAGES = [
    "home",
    "report",
    "report-errors",
    "receipt",
    "track",
    "track-case",
    "safety",
    "not-found",
    "staff-login",
    "staff-home-caseworker",
    "staff-queue-caseworker",
    "staff-case-supervisor",
    "staff-activity",
    "staff-accounts",
]
PUBLIC_SHOTS = [name for name in SHOT_PAGES if not name.startswith("staff-")]


@pytest.mark.parametrize(
    ("lang", "width", "names"),
    [
        ("en", 375, SHOT_PAGES),
        ("en", 1280, SHOT_PAGES),
        ("kk", 375, PUBLIC_SHOTS),  # the longest words, on a phone
    ],
)
def test_screenshots_of_the_main_pages(visit, lang, width, names):
    """Written for people to look at (test-artifacts/screenshots/<page>-<lang>-<width>.png);
    the test checks that they were made and that nothing overflows."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in names:
        page = visit(name, lang, width=width, height=800).page
        page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
        path = SCREENSHOTS / f"{name}-{lang}-{width}.png"
        path.unlink(missing_ok=True)
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        assert path.stat().st_size > 1000
        assert page.evaluate(OVERFLOW) == [], name
