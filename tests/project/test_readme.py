"""The README's generated sections match the code they describe."""

from scripts.readme import render
from tests.helpers import ROOT

README = ROOT / "README.md"


def test_readme_sections_are_generated_from_the_code():
    text = README.read_text()
    assert render(text) == text, "README drifted from the code: run `make readme`"


def test_readme_names_the_two_commands():
    text = README.read_text()
    assert "make run" in text and "make test" in text


def test_try_it_says_which_demo_login_works_which_queue_and_that_the_cli_needs_the_same_database():
    from cases.seed import QUEUES

    try_it = README.read_text().split("Try it:", 1)[1].split("## How it is built", 1)[0]
    assert "<!-- BEGIN:demo-logins -->" in try_it
    for slug, name, _description in QUEUES:
        assert f"| `{slug}@demo.shagym.test` | caseworker | {name} (`{slug}`) |" in try_it
    assert "same `DATABASE_URL`" in try_it and "as the server" in try_it
