"""The console's TLS certificate: configured files, or one the agent makes itself once.

Without ``[console] cert_file``/``key_file`` the agent makes a self-signed certificate at its
first start under ``<data_dir>/console/`` (the key readable by the agent alone) and reuses it at
every start until it nears its end, when it makes a new one. Staff's browsers show a warning for
a self-signed certificate; they check the SHA-256 fingerprint the agent logs (and ``kiosk
console-user`` prints) against the one the browser shows, once, and accept it.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.core.setup import write_private

log = logging.getLogger(__name__)

CERT_NAME, KEY_NAME = "console-cert.pem", "console-key.pem"


def own_directory(data_dir: Path) -> Path:
    """Where the agent keeps the certificate it makes itself (when none is configured)."""
    return data_dir / "console"


VALID_DAYS = 825
"""The longest life Apple's devices accept for a server certificate (a tablet at the desk)."""
RENEW_BEFORE_DAYS = 30


@dataclass(frozen=True)
class ConsoleCertificate:
    cert_file: Path
    key_file: Path
    fingerprint: str  # SHA-256 of the DER certificate, "AB:CD:…" as browsers show it
    created: bool  # made at this start


def fingerprint(cert: x509.Certificate) -> str:
    return ":".join(f"{byte:02X}" for byte in cert.fingerprint(hashes.SHA256()))


def load_configured(cert_file: Path, key_file: Path) -> ConsoleCertificate:
    """A certificate the centre gave; raises ValueError naming the file when it is not one."""
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    except (OSError, ValueError) as error:
        raise ValueError(f"[console] cert_file {cert_file}: not a readable PEM certificate ({error})") from error
    if not key_file.is_file():
        raise ValueError(f"[console] key_file {key_file}: no such file")
    return ConsoleCertificate(cert_file, key_file, fingerprint(cert), created=False)


def ensure_self_signed(directory: Path, host: str, now: datetime | None = None) -> ConsoleCertificate:
    """The certificate in ``directory``, made (or made again, near its end or unreadable) as needed."""
    now = now or datetime.now(UTC)
    cert_file, key_file = directory / CERT_NAME, directory / KEY_NAME
    existing = _usable(cert_file, key_file, now)
    if existing is not None:
        return ConsoleCertificate(cert_file, key_file, fingerprint(existing), created=False)
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _build(key, host, now)
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(key_file, pem_key.decode("ascii"))
    write_private(cert_file, cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), mode=0o644)
    log.info("console.certificate_created", extra={"file": str(cert_file), "fingerprint": fingerprint(cert)})
    return ConsoleCertificate(cert_file, key_file, fingerprint(cert), created=True)


def _usable(cert_file: Path, key_file: Path, now: datetime) -> x509.Certificate | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if cert.public_key() != key.public_key():
        return None
    if cert.not_valid_after_utc - now < timedelta(days=RENEW_BEFORE_DAYS):
        return None
    return cert


def _names(host: str) -> list[x509.GeneralName]:
    """The names the certificate is valid for: loopback, this machine's name, the listen address."""
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    hostname = socket.gethostname()
    if hostname and hostname != "localhost":
        names.append(x509.DNSName(hostname))
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host and host not in {"localhost", hostname}:
            names.append(x509.DNSName(host))
    else:
        if not address.is_unspecified and str(address) != "127.0.0.1":
            names.append(x509.IPAddress(address))
    return names


def _build(key: ec.EllipticCurvePrivateKey, host: str, now: datetime) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Borne — console du personnel"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Borne"),
        ]
    )
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(_names(host)), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
