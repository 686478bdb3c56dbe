# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv/bin
ENV := set -a; [ -f var/secrets.env ] && . var/secrets.env; set +a;

.PHONY: run test bench chaos provision

run:
	scripts/provision.sh
	$(ENV) $(VENV)/onemap db upgrade
	$(ENV) $(VENV)/onemap seed --demo
	$(ENV) $(VENV)/onemap warn run
	$(ENV) scripts/run-demo.sh

test:
	scripts/provision.sh --test
	$(ENV) $(VENV)/lint-imports
	$(ENV) $(VENV)/python -m pytest -q

bench:
	scripts/provision.sh --test
	$(ENV) $(VENV)/python -m bench.run_all

provision:
	scripts/provision.sh --test
chaos: ; scripts/provision.sh --test && { $(ENV) CHAOS_FULL=1 $(VENV)/python -m pytest -q tests/chaos; }
