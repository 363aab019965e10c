"""Content credentials (C2PA): sign finished PNG exports with a manifest and read them back."""

from __future__ import annotations

import datetime
import io
import json
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from atelier import __version__
from atelier.core.atomic_files import TEMP_MARK, atomic_output, is_temp, write_atomic
from atelier.core.errors import AtelierError
from atelier.core.settings import data_dir
from atelier.core.watermark import apply_watermark, can_mark

IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED = "trainedAlgorithmicMedia"
COMPOSITE = "compositeWithTrainedAlgorithmicMedia"
HUMAN = "digitalCreation"  # a record without an AI source type: the user's own drawing, exported
GENERATOR = "Atelier"
ASSERTION_LABEL = "org.atelier.generation"
# The record fields copied into the signed assertion: what made the picture, never a path on this disk.
RECORD_FIELDS = (
    "generator", "task", "ai", "pack", "pack_id", "mode", "seed", "prompt", "negative", "steps", "guidance",
    "strength", "control_scale", "width", "height", "sources", "date",
)  # fmt: skip
CHAIN_FILE = "signing-chain.pem"
KEY_FILE = "signing-key.pem"
ANCHOR_FILE = "trust-anchor.pem"
INFO_FILE = "credentials.json"
LOCAL_VALIDITY_DAYS = 5 * 365
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".tif": "image/tiff"}
_MIME[".tiff"] = "image/tiff"


class CredentialsError(AtelierError):
    """Signing or reading content credentials failed, or a certificate cannot be used."""

    hint = "Turn off Sign exports in Settings to export without credentials, or import a certificate that works."


@dataclass(frozen=True)
class SigningIdentity:
    chain_pem: bytes  # the signing certificate first, then its issuers
    key_pem: bytes
    alg: str  # c2pa's name: es256, es384, es512, ps256, ed25519
    anchor_pem: bytes  # the root this computer trusts when it reads its own files back ("" if none)
    origin: str  # "local" (made by Atelier) or "imported"

    def describe(self) -> dict[str, Any]:
        leaf = _certificates(self.chain_pem)[0]
        return {
            "origin": self.origin,
            "subject": leaf.subject.rfc4514_string(),
            "issuer": leaf.issuer.rfc4514_string(),
            "algorithm": self.alg,
            "not_after": leaf.not_valid_after_utc.isoformat(),
            "certificates_in_chain": len(_certificates(self.chain_pem)),
        }


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError as exc:  # an optional extra: everything else works without it
        raise CredentialsError(
            f"Content credentials need the c2pa-python package ({exc}).",
            "Install it with: pip install 'atelier[credentials]', or turn off Sign exports in Settings.",
        ) from exc
    return c2pa


def _crypto() -> Any:
    try:
        from cryptography import x509
    except ImportError as exc:
        raise CredentialsError(
            f"Content credentials need the cryptography package ({exc}).",
            "Install it with: pip install 'atelier[credentials]'.",
        ) from exc
    return x509


def credentials_dir() -> Path:
    return data_dir() / "credentials"


def _certificates(pem: bytes) -> list[Any]:
    x509 = _crypto()
    try:
        return list(x509.load_pem_x509_certificates(pem))
    except ValueError as exc:
        raise CredentialsError(f"Not a PEM certificate chain ({exc}).") from exc


def _private_folder() -> Path:
    folder = credentials_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(folder, 0o700)  # the signing key lives here: nobody else may even list it
    return folder


def _save_identity(identity: SigningIdentity) -> None:
    folder = _private_folder()
    write_atomic(folder / KEY_FILE, identity.key_pem, private=True)
    write_atomic(folder / CHAIN_FILE, identity.chain_pem, private=True)
    write_atomic(folder / ANCHOR_FILE, identity.anchor_pem, private=True)
    info = {"origin": identity.origin, "alg": identity.alg}
    write_atomic(folder / INFO_FILE, json.dumps(info).encode("utf-8"), private=True)


def load_identity() -> SigningIdentity | None:
    """The stored signing identity, or None when none has been made or imported yet."""
    folder = credentials_dir()
    try:
        info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
        return SigningIdentity(
            chain_pem=(folder / CHAIN_FILE).read_bytes(),
            key_pem=(folder / KEY_FILE).read_bytes(),
            alg=str(info["alg"]),
            anchor_pem=(folder / ANCHOR_FILE).read_bytes(),
            origin=str(info["origin"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CredentialsError(
            f"The signing credentials in {folder} cannot be read ({exc}).",
            "Import a certificate with `atelier credentials import`, or delete that folder to make a new one.",
        ) from exc


def _pem_key(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _pem_cert(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_local_identity(now: datetime.datetime | None = None) -> SigningIdentity:
    """A fresh local certificate authority and an EC P-256 signing certificate it issued.

    C2PA refuses a self-signed signing certificate, so the leaf is issued by a CA made for it. The CA's
    private key is thrown away once the leaf is signed: nothing else can ever be issued in its name."""
    x509 = _crypto()
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = now or datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=LOCAL_VALIDITY_DAYS)
    # No user or machine name: this text goes into every signed file.
    org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Atelier local signer (not verified by anyone)")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Atelier local certificate authority"), org])
    no_usage = dict.fromkeys(
        ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement", "encipher_only"), False
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, decipher_only=False, **no_usage),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Atelier exports"), org]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, decipher_only=False, **no_usage),
            critical=True,
        )
        # C2PA accepts only listed EKUs for claim signers; c2pa 0.38 refuses id-kp-documentSigning (tried), so
        # this is id-kp-emailProtection, the one the C2PA sample certificates carry.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return SigningIdentity(_pem_cert(leaf) + _pem_cert(ca), _pem_key(key), "es256", _pem_cert(ca), "local")


def signing_identity() -> SigningIdentity:
    """The identity exports are signed with: the stored one, else a local one made (and stored) now."""
    identity = load_identity()
    if identity is None:
        identity = make_local_identity()
        _save_identity(identity)
    return identity


def _algorithm(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        names = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in names:
            return names[key.curve.name]
        raise CredentialsError(
            f"The key's curve {key.curve.name} cannot sign C2PA manifests (P-256, P-384, P-521 can)."
        )
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise CredentialsError(f"A {type(key).__name__} key cannot sign C2PA manifests (EC, RSA or Ed25519 can).")


def import_identity(cert_path: str | Path, key_path: str | Path) -> SigningIdentity:
    """Check the user's certificate chain and private key together (a test signature included) and store
    copies that replace the local identity. Raises CredentialsError saying what is wrong."""
    from cryptography.hazmat.primitives import serialization

    try:
        chain_pem = Path(cert_path).expanduser().read_bytes()
        key_bytes = Path(key_path).expanduser().read_bytes()
    except OSError as exc:
        raise CredentialsError(f"Cannot read {exc.filename}: {exc.strerror}.", "Check the path.") from exc
    chain = _certificates(chain_pem)
    if not chain:
        raise CredentialsError(f"{cert_path} holds no certificate.", "Give a PEM file with your certificate chain.")
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except (ValueError, TypeError) as exc:
        raise CredentialsError(
            f"{key_path} is not an unencrypted PEM private key ({exc}).",
            "Export the key without a password, e.g. `openssl pkey -in key.pem -out plain.pem`.",
        ) from exc
    leaf = chain[0]
    if leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise CredentialsError(
            "The private key does not belong to the first certificate in the chain.",
            "Put your signing certificate first in the PEM file and give its own key.",
        )
    if leaf.issuer == leaf.subject:
        raise CredentialsError(
            "The signing certificate is self-signed, which C2PA refuses.",
            "Use a certificate issued by a certificate authority (give the chain: yours first, then the CA's).",
        )
    now = datetime.datetime.now(datetime.UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise CredentialsError(
            f"The certificate is valid only from {leaf.not_valid_before_utc} to {leaf.not_valid_after_utc}."
        )
    root = chain[-1]
    anchor = _pem_cert(root) if len(chain) > 1 and root.issuer == root.subject else b""
    # Send the chain without its root (C2PA wants the signer up to the last intermediate).
    sent = b"".join(_pem_cert(c) for c in chain)
    identity = SigningIdentity(sent, _pem_key(key), _algorithm(key), anchor, "imported")
    _test_signature(identity)
    _save_identity(identity)
    return identity


def _test_signature(identity: SigningIdentity) -> None:
    """Sign a tiny picture in memory, so a certificate the library refuses is refused at import, not at export."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (128, 128, 128)).save(buffer, format="PNG")
    buffer.seek(0)
    try:
        _sign_stream(identity, _manifest("test.png", {}, 0), [], buffer, io.BytesIO())
    except CredentialsError as exc:
        raise CredentialsError(
            f"The C2PA library refuses this certificate: {exc}",
            "C2PA wants a certificate issued by a CA with Key Usage digitalSignature, an Extended Key Usage such "
            "as emailProtection, and Subject and Authority Key Identifiers; ask your CA for one.",
        ) from exc


def _reader_context(c2pa: Any, anchor_pem: bytes) -> Any:
    settings: dict[str, Any] = {"verify": {"ocsp_fetch": False, "remote_manifest_fetch": False}}
    if anchor_pem:
        settings["trust"] = {"user_anchors": anchor_pem.decode("ascii")}
    return c2pa.Context(settings=c2pa.Settings.from_dict(settings))


def _source_type(record: dict[str, Any]) -> str:
    """The record's IPTC digital source type ("ai", as provenance.build_record sets it), else the user's own."""
    ai = str(record.get("ai") or "").removeprefix(IPTC_SOURCE_TYPES)
    return ai if re.fullmatch(r"[A-Za-z]+", ai) else HUMAN


def _manifest(title: str, record: dict[str, Any], ingredients: int) -> dict[str, Any]:
    agent = {"name": GENERATOR, "version": str(record.get("app_version") or __version__)}
    source = IPTC_SOURCE_TYPES + _source_type(record)
    task = str(record.get("task") or "")
    if ingredients:
        # The first ingredient is the picture the result was made over (the parent), the others were placed in it.
        actions: list[dict[str, Any]] = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["ingredient-0"]}}]
        actions += [
            {"action": "c2pa.placed", "parameters": {"ingredientIds": [f"ingredient-{i}"]}}
            for i in range(1, ingredients)
        ]
        actions.append({"action": "c2pa.edited", "digitalSourceType": source, "softwareAgent": agent})
    else:
        actions = [{"action": "c2pa.created", "digitalSourceType": source, "softwareAgent": agent}]
    if task:
        actions[-1]["parameters"] = {"description": f"Atelier {task}"}
    assertions: list[dict[str, Any]] = [{"label": "c2pa.actions.v2", "data": {"actions": actions}}]
    generation = {key: record[key] for key in RECORD_FIELDS if record.get(key) not in (None, "")}
    if generation:
        assertions.append({"label": ASSERTION_LABEL, "data": json.loads(json.dumps(generation, default=str))})
    return {
        "claim_generator_info": [{"name": GENERATOR, "version": __version__}],
        "title": title,
        "format": "image/png",
        "assertions": assertions,
    }


IngredientSource = Path | str | np.ndarray


def _ingredient_stream(source: IngredientSource, index: int) -> tuple[str, str, io.BytesIO]:
    """(title, mime type, bytes) of one ingredient; an array is encoded as a PNG in memory."""
    if isinstance(source, np.ndarray):
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(source).save(buffer, format="PNG")
        buffer.seek(0)
        return ("source picture.png" if index == 0 else f"picture {index + 1}.png"), "image/png", buffer
    path = Path(source)
    mime = _MIME.get(path.suffix.lower())
    if mime is None:
        raise CredentialsError(f"Cannot add {path.name} as an ingredient: only PNG, JPEG, WebP and TIFF can be.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CredentialsError(f"Cannot read the source picture {path.name}: {exc.strerror}.") from exc
    return path.name, mime, io.BytesIO(data)  # the name only: metadata never holds a path on this disk


def _sign_stream(
    identity: SigningIdentity,
    manifest: dict[str, Any],
    ingredients: Sequence[IngredientSource],
    source: Any,
    dest: Any,
) -> None:
    c2pa = _c2pa()
    try:
        # No timestamp authority (ta_url None): signing stays offline. A verifier then checks the certificate
        # against the time it verifies, so the local certificate is made valid for five years.
        info = c2pa.C2paSignerInfo(identity.alg, identity.chain_pem, identity.key_pem, None)
        with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder:
            for index, item in enumerate(ingredients):
                title, mime, stream = _ingredient_stream(item, index)
                relationship = "parentOf" if index == 0 else "componentOf"
                builder.add_ingredient(
                    {"title": title, "relationship": relationship, "label": f"ingredient-{index}"}, mime, stream
                )
            builder.sign(signer, "image/png", source, dest)
    except c2pa.C2paError as exc:
        raise CredentialsError(f"Signing failed: {exc}") from exc


def _title(path: Path) -> str:
    """The file's name as the user sees it: save_png signs its temporary file, named ".NAME.<pid>-<id>" + mark."""
    if is_temp(path):
        match = re.fullmatch(r"\.(.+)\.\d+-[0-9a-f]{8}" + re.escape(TEMP_MARK), path.name)
        if match:
            return match.group(1)
    return path.name


def sign_png(
    path: str | Path,
    record: dict[str, Any],
    ingredients: Sequence[IngredientSource] = (),
    title: str | None = None,
) -> None:
    """Sign the finished PNG at `path` in place (atomically: on any error the unsigned file stays as it was).

    Call it last: the signature covers every byte, so any later change (even to text chunks) breaks it.
    `record` is the file's Atelier record (task, pack, seed, "ai" source type ...); `ingredients` are the
    pictures the result was made over (img2img, ControlNet, inpaint, colorize sources), parent first.
    `title` defaults to the file's name (the target's, when `path` is save_png's temporary file)."""
    target = Path(path)
    identity = signing_identity()
    manifest = _manifest(title or _title(target), record, len(ingredients))
    try:
        with open(target, "rb") as source, atomic_output(target) as tmp, open(tmp, "w+b") as dest:
            _sign_stream(identity, manifest, ingredients, source, dest)
    except OSError as exc:
        raise CredentialsError(f"Cannot sign {target.name}: {exc.strerror or exc}.") from exc


@dataclass(frozen=True)
class ExportHooks:
    """What an export passes to provenance.save_png under the user's Settings (see `export_hooks`)."""

    watermark: Callable[[np.ndarray], np.ndarray] | None = None
    sign: Callable[[Path, dict[str, Any]], None] | None = None
    mark_id: str = ""

    def params(self, params: dict[str, Any] | None, shape: tuple[int, ...]) -> dict[str, Any] | None:
        """`params` plus the watermark's id when this picture gets one (so the record names the mark)."""
        if not params or not self.mark_id or not can_mark(shape):
            return params
        return {**params, "watermark": self.mark_id}


def export_hooks(settings: Any, ingredients: Sequence[IngredientSource] = ()) -> ExportHooks:
    """Hooks for one export: the invisible mark when Settings' watermark_exports is on (a fresh 8-hex-digit
    id), content credentials when sign_exports is on (with `ingredients`, the sources the result was made
    over). Both off (the default): no hooks."""
    mark_id = secrets.token_hex(4) if getattr(settings, "watermark_exports", False) else ""
    return ExportHooks(
        watermark=(lambda pixels: apply_watermark(pixels, mark_id)) if mark_id else None,
        sign=(lambda tmp, record: sign_png(tmp, record, ingredients))
        if getattr(settings, "sign_exports", False)
        else None,
        mark_id=mark_id,
    )


def has_manifest_chunk(path: str | Path) -> bool:
    """Whether a PNG carries a C2PA chunk (caBX), found without the library by walking the chunks."""
    try:
        with open(path, "rb") as handle:
            if handle.read(8) != b"\x89PNG\r\n\x1a\n":
                return False
            while header := handle.read(8):
                if len(header) < 8:
                    return False
                length, kind = int.from_bytes(header[:4], "big"), header[4:]
                if kind == b"caBX":
                    return True
                if kind == b"IEND":
                    return False
                handle.seek(length + 4, os.SEEK_CUR)
    except OSError:
        return False
    return False


def read_credentials(path: str | Path) -> dict[str, Any] | None:
    """What a file's content credentials say and whether they hold, or None when it has none.

    `state` is the library's: "Trusted" (valid and signed under a root this computer trusts: its own
    local authority or an imported certificate's root), "Valid" (signature and hashes hold, signer not
    known here), "Invalid" (the file was changed after signing, or the signature is broken)."""
    target = Path(path)
    if target.suffix.lower() not in _MIME:
        return None  # MIDI, WAV, text and palette files carry Atelier's own records, not C2PA
    if target.suffix.lower() == ".png" and not has_manifest_chunk(target):
        return None
    try:
        import c2pa
    except ImportError:
        if has_manifest_chunk(target):
            return {"state": "not checked", "valid": None, "note": "install atelier[credentials] to check them"}
        return None
    identity = load_identity()
    try:
        with c2pa.Reader(target, context=_reader_context(c2pa, identity.anchor_pem if identity else b"")) as reader:
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
            manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in str(exc) or "not found" in str(exc).lower():
            return None
        return {"state": "Invalid", "valid": False, "failures": [str(exc)]}
    failures = [item.get("code", "") for item in results.get("activeManifest", {}).get("failure", [])]
    actions: list[dict[str, Any]] = []
    generation: dict[str, Any] = {}
    for assertion in manifest.get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            actions = assertion.get("data", {}).get("actions", [])
        elif assertion.get("label") == ASSERTION_LABEL:
            generation = assertion.get("data", {})
    source_types = [a["digitalSourceType"] for a in actions if a.get("digitalSourceType")]
    signature = manifest.get("signature_info", {})
    generators = manifest.get("claim_generator_info") or [{}]
    return {
        "state": state,
        "valid": state in ("Valid", "Trusted"),
        "trusted": state == "Trusted",
        "signer": signature.get("common_name"),
        "issuer": signature.get("issuer"),
        "generator": " ".join(str(generators[0].get(k, "")) for k in ("name", "version")).strip() or None,
        "actions": [a.get("action") for a in actions],
        "digital_source_type": source_types[-1].removeprefix(IPTC_SOURCE_TYPES) if source_types else None,
        "ingredients": [i.get("title") for i in manifest.get("ingredients", [])],
        "generation": generation,
        "failures": failures,
    }
