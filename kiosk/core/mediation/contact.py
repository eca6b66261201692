"""What a resident tells us to be called or reached: checked, tidied, or refused in plain French.

Phone numbers are read with ``phonenumbers`` (French numbers by default, international ones with
their ``+``), e-mail addresses with ``email-validator`` (syntax only: the terminal asks no DNS).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# phonenumbers and email-validator are imported where they are used: the shell's mediator desk
# needs only the first-name check, and would otherwise load their data at start.

FIRST_NAME_MAX = 30
NAME_MAX = 80
_NAME = re.compile(r"[^\W\d_]+(?:[ '’.-]+[^\W\d_]+)*[.]?")


class ContactError(ValueError):
    """Refused input; ``resident_message`` says in French what to change."""

    def __init__(self, field: str, resident_message: str) -> None:
        super().__init__(f"{field}: {resident_message}")
        self.field = field
        self.resident_message = resident_message


def clean_name(value: str, *, field: str = "name", limit: int = NAME_MAX) -> str:
    """A person's name: letters with spaces, hyphens and apostrophes; spaces tidied."""
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if not text:
        raise ContactError(field, "Écrivez votre nom.")
    if len(text) > limit:
        raise ContactError(field, f"Ce nom est trop long ({limit} lettres au plus).")
    if not _NAME.fullmatch(text):
        raise ContactError(field, "Écrivez seulement des lettres (les tirets et apostrophes sont acceptés).")
    return text


def clean_first_name(value: str | None) -> str | None:
    """The optional first name to be called by; empty means none."""
    if value is None or not value.strip():
        return None
    return clean_name(value, field="first_name", limit=FIRST_NAME_MAX)


def clean_phone(value: str) -> str:
    """A phone number in E.164 form (``+33612345678``)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ContactError(
            "phone", "Ce numéro de téléphone ne semble pas complet. Vérifiez-le, par exemple 06 12 34 56 78."
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def load_checkers() -> None:
    """Import the phone and e-mail checkers and French numbers' data now (a server does it as it
    starts: the first resident to confirm would otherwise wait for it, and every other with them)."""
    import email_validator  # noqa: F401
    import phonenumbers

    phonenumbers.is_valid_number(phonenumbers.parse("01 23 45 67 89", "FR"))


def clean_email(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ContactError(
            "email", "Cette adresse e-mail ne semble pas juste. Vérifiez-la, par exemple marie@exemple.fr."
        ) from None


def phone_display(e164: str) -> str:
    """``06 12 34 56 78`` for a French number, the international form otherwise."""
    import phonenumbers

    number = phonenumbers.parse(e164, "FR")
    kind = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 33
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, kind)


@dataclass(frozen=True)
class Contact:
    """A booking's contact: a name, and a phone number or an e-mail address (or both)."""

    name: str
    phone: str | None = None
    email: str | None = None

    @classmethod
    def checked(cls, name: str, phone: str | None = None, email: str | None = None) -> Contact:
        """Raises :class:`ContactError` (the first problem found)."""
        clean = clean_name(name)
        phone = clean_phone(phone) if phone and phone.strip() else None
        email = clean_email(email) if email and email.strip() else None
        if phone is None and email is None:
            raise ContactError("phone", "Donnez un numéro de téléphone ou une adresse e-mail pour vous prévenir.")
        return cls(clean, phone, email)
