"""Borne: a welcoming, locked-down self-service terminal for French social centres."""

import os

__version__ = "0.1.0"

# The kiosk uses no pydantic plugin: skip their discovery (a scan of every installed package's
# entry points, 13-20 ms of each start) before the first model is built. An operator's value wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
