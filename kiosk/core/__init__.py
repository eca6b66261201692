"""The pure core of Borne: no Qt, no device library, no network.

Everything here is importable and testable anywhere; the shell, the agent and the
device adapters depend on it, never the other way round (checked by import-linter).
"""
