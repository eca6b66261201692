"""The agent's senders: e-mail through the centre's SMTP server (smtplib), SMS through an HTTP
gateway and the staff's webhook (requests).

Adapters only: what to send and when is :mod:`kiosk.core.mediation.reminders` and
:mod:`.alerts`'s, and whether it was sent :mod:`kiosk.core.mediation.notices`'s. Every failure
is a :class:`DeliveryError` in words for staff's logs (never an address or the message's text):
``unreachable`` when the server did not answer, ``permanent`` when trying again cannot help.
Secrets are read from their files at each send, so that fixing one needs no restart.
"""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import requests

from kiosk.core.mediation.notices import DeliveryError
from kiosk.core.mediation_config import SmsSettings, SmtpSettings

MESSAGE_ID_DOMAIN = "borne.invalid"
"""The Message-ID's right side: a notice's key makes its left side, the same on every attempt."""


def read_secret(path: Path | None, what: str) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise DeliveryError(f"cannot read the {what} file {path}: {error.strerror}") from error


def message_id(key: str) -> str:
    return f"<{key.replace(':', '.')}@{MESSAGE_ID_DOMAIN}>"


class SmtpSender:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=context)
        server = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        if s.security == "starttls":
            try:
                server.starttls(context=context)
            except BaseException:
                server.close()
                raise
        return server

    def send(self, to: str, subject: str, text: str, key: str) -> None:
        """One plain-text e-mail; its Message-ID comes from ``key``."""
        s = self.settings
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.from_address, to, subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id(key)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        password = read_secret(s.password_file, "SMTP password")
        try:
            with self._connect() as server:
                if s.username:
                    server.login(s.username, password)
                server.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise DeliveryError(f"SMTP refused the address ({codes})", permanent=all(c >= 500 for c in codes)) from None
        except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected) as error:
            raise DeliveryError(f"SMTP server {s.host}:{s.port} unreachable: {error}", unreachable=True) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(f"SMTP answered {error.smtp_code}: {_said(error.smtp_error)}") from None
        except smtplib.SMTPException as error:
            raise DeliveryError(f"SMTP: {error}") from None
        except OSError as error:  # refused, no route, TLS, or no answer in time (socket.timeout)
            reason = "no answer in time" if isinstance(error, socket.timeout) else str(error) or type(error).__name__
            raise DeliveryError(f"SMTP server {s.host}:{s.port} unreachable: {reason}", unreachable=True) from None


def _said(text: bytes | str) -> str:
    return (text.decode(errors="replace") if isinstance(text, bytes) else text)[:200]


def _escape(value: str, content_type: str) -> str:
    if "json" in content_type:
        return json.dumps(value, ensure_ascii=False)[1:-1]
    if "x-www-form-urlencoded" in content_type:
        return quote_plus(value)
    return value


def fill(template: str, values: dict[str, str], escape: Any) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", escape(value))
    return template


def _answered(response: requests.Response, what: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    permanent = 400 <= status < 500 and status not in (408, 425, 429)
    raise DeliveryError(f"{what} answered HTTP {status}: {response.text[:200]!r}", permanent=permanent)


def _request(method: str, url: str, what: str, timeout_s: float, **kwargs: Any) -> None:
    try:
        response = requests.request(method, url, timeout=timeout_s, allow_redirects=False, **kwargs)
    except requests.Timeout:
        raise DeliveryError(f"{what} gave no answer within {timeout_s:g} s", unreachable=True) from None
    except requests.RequestException as error:
        raise DeliveryError(f"{what} unreachable: {type(error).__name__}", unreachable=True) from None
    with response:
        _answered(response, what)


class SmsSender:
    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    def send(self, phone: str, text: str, key: str) -> None:
        """One SMS through the gateway; ``{id}`` is ``key`` (the same on every attempt)."""
        s = self.settings
        token = read_secret(s.token_file, "SMS gateway token")
        values = {"phone": phone, "phone_digits": phone.lstrip("+"), "message": text, "id": key, "token": token}
        url = fill(s.url, values, lambda v: quote(v, safe=""))
        headers = {}
        if token and s.token_header:
            headers[s.token_header] = token
        body = None
        if s.method != "GET":
            body = fill(s.body, values, lambda v: _escape(v, s.content_type)).encode("utf-8")
            headers["Content-Type"] = s.content_type
        _request(s.method, url, "the SMS gateway", s.timeout_s, data=body, headers=headers)


class WebhookSender:
    def __init__(self, url: str, url_file: Path | None, timeout_s: float) -> None:
        self.url, self.url_file, self.timeout_s = url, url_file, timeout_s

    def send(self, payload: dict[str, Any], key: str) -> None:
        """POST ``payload`` as JSON; the ``Idempotency-Key`` header is ``key``."""
        url = self.url or read_secret(self.url_file, "webhook address")
        if not url.startswith(("https://", "http://")):
            raise DeliveryError("the webhook address file does not hold an address (https://…)")
        _request("POST", url, "the alert webhook", self.timeout_s, json=payload, headers={"Idempotency-Key": key})
