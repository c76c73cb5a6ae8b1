"""The base of every form: an HTML form reads the posted form fields, never a JSON body.

Flask-WTF would read a JSON body as form data; a body such as ``[1, 2]`` then
crashes the form before it can say what is wrong. Shagym's forms are HTML
forms, so a JSON post is simply a post with no fields (422 with the usual
messages).
"""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm


class Form(FlaskForm):
    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if request and request.is_json and not request.form and not request.files:
                return request.form if request.method in ("POST", "PUT", "PATCH", "DELETE") else None
            return super().wrap_formdata(form, formdata)
