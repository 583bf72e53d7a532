#!/usr/bin/env bash
# The one test command (`make test`, also called by .ci/run): checks, migrations, full suite, coverage.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
db="${DATABASE_URL:-sqlite (default)}"
echo "== tests on ${db%%://*} =="
mkdir -p var test-artifacts
$PY manage.py check --fail-level WARNING
$PY manage.py makemigrations --check --dry-run
$PY -m pytest --cov --cov-report=term "$@"
