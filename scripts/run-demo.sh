#!/usr/bin/env bash
# Serve the app on http://127.0.0.1:8050 with everything the demo needs, until Ctrl-C:
# intake worker, warning worker, callback delivery, data exchange, a stand-in city platform on :8060 and the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
export CITY_CALLBACK_URL=${CITY_CALLBACK_URL:-http://127.0.0.1:8060/callbacks}
export CITY_EXCHANGE_URL=${CITY_EXCHANGE_URL:-http://127.0.0.1:8060/exchange/v1/batches}
export CITY_ORIGIN=${CITY_ORIGIN:-http://127.0.0.1:8060}
mkdir -p var/log
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
start() {  # start NAME COMMAND...: run in the background, log to var/log/NAME.log
  local name=$1; shift
  "$@" >"var/log/$name.log" 2>&1 & pids+=($!)
}
start worker "$bin/onemap" worker
start warn "$bin/onemap" warn worker
start deliver "$bin/onemap" dispatch deliver
# New and changed case reports go up to the city (数据交换), identity sealed for the city's key.
start exchange "$bin/onemap" exchange send
start overdue bash -c "while true; do $bin/onemap dispatch check-overdue; sleep 60; done"
# Sign the audit chain head every 5 minutes, so the unsigned tail (which could be cut off unnoticed) stays short.
start audit-checkpoint "$bin/onemap" audit checkpoint --every 300
# The stand-in city issues two tasks once the district answers.
start city bash -c "until curl -sf http://127.0.0.1:8050/healthz >/dev/null; do sleep 1; done; \
  exec $bin/onemap city-standin --port 8060 --issue 2"
# At a real district's pace (a few case reports an hour); `--stress` or `--rate N` for load tests.
start simulate "$bin/onemap" simulate
echo "OneMap on http://127.0.0.1:8050 — log in as cn_analyst / OneMap@2026 (see README); logs in var/log/"
"$bin/onemap" serve --host 127.0.0.1 --port 8050
