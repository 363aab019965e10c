"""The render server's keys: the access token (a user-only file) and its TLS certificate and fingerprint.

A token is made with `secrets` and kept only as its SHA-256 once the server runs, so the deployments
never hold it. A missing certificate is made self-signed with `cryptography`; clients pin its SHA-256.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from atelier.core.atomic_files import write_atomic
from atelier.core.errors import InputFileError
from atelier.core.settings import config_dir

TOKEN_BYTES = 32
CERT_DAYS = 825  # the longest validity clients such as browsers accept for a server certificate


def server_dir() -> Path:
    return config_dir() / "server"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(header: str | None, digest: str) -> bool:
    """`Authorization: Bearer <token>` against the token's SHA-256, in constant time."""
    if not header or not header.startswith("Bearer "):
        return False
    given = token_digest(header[len("Bearer ") :].strip())
    return hmac.compare_digest(given.encode("ascii"), digest.encode("ascii"))


def load_or_create_token(path: Path | None) -> tuple[str, Path, bool]:
    """(token, file, made now): the file's token, or a new one written to a file only its owner can read."""
    target = Path(path).expanduser() if path else server_dir() / "token"
    if target.exists():
        try:
            token = target.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFileError(f"The token file {target} cannot be read ({exc}).") from exc
        if len(token) < 16:
            raise InputFileError(
                f"The token in {target} is too short ({len(token)} characters; at least 16).",
                "Delete the file and Atelier makes a strong one, or write a longer token.",
            )
        if os.name == "posix" and target.stat().st_mode & 0o077:
            raise InputFileError(
                f"The token file {target} can be read by other users.", f"Run `chmod 600 {target}` and start again."
            )
        return token, target, False
    token = secrets.token_urlsafe(TOKEN_BYTES)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(target, (token + "\n").encode("ascii"), private=True)
    return token, target, True


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    fingerprint: str  # hex SHA-256 of the certificate's DER bytes
    generated: bool


def fingerprint_of(cert_path: Path) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    except (OSError, ValueError) as exc:
        raise InputFileError(f"The certificate {cert_path} cannot be read ({exc}).", "Give a PEM certificate.") from exc
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def colon_fingerprint(hexdigest: str) -> str:
    return ":".join(hexdigest[i : i + 2] for i in range(0, len(hexdigest), 2)).upper()


def tls_files(cert: str | None, key: str | None, host: str) -> TlsFiles:
    """The given certificate and key, or a self-signed pair for this machine (made once, then reused)."""
    if cert or key:
        if not (cert and key):
            raise InputFileError("Give both --tls-cert and --tls-key, or neither (a self-signed pair is made).")
        cert_path, key_path = Path(cert).expanduser(), Path(key).expanduser()
        for path in (cert_path, key_path):
            if not path.is_file():
                raise InputFileError(f"The TLS file {path} does not exist.")
        return TlsFiles(cert_path, key_path, fingerprint_of(cert_path), generated=False)
    folder = server_dir()
    cert_path, key_path = folder / "server-cert.pem", folder / "server-key.pem"
    generated = not (cert_path.is_file() and key_path.is_file())
    if generated:
        _self_signed(cert_path, key_path, host)
    return TlsFiles(cert_path, key_path, fingerprint_of(cert_path), generated)


def _self_signed(cert_path: Path, key_path: Path, host: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, socket.gethostname() or "atelier")])
    names: list[x509.GeneralName] = [x509.DNSName(socket.gethostname() or "atelier"), x509.DNSName("localhost")]
    for address in sorted({"127.0.0.1", host}):
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            if address:
                names.append(x509.DNSName(address))
            continue
        if not ip.is_unspecified:  # 0.0.0.0 means "every address", never one a client connects to
            names.append(x509.IPAddress(ip))
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_atomic(key_path, key_bytes, private=True)
    write_atomic(cert_path, certificate.public_bytes(serialization.Encoding.PEM), private=True)
