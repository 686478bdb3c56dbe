# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv/bin
ENV := set -a; [ -f var/secrets.env ] && . var/secrets.env; set +a;

.PHONY: run test bench chaos provision ha test-ha

run:
	scripts/provision.sh
	$(ENV) $(VENV)/onemap db upgrade
	$(ENV) $(VENV)/onemap seed --demo
	$(ENV) $(VENV)/onemap warn run
	$(ENV) $(VENV)/onemap demo fieldwork
	$(ENV) scripts/run-demo.sh

# The application packages (type-checked: strict for core and domain, see [tool.mypy] in pyproject.toml).
APP_PACKAGES := core config geo security store accounts gazetteer layers alerting dispatch command feeds ingest exchange assist fieldwork demo \
                dashboard cli

# The tests whose outcome depends on the demo's reference date; run for each date of tests/reference_dates.txt.
DATE_TESTS := tests/alerting/test_runner.py tests/alerting/test_backtest.py tests/alerting/test_backtest_events.py \
              tests/feeds/test_demo_outbreak.py tests/demo/test_seed.py -k "not deterministic and not pg_dump and not fixed_end"

test:
	scripts/provision.sh --test
	$(ENV) $(VENV)/lint-imports
	$(VENV)/ruff check .
	$(VENV)/mypy $(APP_PACKAGES)
	$(VENV)/python scripts/check_function_length.py
	@for d in $$(grep -v '^#' tests/reference_dates.txt); do \
	  echo "== date-sensitive tests with reference date $$d"; \
	  $(ENV) ONEMAP_REFERENCE_DATE=$$d $(VENV)/python -m pytest -q $(DATE_TESTS) || exit 1; \
	done
	$(ENV) $(VENV)/python -m pytest -q

bench:
	scripts/provision.sh --test
	$(ENV) $(VENV)/python -m bench.run_all

provision:
	scripts/provision.sh --test
chaos: ; scripts/provision.sh --test && { $(ENV) CHAOS_FULL=1 $(VENV)/python -m pytest -q tests/system/chaos; }
# Issue 21: PostgreSQL primary + streaming replica, Redis master + replica + 3 Sentinels, 2 web, 2 workers on
# local ports under var/ha/; runs the failover scenarios, prints their figures, stops everything it started.
ha: ; scripts/provision.sh --test && scripts/ha/run.sh
# Issue 21: the whole test suite with replica and Sentinel settings (a PostgreSQL primary + streaming replica and a
# Redis master + replica + 3 Sentinels under var/ha-tests/, stopped afterwards); ~25-40 min.
test-ha: ; scripts/provision.sh --test && scripts/ha/test-suite.sh
