# `make run` and `make test` bootstrap everything they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# A development tool: debug pages and a throwaway secret key, which settings.py gives only to
# whoever asks (without DJANGO_DEBUG there is no debug, and no start without a secret key).
export DJANGO_DEBUG ?= true

.PHONY: install run test check lint format clean bench bench-quick bench-capacity messages compile-messages

install: $(VENV)/.installed node_modules/.installed

# Re-installs only when the pins change.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The browser checks' own tools (package.json: axe-core for the accessibility tests, Lighthouse
# for its slow test), installed where npm is (Debian's npm); without them those tests skip, and
# fail in CI, whose .ci/run installs npm.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "No npm: the accessibility and Lighthouse tests will skip (apt-get install npm)."; fi

run: install
	$(PY) manage.py migrate --noinput
# Links, not copies: the front serves staticfiles/, so an edit under static/ shows at once (a
# file added since goes to the web, WhiteNoise, until the next make run links it).
	$(PY) manage.py collectstatic --noinput -v0 --link
# The development admin, only in make run's own SQLite database (no DATABASE_URL).
ifndef DATABASE_URL
	@DJANGO_SUPERUSER_PASSWORD=admin $(PY) manage.py createsuperuser --noinput \
		--username admin --email admin@example.com >/dev/null 2>&1 || true
	@echo "Admin: http://127.0.0.1:$(PORT)/admin/  user admin, password admin (development only)"
endif
	PORT=$(PORT) exec $(PY) scripts/devstack.py run

# ARGS passes options to pytest, e.g. make test ARGS="-k upload -x".
test: install
	$(PY) scripts/devstack.py test $(ARGS)

# The edit-test loop: lint, then every test that starts no worker process and no browser
# (the `worker` and `browser` markers, which the root conftest.py adds from the fixtures a
# test uses, and `slow`): docs/DEVELOPMENT.md says how long. `make test` is the whole suite.
check: lint
	$(PY) scripts/devstack.py test -m "not worker and not browser and not slow" $(ARGS)

# Every benchmark (bench/README.md): bench/results.json and bench/results.png.
bench: install
	$(PY) bench/run.py

bench-quick: install
	$(PY) bench/run.py --quick

# What one Redis and one PostgreSQL sustain with a job's own commands (docs/SCALING.md,
# "Ceilings"): needs redis-benchmark, pgbench and PostgreSQL 15's server programs.
bench-capacity: install
	rm -f bench/capacity.json
	$(PY) bench/capacity.py --json bench/capacity.json

# The catalogues (locale/, docs/LANGUAGES.md): `make messages` adds the strings marked in the
# code to each language's .po (Django's makemessages, which needs xgettext: Debian's gettext);
# once they are translated, `make compile-messages` compiles them (babel, pure Python). The
# compiled .mo files are committed, so `make run` needs neither.
MESSAGES := $(PY) manage.py makemessages -l pt_BR -l es -l pl --no-location \
	--ignore 'staticfiles/*' --ignore 'var/*' --ignore 'media/*' --ignore 'static/vendor/*' --ignore 'node_modules/*'

messages: install
	$(MESSAGES)
	$(MESSAGES) -d djangojs

compile-messages: install
	$(VENV)/bin/pybabel compile --statistics -d locale -D django
	$(VENV)/bin/pybabel compile --statistics -d locale -D djangojs

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules var staticfiles .pytest_cache .ruff_cache
