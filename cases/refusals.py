"""The one exception a domain rule or a command raises to refuse an action.

``template`` and ``params`` let the web layer translate the message into the
reader's language; ``str()`` is the English text (CLI, logs, tests).
"""

from __future__ import annotations


class Refused(Exception):
    """An action was refused; the message is safe to show to the person who asked."""

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(template % params if params else template)
