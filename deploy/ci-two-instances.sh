#!/usr/bin/env bash
# CI job: nginx in front of two gunicorn instances on one PostgreSQL and Redis (deploy/ci_two_instances.py).
# Needs PostgreSQL on 127.0.0.1:5432, Redis on 127.0.0.1:6379 and nginx (installed by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
exec timeout 360 .venv/bin/python deploy/ci_two_instances.py
