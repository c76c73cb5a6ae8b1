"""WCAG 2.1 AA in a real browser: axe-core on every public page and the main staff pages, in
each language, with zero violations at any impact level.

axe-core is vendored (tests/browser/vendor, see its README) and injected by the browser
as an init script, so the pages are checked with the app's real CSP in force.
"""

from __future__ import annotations

import pytest

from tests.browser.pages import ALL
from tests.browser.support import AXE_VERSION, LANGS

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html, why: n.failureSummary || ''})),
  }));
}"""


def run_axe(page) -> list[dict]:
    assert page.evaluate("window.axe && axe.version") == AXE_VERSION
    return page.evaluate(RUN_AXE, TAGS)


def readable(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"\n[{v['impact']}] {v['id']}: {v['help']}\n  {v['url']}")
        for node in v["nodes"][:8]:
            why = " / ".join(line.strip() for line in node["why"].splitlines() if line.strip())
            lines.append(f"  - at {node['target']}\n      {node['html'][:240]}\n      {why}")
        if len(v["nodes"]) > 8:
            lines.append(f"  ... and {len(v['nodes']) - 8} more elements")
    return "\n".join(lines)


# axe 4.14 no longer checks duplicate ids (WCAG 2.1's 4.1.1 is now "always satisfied" for HTML),
# but a label, hint or error-summary link that points at an id used twice still names or
# describes the wrong field. Every id something refers to must exist exactly once.
REFERENCED_IDS = r"""() => {
  const refs = [];
  document.querySelectorAll('label[for]').forEach(el => refs.push(['label for', el.htmlFor]));
  for (const attr of ['aria-describedby', 'aria-labelledby', 'aria-controls', 'aria-errormessage']) {
    document.querySelectorAll('[' + attr + ']').forEach(el =>
      el.getAttribute(attr).split(/\s+/).filter(Boolean).forEach(id => refs.push([attr, id])));
  }
  document.querySelectorAll('a[href^="#"]').forEach(el => {
    const id = decodeURIComponent(el.getAttribute('href').slice(1));
    if (id) refs.push(['link', id]);
  });
  return refs.map(([how, id]) => [how, id, document.querySelectorAll('[id="' + CSS.escape(id) + '"]').length])
             .filter(([, , n]) => n !== 1).map(([how, id, n]) => how + ' #' + id + ': ' + n + ' elements');
}"""


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", [s.name for s in ALL])
def test_page_has_no_axe_violations_and_no_broken_references(visit, name, lang):
    tab = visit(name, lang, axe=True)
    assert tab.page.locator("html").get_attribute("lang") == lang
    violations = run_axe(tab.page)
    assert not violations, f"{len(violations)} axe violation(s) on {name} ({lang}) at {tab.page.url}:" + readable(
        violations
    )
    assert tab.page.evaluate(REFERENCED_IDS) == []
    assert not tab.problems


def test_axe_reports_a_planted_violation(visit):
    """The checks above can fail: an image without text, grey-on-white text and a label for a doubled id are found."""
    tab = visit("home", "en", axe=True)
    tab.page.evaluate("""() => {
      const main = document.querySelector('main');
      main.insertAdjacentHTML('beforeend', '<img src="/static/favicon.svg"><p id="faint">faint</p>');
      document.getElementById('faint').style.color = '#bbb';  // CSSOM: the CSP refuses style attributes
    }""")
    found = {v["id"] for v in run_axe(tab.page)}
    assert {"image-alt", "color-contrast"} <= found
    tab.page.evaluate("""() => document.querySelector('main').insertAdjacentHTML('beforeend',
      '<label for="twice">One</label><input id="twice"><input id="twice">')""")
    assert tab.page.evaluate(REFERENCED_IDS) == ["label for #twice: 2 elements"]
