"""The files in deploy/ agree with the app: body limit, trusted headers, private logs, keys, units.

The CI job ``deploy/ci-two-instances.sh`` runs them for real (nginx in front of two gunicorn
instances); these checks keep the production files from drifting away from the settings.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import config
from deploy import ci_two_instances

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SNIPPET = (DEPLOY / "nginx" / "shagym-proxy.conf").read_text()
SITE = (DEPLOY / "nginx" / "shagym.conf").read_text()
INSTANCE_UNIT = (DEPLOY / "systemd" / "shagym@.service").read_text()
WORKER_UNIT = (DEPLOY / "systemd" / "shagym-worker.service").read_text()
# What would put a client's address, browser or query string into the access log.
IDENTIFYING = ("$remote_addr", "$binary_remote_addr", "$http_x_forwarded_for", "$proxy_add_x_forwarded_for",
               "$http_user_agent", "$http_referer", "$request_uri", "$request ", "$args", "$query_string",
               "$realip_remote_addr", "$http_cookie")  # fmt: skip


def directive(text: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]+);", text, re.MULTILINE)


def test_the_body_limit_is_the_apps_upload_limit():
    """intake/uploads.py: an upload request may carry MAX_CASE_FILES_MB plus 2 MB of form."""
    assert directive(SNIPPET, "client_max_body_size") == [f"{config.default('MAX_CASE_FILES_MB') + 2}m"]
    assert directive(SNIPPET, "proxy_request_buffering") == ["on"]


def test_the_forwarded_headers_are_the_one_hop_web_proxy_trusts():
    headers = dict(h.split(None, 1) for h in directive(SNIPPET, "proxy_set_header"))
    # Replaced, never appended to what the client sent (a client cannot choose its rate-limit key).
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-Host"] == "$host"
    env = (DEPLOY / "shagym.env.example").read_text()
    assert "SHAGYM_PROXY_HOPS=1" in env and "FORWARDED_ALLOW_IPS=127.0.0.1" in env


@pytest.mark.parametrize("where", ["site", "ci"])
def test_the_access_log_holds_no_client_address(where):
    text = SITE if where == "site" else ci_two_instances.NGINX_CONF
    formats = re.findall(r"log_format\s+\w+\s+((?:'[^']*'\s*)+);", text)
    assert formats, "no log_format"
    for fmt in formats:
        assert not [v for v in IDENTIFYING if v in fmt], fmt
    assert all(line.split()[-1] == "shagym_private" for line in directive(text, "access_log"))


def test_the_site_has_two_app_instances_and_marked_tls_placeholders():
    upstream = re.search(r"upstream shagym \{(.*?)\}", SITE, re.DOTALL)
    assert upstream and len(re.findall(r"^\s*server\s", upstream.group(1), re.MULTILINE)) == 2
    for name in ("ssl_certificate", "ssl_certificate_key"):
        (path,) = directive(SITE, name)
        assert "CHANGE-ME" in path
    assert "OPERATOR: placeholder paths" in SITE
    assert SITE.count("include /etc/nginx/snippets/shagym-proxy.conf;") == 2


@pytest.mark.parametrize("unit", ["instance", "worker"])
def test_every_unit_reads_every_key_from_a_file(unit):
    text = INSTANCE_UNIT if unit == "instance" else WORKER_UNIT
    for name in config.KEY_SETTINGS:
        assert re.search(rf"^Environment={name}_FILE=%d/\w+$", text, re.MULTILINE), name
    assert {s.name for s in config.SETTINGS} >= {f"{n}_FILE" for n in config.KEY_SETTINGS}


def test_the_units_run_gunicorn_and_the_worker():
    assert "--bind 127.0.0.1:%i" in INSTANCE_UNIT and '"wsgi:create_app()"' in INSTANCE_UNIT
    assert "RestartPreventExitStatus=4" in INSTANCE_UNIT  # other keys: halt, do not loop
    assert re.search(r"^ExecStart=\S+/flask --app wsgi worker$", WORKER_UNIT, re.MULTILINE)


def test_the_env_example_names_only_real_settings():
    known = {s.name for s in config.SETTINGS} | {name for name, _d, _m in config.OTHER_VARIABLES}
    names = re.findall(r"^([A-Z_0-9]+)=", (DEPLOY / "shagym.env.example").read_text(), re.MULTILINE)
    assert names and set(names) <= known
    assert not set(names) & set(config.KEY_SETTINGS)  # keys are files, not environment lines


def test_ci_runs_the_two_instance_job_after_the_suites():
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.rstrip().endswith("deploy/ci-two-instances.sh")
    # The job includes the production proxy snippet itself, not a copy.
    assert "include {snippet};" in ci_two_instances.NGINX_CONF
