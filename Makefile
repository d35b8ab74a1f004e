# The two commands of the README's Quickstart: `make run` and `make test`.
# Each installs what is missing by itself (virtualenv, packages, Redis, PostgreSQL binaries).

VENV    := .venv
STAMP   := $(VENV)/.installed

.PHONY: run test lint check install clean flood flood-chaos catalogue

run: $(STAMP)
	scripts/run-dev.sh

test: $(STAMP)
	scripts/ensure-test-services.sh
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/python -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

install: $(STAMP)

# The standard load-test benchmark (docs/BENCHMARKS.md): the whole stack on loopback, the
# 2020 caucus night under 20,000 prank and robot calls; the report goes to reports/iowa2020.
flood: $(STAMP)
	$(VENV)/bin/hotline flood --scenario iowa2020 --start-stack --out reports/iowa2020

# The same night on the HA topology, losing a web node, an HAProxy, the Redis primary, a
# worker mid-commit and PostgreSQL for 30 s along the way (flood/faults.py).
flood-chaos: $(STAMP)
	$(VENV)/bin/hotline flood --scenario iowa2020 --start-stack --topology ha --chaos \
		--out reports/iowa2020-chaos

# The prompt catalogue (ivr/catalogue.py): extract every phrase and group name into the
# template, then merge it into each language's .po file for a translator to complete.
catalogue: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k phrase -k counted:1,2 -k phrase_in:2 --no-default-keywords \
		--add-location=file --sort-by-file --omit-header -o ivr/locale/hotline.pot .
	$(VENV)/bin/pybabel update --ignore-obsolete -i ivr/locale/hotline.pot -d ivr/locale -D hotline

$(STAMP): pyproject.toml scripts/bootstrap.sh requirements.lock
	scripts/bootstrap.sh
	touch $(STAMP)

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
