"""The first-boot setup's privileged side: what ``kiosk setup apply`` and ``kiosk setup usb``
do as root in their oneshot units (the Wi-Fi's file for iwd, the enrolment with the agent's
token, the local settings and the lock), never the shell (see :mod:`kiosk.core.setup`)."""
