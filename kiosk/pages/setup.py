"""The first-boot setup page, for the technician: the centre's name, the Wi-Fi, the enrolment
code, a printer check, then "Terminer". Shown instead of the welcome screen while the setup is
required and not done (``kiosk.shell.setuppanel``); its context is the shell's last view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk.core.setup import USB_FILE, SetupView
from kiosk.pages.actions import Action, action_url
from kiosk.pages.registry import PAGES, PageRequest, PageServices


@PAGES.page("setup")
def setup_page(request: PageRequest, services: PageServices) -> Mapping[str, Any]:
    return setup_context(services.setup.view if services.setup is not None else SetupView())


def setup_context(view: SetupView) -> dict[str, Any]:
    return {
        "view": view,
        "values": view.values,
        "errors": view.field_problems(),
        "others": view.other_problems(),
        "form_url": action_url(Action.SETUP),
        "usb_file": USB_FILE,
    }
