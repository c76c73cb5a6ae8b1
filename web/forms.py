"""The base of every form: an HTML form reads the posted form fields, never a JSON body.

Flask-WTF would read a JSON body as form data; a body such as ``[1, 2]`` then
crashes the form before it can say what is wrong. Shagym's forms are HTML
forms, so a JSON post is simply a post with no fields (422 with the usual
messages).
"""

from __future__ import annotations

from functools import lru_cache

from babel import support
from flask import request
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path


@lru_cache(maxsize=8)
def wtforms_translations(locale: str) -> support.Translations:
    """WTForms' own messages ("Not a valid integer value.") in a language: the catalog is read
    once per process and language, not on every request as Flask-WTF's i18n does."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class Form(FlaskForm):
    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return wtforms_translations(str(get_locale())) if request else None

        def wrap_formdata(self, form, formdata):
            if request and request.is_json and not request.form and not request.files:
                return request.form if request.method in ("POST", "PUT", "PATCH", "DELETE") else None
            return super().wrap_formdata(form, formdata)
