"""Borne: a welcoming, locked-down self-service terminal for French social centres."""

__version__ = "0.1.0"
