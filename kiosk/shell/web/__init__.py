"""Everything QtWebEngine: the per-session profile, the page policy, the kiosk: scheme."""
