#!/usr/bin/env bash
# `make ha`: a PostgreSQL primary + streaming replica, a Redis master + replica and three Sentinels, two web
# processes and two workers, all under var/ha/ on their own ports; runs the failover scenarios, prints their
# figures and stops everything it started (bench/ha/run.py; the trap stops a leftover on any exit).
# `scripts/ha/run.sh cpu-share [--clients 24 --seconds 60]` instead measures the primary's CPU share under the layer
# and KPI read load without and with the replica (bench/ha/cpu_share.py, ~4.5 min: not part of `make ha`).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v redis-server >/dev/null || { echo "ha: redis-server missing (scripts/provision.sh installs it)"; exit 1; }
[ -x /usr/lib/postgresql/15/bin/pg_basebackup ] || { echo "ha: PostgreSQL 15 binaries missing"; exit 1; }
. scripts/ha/clusters.sh
# only what bench/ha started: the clusters in var/ha/pg-* (replica first)
cleanup() { stop_clusters var/ha/pg-55433 var/ha/pg-55432; }
trap cleanup EXIT
set -a; [ -f var/secrets.env ] && . var/secrets.env; set +a
if [ "${1:-}" = cpu-share ]; then shift; .venv/bin/python -m bench.ha.cpu_share "$@"
else .venv/bin/python -m bench.ha.run "$@"; fi
