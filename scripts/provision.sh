#!/usr/bin/env bash
# Make PostGIS, Redis, the virtualenv and local secrets available. Idempotent: a second run reuses all.
# Usage: scripts/provision.sh [--test]   (--test also installs headless Chromium for browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=${1:-}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "provision: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  # Wait (up to 10 minutes) for another apt/dpkg process, e.g. unattended-upgrades, instead of failing at once.
  local wait=(-o DPkg::Lock::Timeout=600)
  $SUDO apt-get "${wait[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${wait[@]}" install -y -qq "${missing[@]}" >/dev/null
}

local_db=1; [ -n "${DATABASE_URL:-}" ] && local_db=0
local_redis=1; [ -n "${REDIS_URL:-}" ] && local_redis=0

pkgs=()
[ $local_db = 1 ] && pkgs+=(postgresql-15 postgresql-15-postgis-3)
[ $local_redis = 1 ] && pkgs+=(redis-server)
# a CJK font, so that the browser tests' screenshots show the Chinese UI legibly
[ "$want_test" = "--test" ] && pkgs+=(chromium fonts-wqy-microhei)
[ ${#pkgs[@]} -gt 0 ] && apt_install "${pkgs[@]}"

if [ $local_db = 1 ] && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "provision: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect 15 main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if [ $local_redis = 1 ] && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "provision: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/onemap.log
  for _ in $(seq 30); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

# Virtualenv: reinstall only when pyproject.toml changed.
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  echo "provision: installing the package into .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e ".[test,bench]"
  rm -f .venv/.installed-*; touch "$stamp"
fi

# Local secrets for the demo (never committed): generated once into var/secrets.env.
mkdir -p var
if [ ! -f var/secrets.env ]; then
  .venv/bin/python -m cli.keys > var/secrets.env
  chmod 600 var/secrets.env
  echo "provision: generated var/secrets.env"
fi
