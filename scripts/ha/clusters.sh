# Sourced by scripts/ha/run.sh and scripts/ha/test-suite.sh: `stop_clusters DIR...` stops (immediate) each
# PostgreSQL cluster among DIR... that is still running, in the order given (replica first).
stop_clusters() {
  local d
  for d in "$@"; do
    if [ -f "$d/postmaster.pid" ]; then
      if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$d" -m immediate stop >/dev/null 2>&1 || true
      else /usr/lib/postgresql/15/bin/pg_ctl -D "$d" -m immediate stop >/dev/null 2>&1 || true; fi
    fi
  done
}
