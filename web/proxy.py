"""Trust ``X-Forwarded-*`` only from the reverse proxy itself.

Behind nginx (``SHAGYM_PROXY_HOPS=1``) every request arrives from the proxy's
address and the client's address is in ``X-Forwarded-For``; rate limits key on
it. A client that reaches gunicorn directly must not pick its own address by
sending that header, so it is read only when the request comes from an address
in ``FORWARDED_ALLOW_IPS``.
"""

from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix


class TrustedProxyFix:
    """``ProxyFix`` for requests from a trusted proxy; every other request is passed on untouched."""

    def __init__(self, app, hops: int, trusted: str) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops, x_host=hops)
        self.trusted = {a.strip() for a in trusted.split(",") if a.strip()}

    def __call__(self, environ, start_response):
        if "*" in self.trusted or environ.get("REMOTE_ADDR") in self.trusted:
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)
