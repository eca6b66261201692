# Borne — one Makefile for developers, CI and technicians.
#   make run          start the kiosk shell and its agent with the sample configuration
#   make tutorial     rebuild the help centre's tutorial video from the kiosk's own screens
#   make stats        usage report of the `make run` terminal (ARGS="--from 2026-11-01 --format csv")
#   make test         everything CI checks: lint, types, architecture, all test suites
#   make bench        performance figures as JSON (ratios against same-run baselines)
#   make screenshots  PNGs of every resident screen in screenshots/ (French and Arabic)
#   make i18n         collect the interface's strings into kiosk.pot and merge them into each language
#   make deps         install Debian packages (as root or with sudo), the venv and the project

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.borne-installed
APT_STAMP := $(VENV)/.borne-apt

# Debian packages the project needs at run and test time.
APT_PACKAGES := \
  xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
  libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 libxkbcommon0 libpulse0 libnss3 libegl1 libgl1 \
  libopengl0 libfontconfig1 libdbus-1-3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 \
  libasound2 libxshmfence1 libgbm1 libxkbfile1 fonts-noto-core fonts-dejavu-core \
  postgresql chromium curl espeak-ng ffmpeg speech-dispatcher-espeak-ng \
  cups printer-driver-cups-pdf poppler-utils gcc python3-dev libcups2-dev
# (pycups has no wheel on PyPI: pip builds it with gcc against Python's and libcups' headers.)

SUDO := $(shell [ "$$(id -u)" = 0 ] && echo "" || (command -v sudo >/dev/null && echo sudo))

.PHONY: i18n tutorial deps apt venv node run stats test lint typecheck architecture pytest bench screenshots screenshot-live clean

deps: apt venv node

apt: $(APT_STAMP)
$(APT_STAMP): Makefile
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ] && [ -z "$(SUDO)" ]; then \
	    echo "Missing Debian packages:$$missing"; echo "Run 'make deps' as root or install sudo."; exit 1; fi; \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

# axe-core for the accessibility tests, from the npm registry (Node.js and npm come with the machine).
NODE_STAMP := $(VENV)/.borne-node
node: $(NODE_STAMP)
$(NODE_STAMP): Makefile
	@command -v npm >/dev/null || { echo "npm is needed for the accessibility tests (axe-core)"; exit 1; }
	@mkdir -p $(VENV)/node && npm install --silent --no-audit --no-fund --prefix $(VENV)/node axe-core@4.14.1
	@touch $@

venv: $(STAMP)
$(STAMP): pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

run: deps
	@bash tools/run.sh

stats: deps
	@KIOSK_DATA_DIR="$${KIOSK_DATA_DIR:-$$PWD/.run/data}" KIOSK_LAST_GOOD_DIR="$${KIOSK_LAST_GOOD_DIR:-$$PWD/.run/last-good-config}" \
	  $(VENV)/bin/kiosk stats report --config-dir config $(ARGS)

tutorial: deps
	$(PY) tools/make_tutorial.py

screenshot-live:
	@kill -USR1 "$$(cat .run/shell.pid)" && sleep 1 && echo "Saved .run/screen.png"

lint: deps
	$(VENV)/bin/ruff check kiosk sync tests bench tools
	$(VENV)/bin/ruff format --check kiosk sync tests bench tools

typecheck: deps
	$(VENV)/bin/mypy

architecture: deps
	$(VENV)/bin/lint-imports

pytest: deps
	$(VENV)/bin/pytest

test: deps
	$(VENV)/bin/ruff check kiosk sync tests bench tools
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest

bench: deps
	@$(PY) -m bench $(if $(ONLY),--only $(ONLY))

screenshots: deps
	$(PY) tools/screenshots.py screenshots

# After changing a resident-facing string: new strings appear empty (or "fuzzy" when close to an
# old one) in each kiosk/i18n/<lang>/LC_MESSAGES/kiosk.po; translate them, and `make test` agrees.
i18n: deps
	$(VENV)/bin/pybabel extract -F kiosk/i18n/babel.cfg -k N_ --no-location --add-comments=Translators: \
	  --project=Borne --copyright-holder="Borne contributors" -o kiosk/i18n/kiosk.pot .
	$(VENV)/bin/pybabel update -i kiosk/i18n/kiosk.pot -d kiosk/i18n -D kiosk --width 100 --ignore-obsolete --previous

clean:
	rm -rf .run screenshots .pytest_cache .mypy_cache .ruff_cache
