"""Printable documents as PDF: one place that turns a page's HTML into PDF bytes.

The PDF is drawn by WeasyPrint with the fonts shipped in ``static/fonts`` (DejaVu Sans, which has
every Kazakh letter: ә ғ қ ң ө ұ ү һ і), so a document looks the same on every server and never
depends on what fonts the machine has. The HTML may hold text people typed (a narrative, a
letter's summary); Jinja escapes it, and the fetcher below refuses every address except the shipped
fonts, so nothing in a document can make the server read a local file or call out to the network.

WeasyPrint needs the Pango library from the operating system (Debian: ``libpango-1.0-0``,
``libpangoft2-1.0-0``). Without it the application still runs; ``available()`` is false and the
views answer that PDF is not available on this server, while the HTML version still works.
"""

from __future__ import annotations

from pathlib import Path

try:  # pragma: no cover - depends on the operating system's libraries
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher
except OSError:  # Pango is missing: say so on use, don't break the application's start
    CSS = HTML = FontConfiguration = None
    URLFetcher = object

FONTS = Path(__file__).resolve().parent.parent / "static" / "fonts"
_FONT_FILES = {"DejaVuSans.ttf": "normal", "DejaVuSans-Bold.ttf": "bold"}
FONT_FAMILY = "Shagym Print"

_PAGE_CSS = (
    "".join(
        f"@font-face {{ font-family: '{FONT_FAMILY}'; src: url('{(FONTS / name).as_uri()}'); "
        f"font-weight: {weight}; font-style: normal; }}\n"
        for name, weight in _FONT_FILES.items()
    )
    + f"""
@page {{ size: A4; margin: 20mm 18mm 22mm 18mm;
        @bottom-right {{ content: counter(page) " / " counter(pages); font-size: 8pt; }} }}
html {{ font-family: '{FONT_FAMILY}'; font-size: 10pt; line-height: 1.4; color: #000; }}
h1 {{ font-size: 15pt; margin: 0 0 6pt; }}
h2 {{ font-size: 12pt; margin: 12pt 0 4pt; }}
table {{ border-collapse: collapse; margin: 4pt 0 8pt; }}
th, td {{ border: 0.5pt solid #555; padding: 2pt 4pt; text-align: left; vertical-align: top; }}
td.number, th.number {{ text-align: right; }}
caption {{ text-align: left; font-weight: bold; padding-bottom: 2pt; }}
.no-print, nav, form, button {{ display: none !important; }}
tr {{ break-inside: avoid; }}
tr.total th, tr.total td {{ font-weight: bold; }}
.stats-table td {{ text-align: right; }}
dl > div {{ display: flex; gap: 6pt; margin: 0; }}
dt {{ font-weight: bold; }} dd {{ margin: 0; }}
/* A table too wide for an upright page: the document turns every page sideways. */
@page landscape {{ size: A4 landscape; }}
.landscape {{ page: landscape; font-size: 7pt; }}
.landscape th, .landscape td {{ padding: 1pt 2pt; }}
/* Column headings may break inside a word rather than push the table off the page. */
.landscape thead th {{ overflow-wrap: anywhere; }}
.landscape thead th:last-child {{ overflow-wrap: normal; }}
"""
)
_ALLOWED = {(FONTS / name).as_uri() for name in _FONT_FILES}


class PdfUnavailable(RuntimeError):
    """WeasyPrint could not load (the operating system lacks Pango)."""


def available() -> bool:
    return HTML is not None


class _FontsOnly(URLFetcher):
    """Fetch the shipped fonts and nothing else: no file, no network, nothing a page names."""

    def fetch(self, url, headers=None):
        if url not in _ALLOWED:
            raise ValueError("printing fetches only the shipped fonts")
        return super().fetch(url, headers)


def pdf_from_html(html: str, *, title: str, language: str) -> bytes:
    """The PDF of ``html`` (a whole document), A4, with the shipped fonts and page numbers.

    ``title`` and ``language`` become the PDF's metadata, so screen readers and search tools know
    what the document is and in which language it is written."""
    if not available():
        raise PdfUnavailable("PDF needs the Pango library (Debian: libpango-1.0-0 libpangoft2-1.0-0)")
    fonts = FontConfiguration()
    fetcher = _FontsOnly(allowed_protocols=("file",), allow_redirects=False)
    document = HTML(string=html, url_fetcher=fetcher).render(
        stylesheets=[CSS(string=_PAGE_CSS, font_config=fonts, url_fetcher=fetcher)], font_config=fonts
    )
    document.metadata.title = title
    document.metadata.lang = language
    return document.write_pdf()
