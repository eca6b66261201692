"""The staff console, served by the agent on the LAN over HTTPS.

* :mod:`.certificate` the TLS certificate: configured, or self-signed at the first start
* :mod:`.accounts`    staff/admin accounts (argon2), logins, the audit log (no FastAPI: the CLI uses it)
* :mod:`.security`    failed-login throttling, security headers
* :mod:`.context`     what the parts share: the database behind a lock, templates, navigation
* :mod:`.app`         the FastAPI app: the guard every route goes through, login, static files
* :mod:`.live`        the calls section: today's calls live (server-sent events), presence
* :mod:`.admin`       admin sections: accounts, audit log
* :mod:`.serve`       building it, and serving it beside the help website in one process

Importing this package imports nothing else: ``kiosk console-user`` stays light.
"""
