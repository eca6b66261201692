# Borne — one Makefile for developers, CI and technicians.
#   make run          start the kiosk shell and its agent with the sample configuration
#   make tutorial     rebuild the help centre's tutorial video from the kiosk's own screens
#   make stats        usage report of the `make run` terminal (ARGS="--from 2026-11-01 --format csv")
#   make test         everything CI checks: lint, types, architecture, all test suites
#   make bench        performance figures as JSON (ratios against same-run baselines)
#   make screenshots  PNGs of every resident screen in screenshots/ (French and Arabic)
#   make i18n         collect the interface's strings into kiosk.pot and merge them into each language
#   make deps         install Debian packages (as root or with sudo), the venv and the project
#   make image-rootfs the appliance's root file system (Debian 12, mmdebstrap; as root), see image/
#   make image        the bootable raw disk image (make image-boot: boots it in qemu)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.borne-installed

# Debian packages the project needs at run and test time (on top of a minimal Debian 12 with make,
# git, python3, ca-certificates and sudo: tools/fresh-debian.sh checks exactly that).
# libatomic1: Playwright's bundled node driver; python3-venv: the venv (ensurepip).
APT_PACKAGES := \
  python3-venv libatomic1 \
  xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
  libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 libxkbcommon0 libpulse0 libnss3 libegl1 libgl1 \
  libopengl0 libfontconfig1 libdbus-1-3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 \
  libasound2 libxshmfence1 libgbm1 libxkbfile1 fonts-noto-core fonts-dejavu-core \
  postgresql chromium curl espeak-ng ffmpeg speech-dispatcher-espeak-ng \
  cups printer-driver-cups-pdf poppler-utils gcc python3-dev libcups2-dev libusb-1.0-0 \
  linux-libc-dev libudev1 libsane-dev sane-utils mmdebstrap \
  squashfs-tools dosfstools mtools fdisk binutils xz-utils qemu-system-x86 ovmf gpg gpg-agent
# (pycups has no wheel on PyPI: pip builds it with gcc against Python's and libcups' headers;
# python-evdev likewise, against the kernel's input headers from linux-libc-dev; python-sane
# against libsane-dev (sane-utils: scanimage, and the test backend that tests and `make run` use).
# libusb-1.0-0: pyusb's backend, for USB ticket printers. libudev1: pyudev loads it, for USB
# printers and scanners plugged in and out. mmdebstrap: the appliance's root file system, built
# by `make image-rootfs` and by the `image` tests. The bootable disk, `make image` and the `vm`
# tests: squashfs-tools (the root slot), dosfstools and mtools (the ESP, made without mounting),
# fdisk (sfdisk: the GPT), binutils (objcopy: the UKI), xz-utils (the download), qemu-system-x86
# and ovmf (booting it under UEFI), gpg and gpg-agent (signing releases: without the agent,
# which apt leaves out as a mere recommendation, gpg can neither make nor use a secret key).)

SUDO := $(shell [ "$$(id -u)" = 0 ] && echo "" || (command -v sudo >/dev/null && echo sudo))

.PHONY: image image-rootfs image-disk image-boot image-release i18n tutorial deps apt venv run stats test lint typecheck architecture pytest bench screenshots screenshot-live clean FORCE

deps: apt venv

# Checked on every run (one dpkg-query, a few milliseconds), so no stamp can go stale: a package
# removed since is installed again. apt-get's output goes to a log shown only when it fails.
apt:
	@missing=$$(dpkg-query -W -f='$${db:Status-Abbrev} $${Package}\n' $(APT_PACKAGES) 2>/dev/null \
	  | awk '$$1 == "ii" { print $$2 }' | sort | comm -13 - <(printf '%s\n' $(APT_PACKAGES) | sort)); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ] && [ -z "$(SUDO)" ]; then \
	    echo "Missing Debian packages:" $$missing; echo "Run 'make deps' as root or install sudo."; exit 1; fi; \
	  echo "Installing Debian packages:" $$missing; \
	  log=$$(mktemp); \
	  { $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  } >"$$log" 2>&1 || { cat "$$log"; rm -f "$$log"; exit 1; }; \
	  rm -f "$$log"; \
	fi

# A venv without a working pip (say, made before python3-venv was installed) is made anew.
# PYTHONWARNINGS: setuptools' notice that a folder named like the package may shadow it during
# imports; here that is the point of an editable install.
VENV_OK := $(shell $(PY) -m pip --version >/dev/null 2>&1 && echo ok)
venv: $(STAMP)
$(STAMP): pyproject.toml $(if $(VENV_OK),,FORCE) | apt
	@if ! $(PY) -m pip --version >/dev/null 2>&1; then \
	  if [ -e $(VENV) ]; then echo "$(VENV) has no working pip: making it anew."; fi; \
	  rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); fi
	@echo "Installing the project and its test tools into $(VENV)."
	@$(PY) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --upgrade pip
	@PYTHONWARNINGS="ignore:Editable installation" \
	  $(PY) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -e '.[test]'
	@touch $@
FORCE:

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

# Quiet when all is well: each checker speaks only about problems, pytest prints its dots, what
# was not a pass (-ra) and one closing line.
test: deps
	@$(VENV)/bin/ruff check --quiet kiosk sync tests bench tools
	@$(VENV)/bin/mypy --no-error-summary
	@out=$$($(VENV)/bin/lint-imports --no-logo 2>&1) || { echo "$$out"; exit 1; }
	@echo "ruff, mypy and import-linter: clean"
	@$(VENV)/bin/pytest

bench: deps
	@$(PY) -m bench $(if $(ONLY),--only $(ONLY))

# The tour of tools/screenshots.py, then the screens the shell's tests walk through with a
# database and devices (booking, mediator, staff mode, first-boot setup, scanning).
SHOT_TESTS = $(addprefix tests/integration/test_shell_,booking.py mediator.py staff.py setup.py scanning.py)
screenshots: deps
	$(PY) tools/screenshots.py screenshots
	BORNE_SHOTS=$(CURDIR)/screenshots $(VENV)/bin/pytest $(SHOT_TESTS)

# After changing a resident-facing string: new strings appear empty (or "fuzzy" when close to an
# old one) in each kiosk/i18n/<lang>/LC_MESSAGES/kiosk.po; translate them, and `make test` agrees.
i18n: deps
	$(VENV)/bin/pybabel extract -F kiosk/i18n/babel.cfg -k N_ --no-location --add-comments=Translators: \
	  --project=Borne --copyright-holder="Borne contributors" -o kiosk/i18n/kiosk.pot .
	$(VENV)/bin/pybabel update -i kiosk/i18n/kiosk.pot -d kiosk/i18n -D kiosk --width 100 --ignore-obsolete --previous

# Built from the last commit (git archive HEAD) into /var/cache/borne-image/rootfs, or OUT=DIR;
# reused when nothing it is made of changed (BORNE_IMAGE_FORCE=1 rebuilds the last stage).
# BORNE_NIGHTLY_REBOOT=1 enables the nightly reboot timer (README, "What the image locks down").
image-rootfs: apt
	@$(SUDO) env BORNE_NIGHTLY_REBOOT=$${BORNE_NIGHTLY_REBOOT:-0} image/build-rootfs.sh $(OUT)

# The bootable raw disk image (GPT, systemd-boot, UKI, root slots A and B, data) and the release
# files, from the root above, into /var/cache/borne-image/disk (DISK=DIR elsewhere). Sizes and
# build time printed; fails over the size budget. See image/build-disk.sh.
DISK ?= /var/cache/borne-image/disk
image: image-rootfs image-disk
image-disk: apt
	@$(SUDO) image/build-disk.sh $(or $(OUT),/var/cache/borne-image/rootfs) $(DISK)

# Boots the raw image (a copy) in qemu under UEFI, KVM when /dev/kvm is usable, else software
# emulation, and waits for the kiosk's BORNE-READY line on the serial console; prints the time.
image-boot: image
	@$(SUDO) image/boot-vm.sh $(DISK)

# The signed update directory (RELEASE=DIR, default $(DISK)/release) for systemd-sysupdate on the
# terminals: BORNE_SIGNING_KEY names the gpg key to sign with (README, "Updating terminals").
image-release: image
	@$(SUDO) env BORNE_SIGNING_KEY=$${BORNE_SIGNING_KEY:-} GNUPGHOME=$${GNUPGHOME:-} image/make-release.sh $(DISK) $(or $(RELEASE),$(DISK)/release)

clean:
	rm -rf .run screenshots .pytest_cache .mypy_cache .ruff_cache
