#!/usr/bin/env bash
# `make test-ha` (issue 21): the whole existing test suite with replica and Sentinel settings. Starts a PostgreSQL
# primary + streaming replica and a Redis master + replica + three Sentinels under var/ha-tests/ on free ports
# (bench/ha/topology.py), points the tests at them (tests/databases.py: TEST_DATABASE_URL, TEST_REPLICA_URL,
# TEST_REDIS_URL, TEST_REDIS_SENTINELS), runs `pytest -q` (arguments are passed on: a path, -k, -x, ...)
# and stops everything it started (bench/ha/test_suite.py; the trap stops a leftover cluster on any exit).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v redis-server >/dev/null || { echo "test-ha: redis-server missing (scripts/provision.sh installs it)"; exit 1; }
[ -x /usr/lib/postgresql/15/bin/pg_basebackup ] || { echo "test-ha: PostgreSQL 15 binaries missing"; exit 1; }
. scripts/ha/clusters.sh
# only the clusters bench/ha/test_suite.py made, in var/ha-tests/pg-* (replica first)
cleanup() { stop_clusters $(ls -d var/ha-tests/pg-* 2>/dev/null | sort -r); }
trap cleanup EXIT
set -a; [ -f var/secrets.env ] && . var/secrets.env; set +a
.venv/bin/python -m bench.ha.test_suite "$@"
