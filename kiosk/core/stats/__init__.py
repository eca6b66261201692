"""Usage statistics: events recorded by the shell, daily aggregates, suppression, retention.

Modules: ``events`` (the closed vocabulary), ``recorder`` (the one call the shell makes),
``aggregate`` (closed days → counts), ``suppression`` (small cells), ``period`` (sums over
several days), ``retention`` (purge), ``report`` (``kiosk stats report``).
"""
