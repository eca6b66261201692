"""The kiosk shell: the only package that imports PySide6.

It translates Qt events into core events (session, policy) and core states into screens.
"""
