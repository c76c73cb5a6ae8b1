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
