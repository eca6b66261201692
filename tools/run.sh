#!/usr/bin/env bash
# `make run`: the whole stack on embedded defaults — the kiosk shell and its agent on the sample
# configuration (with a display or under Xvfb), and a local federation server on SQLite to which
# this terminal is enrolled, with its dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .run
export KIOSK_CONFIG_DIR="${KIOSK_CONFIG_DIR:-$PWD/config}"
export KIOSK_DATA_DIR="${KIOSK_DATA_DIR:-$PWD/.run/data}"
export KIOSK_LAST_GOOD_DIR="${KIOSK_LAST_GOOD_DIR:-$PWD/.run/last-good-config}"
# Session directories belong in RAM.
export KIOSK_SESSION_ROOT="${KIOSK_SESSION_ROOT:-/dev/shm/borne-$(id -u)/sessions}"
LOG="$PWD/.run/kiosk-shell.log"
SHOT="$PWD/.run/screen.png"
XVFB_PID=""
AGENT_PID=""
FED_PID=""
CUPS_PID=""
TICKETS_PID=""
export BORNE_FEDERATION_DB="${BORNE_FEDERATION_DB:-sqlite:///$PWD/.run/federation.db}"
FED_PORT="${FED_PORT:-8800}"
cleanup() {
  [ -n "$CUPS_PID" ] && kill "$CUPS_PID" 2>/dev/null && wait "$CUPS_PID" 2>/dev/null || true
  [ -n "$TICKETS_PID" ] && kill "$TICKETS_PID" 2>/dev/null || true
  [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null || true
  [ -n "$FED_PID" ] && kill "$FED_PID" 2>/dev/null || true
  [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null || true
  rm -f .run/shell.pid
}
trap cleanup EXIT

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  DISPLAY_NUM=99
  while [ -e "/tmp/.X11-unix/X$DISPLAY_NUM" ] || [ -e "/tmp/.X$DISPLAY_NUM-lock" ]; do DISPLAY_NUM=$((DISPLAY_NUM + 1)); done
  Xvfb ":$DISPLAY_NUM" -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 &
  XVFB_PID=$!
  export DISPLAY=":$DISPLAY_NUM"
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$DISPLAY_NUM" ] && break; sleep 0.1; done
  echo "No display found: the kiosk runs on a virtual screen (Xvfb $DISPLAY)."
  echo "  To see it:   make screenshot-live   (writes $SHOT), then open the PNG."
fi
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-xcb}"
# Real printing: a private cupsd on a loopback port with a cups-pdf queue "Borne-PDF" (the default
# destination, which printer = "auto" follows); what the kiosk prints lands in .run/cups-pdf/.
# cups-pdf runs only under a cupsd started as root; otherwise the kiosk says there is no printer.
if [ -z "${CUPS_SERVER:-}" ] && [ "$(id -u)" = 0 ] && command -v cupsd >/dev/null; then
  rm -f .run/cups-server
  .venv/bin/python -m tests.devicekit --queue Borne-PDF --output "$PWD/.run/cups-pdf" \
    --ready-file "$PWD/.run/cups-server" > "$PWD/.run/cups.log" 2>&1 &
  CUPS_PID=$!
  for _ in $(seq 100); do [ -s .run/cups-server ] && break; sleep 0.1; done
  if [ -s .run/cups-server ]; then
    export CUPS_SERVER="$(cat .run/cups-server)"
    echo "Printer: CUPS queue Borne-PDF on $CUPS_SERVER; printed documents land in .run/cups-pdf/"
  else
    echo "Could not start the local cupsd: see .run/cups.log (the kiosk runs without a printer)."
  fi
elif [ -z "${CUPS_SERVER:-}" ]; then
  echo "No local printer: the private cupsd needs root (cups-pdf). Printing will say there is no printer."
fi
# The ticket printer: a loopback ESC/POS capture on port 9190, where the sample configuration's
# [devices.ticket] points; each ticket lands in .run/tickets/ as raw bytes and as readable text.
.venv/bin/python -m tests.escposkit --port 9190 --output "$PWD/.run/tickets" > "$PWD/.run/tickets.log" 2>&1 &
TICKETS_PID=$!
echo "Ticket printer: ESC/POS capture on 127.0.0.1:9190; tickets land in .run/tickets/ (ticket-NNNN.txt)"
# The scanner: SANE's test backend in a private configuration (.run/sane/), which scanner = "auto"
# finds; set SANE_CONFIG_DIR to use this machine's own scanners instead.
if [ -z "${SANE_CONFIG_DIR:-}" ]; then
  export SANE_CONFIG_DIR="$(.venv/bin/python -m tests.sanekit "$PWD/.run/sane")"
  echo "Scanner: SANE test backend (test:0, a colour pattern); configuration in .run/sane/"
fi
# The federation server (plain http on loopback: --insecure-cookies), and this terminal enrolled to it.
.venv/bin/kiosk-federation serve --port "$FED_PORT" --insecure-cookies > "$PWD/.run/federation.log" 2>&1 &
FED_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$FED_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
.venv/bin/python tools/demo_federation.py "http://127.0.0.1:$FED_PORT" "$KIOSK_DATA_DIR" "$PWD/.run/federation-admin.txt" \
  >> "$PWD/.run/federation.log" 2>&1 || echo "Could not enrol with the local federation server: see .run/federation.log"
echo "Federation dashboard: http://127.0.0.1:$FED_PORT/  (user and password in .run/federation-admin.txt)"
# A staff console account to try the console with (as the federation's above): its password is
# made once and kept in .run/console-admin.txt (0600); each start sets it again on the account.
if [ -s .run/console-admin.txt ]; then
  CONSOLE_PASSWORD=$(sed -n 's/^password: //p' .run/console-admin.txt)
else
  CONSOLE_PASSWORD=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(12))')
  (umask 077; printf 'user: accueil\npassword: %s\n' "$CONSOLE_PASSWORD" > .run/console-admin.txt)
fi
printf '%s\n' "$CONSOLE_PASSWORD" | .venv/bin/kiosk console-user accueil --role admin --password-stdin \
  --config-dir "$KIOSK_CONFIG_DIR" >> "$PWD/.run/kiosk-agent.log" 2>&1 \
  || echo "Could not make the console's account: see .run/kiosk-agent.log"
# The agent: seals closed days into statistics, purges old data (see `kiosk stats report`).
.venv/bin/kiosk agent --config-dir "$KIOSK_CONFIG_DIR" > "$PWD/.run/kiosk-agent.log" 2>&1 &
AGENT_PID=$!
echo "Logs (JSON lines): $LOG   — follow them with: tail -f $LOG"
echo "Agent log: $PWD/.run/kiosk-agent.log   — usage figures: make stats"
echo "Help website (the guides, for residents at home): http://127.0.0.1:8700/aide"
echo "Staff console: https://127.0.0.1:8743/  (user and password in .run/console-admin.txt; its certificate is self-signed: accept it once)"
echo "Stop with Ctrl+C."
# The staff panel's "Redémarrer l'écran de la borne" ends the shell with status 75 (EX_TEMPFAIL):
# started again here, as kiosk-shell.service's Restart= does on the appliance (HACKING, "Staff mode").
: > "$LOG"
while true; do
  .venv/bin/kiosk shell --config-dir "$KIOSK_CONFIG_DIR" --screenshot "$SHOT" "$@" > >(tee -a "$LOG") 2>&1 &
  SHELL_PID=$!
  echo "$SHELL_PID" > .run/shell.pid
  STATUS=0
  wait "$SHELL_PID" || STATUS=$?
  [ "$STATUS" = 75 ] || exit "$STATUS"
  echo "Staff restarted the kiosk shell from its panel: starting it again."
done
