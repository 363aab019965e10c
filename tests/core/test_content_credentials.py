"""Content credentials: real PNGs signed with a real local CA, validated with c2pa's Reader, then tampered."""

from __future__ import annotations

import datetime
import json
import os
import stat
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

c2pa = pytest.importorskip("c2pa")

from atelier.core import content_credentials as cc  # noqa: E402
from atelier.core.errors import AtelierError  # noqa: E402


def picture(seed: int = 1, size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((size, size, 3)) * 255).astype(np.uint8)


def write_png(path: Path, pixels: np.ndarray) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a lighthouse\nSteps: 4, Seed: 7")
    Image.fromarray(pixels).save(path, format="PNG", pnginfo=info)
    return path


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        out.append((data[at + 4 : at + 8], data[at + 8 : at + 8 + length]))
        at += 12 + length
    return out


def png_from_chunks(parts: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(
        struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        for kind, payload in parts
    )
    return b"\x89PNG\r\n\x1a\n" + body


def change_one_pixel(path: Path, out: Path) -> None:
    """A well-formed PNG with one pixel value changed and every other chunk (the C2PA one too) kept."""
    parts = chunks(path.read_bytes())
    with Image.open(path) as image:
        pixels = np.array(image.convert("RGB"))
    pixels[0, 1, 1] ^= 0x40
    raw = b"".join(b"\x00" + row.tobytes() for row in pixels)  # filter type 0 (None) on every row
    first = next(i for i, (k, _) in enumerate(parts) if k == b"IDAT")
    kept = [(k, p) for k, p in parts if k != b"IDAT"]
    kept.insert(first, (b"IDAT", zlib.compress(bytes(raw))))
    out.write_bytes(png_from_chunks(kept))


def reader_state(path: Path, anchor: bytes = b"") -> tuple[str, dict]:
    settings: dict = {"verify": {"ocsp_fetch": False}}
    if anchor:
        settings["trust"] = {"user_anchors": anchor.decode()}
    context = c2pa.Context(settings=c2pa.Settings.from_dict(settings))
    with c2pa.Reader(path, context=context) as reader:
        return reader.get_validation_state(), reader.get_active_manifest()


def test_signed_export_validates_and_names_what_made_it(isolated_dirs: Path) -> None:
    path = write_png(isolated_dirs / "lighthouse.png", picture())
    record = {"task": "sketch", "ai": "trainedAlgorithmicMedia", "seed": 7, "pack": {"id": "tiny-sd"}}
    cc.sign_png(path, record, [])

    # The library alone (no trust anchors): signature and hashes hold, the local signer is just unknown.
    state, manifest = reader_state(path)
    assert state == "Valid"
    actions = next(a for a in manifest["assertions"] if a["label"] == "c2pa.actions.v2")["data"]["actions"]
    assert [a["action"] for a in actions] == ["c2pa.created"]
    assert actions[0]["digitalSourceType"] == cc.IPTC_SOURCE_TYPES + "trainedAlgorithmicMedia"
    assert actions[0]["softwareAgent"]["name"] == "Atelier"
    generation = next(a for a in manifest["assertions"] if a["label"] == cc.ASSERTION_LABEL)["data"]
    assert generation == record
    # The picture and Atelier's own text chunk are still what they were.
    with Image.open(path) as image:
        assert np.array_equal(np.asarray(image.convert("RGB")), picture())
        assert image.info["parameters"].startswith("a lighthouse")

    # With this computer's local CA as anchor the same file is trusted; read_credentials says so.
    identity = cc.load_identity()
    assert identity is not None and identity.origin == "local"
    assert reader_state(path, identity.anchor_pem)[0] == "Trusted"
    read = cc.read_credentials(path)
    assert read is not None
    assert (read["state"], read["valid"], read["actions"]) == ("Trusted", True, ["c2pa.created"])
    assert read["digital_source_type"] == "trainedAlgorithmicMedia"


def test_pixels_changed_after_signing_fail_validation(isolated_dirs: Path) -> None:
    path = write_png(isolated_dirs / "signed.png", picture(2))
    cc.sign_png(path, {"task": "colorize"}, [])
    tampered = isolated_dirs / "tampered.png"
    change_one_pixel(path, tampered)
    with Image.open(tampered) as image:  # a valid picture, one value different
        difference = np.asarray(image.convert("RGB")).astype(int) - picture(2)
    assert np.count_nonzero(difference) == 1

    assert reader_state(path)[0] == "Valid"
    assert reader_state(tampered)[0] == "Invalid"
    read = cc.read_credentials(tampered)
    assert read is not None and read["valid"] is False and read["state"] == "Invalid"
    assert any("dataHash" in code for code in read["failures"])


def test_img2img_sources_are_ingredients_by_name_only(isolated_dirs: Path) -> None:
    drawing = write_png(isolated_dirs / "my drawing.png", picture(3))
    path = write_png(isolated_dirs / "result.png", picture(4))
    cc.sign_png(path, {"task": "sketch", "ai": "compositeWithTrainedAlgorithmicMedia"}, [drawing, picture(5, 32)])
    state, manifest = reader_state(path)
    assert state == "Valid"
    actions = next(a for a in manifest["assertions"] if a["label"] == "c2pa.actions.v2")["data"]["actions"]
    assert [a["action"] for a in actions] == ["c2pa.opened", "c2pa.placed", "c2pa.edited"]
    assert actions[-1]["digitalSourceType"].endswith("/compositeWithTrainedAlgorithmicMedia")
    ingredients = manifest["ingredients"]
    assert [(i["title"], i["relationship"]) for i in ingredients] == [
        ("my drawing.png", "parentOf"),
        ("picture 2.png", "componentOf"),  # an array has no name: it is numbered
    ]
    with c2pa.Reader(path) as reader:
        assert str(isolated_dirs) not in reader.json()  # metadata never holds a path on this disk


def test_credentials_are_made_once_and_kept_private(isolated_dirs: Path) -> None:
    first = write_png(isolated_dirs / "a.png", picture(6))
    second = write_png(isolated_dirs / "b.png", picture(7))
    cc.sign_png(first, {}, [])
    made = cc.load_identity()
    cc.sign_png(second, {}, [])
    assert cc.load_identity() == made  # the same certificate signs every export
    folder = cc.credentials_dir()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for child in folder.iterdir():
        assert stat.S_IMODE(child.stat().st_mode) == 0o600, child.name
    assert made is not None
    leaf, ca = cc._certificates(made.chain_pem)
    assert leaf.issuer == ca.subject and leaf.issuer != leaf.subject  # issued by a CA, not self-signed
    assert leaf.public_key().curve.name == "secp256r1"


def test_failed_signing_leaves_the_export_untouched(isolated_dirs: Path) -> None:
    path = write_png(isolated_dirs / "keep.png", picture(8))
    before = path.read_bytes()
    with pytest.raises(AtelierError, match=r"Cannot read the source picture gone\.png"):
        cc.sign_png(path, {}, [isolated_dirs / "gone.png"])
    assert path.read_bytes() == before
    assert sorted(p.name for p in isolated_dirs.iterdir() if p.is_file()) == ["keep.png"]


def test_signed_through_save_png_hooks_with_watermark(isolated_dirs: Path) -> None:
    """How exports use it: provenance.save_png marks the pixels, writes the records, then signs its
    temporary file before renaming it; the manifest's title is the export's own name."""
    from atelier.core import watermark
    from atelier.core.provenance import read_parameters, save_png

    drawing = picture(10, 300)
    params = {"app_version": "0.1.0", "mode": "img2img", "prompt": "a boat", "seed": 3, "pack_id": "tiny-sd"}
    target = isolated_dirs / "boat.png"
    record = save_png(
        target,
        picture(11, 300),
        params,
        watermark=lambda pixels: watermark.apply_watermark(pixels, "0badc0de"),
        sign=lambda tmp, rec: cc.sign_png(tmp, rec, [drawing]),
    )
    assert record is not None and read_parameters(target) == record
    read = cc.read_credentials(target)
    assert read is not None and read["valid"] and read["actions"][-1] == "c2pa.edited"
    assert read["digital_source_type"] == record["ai"] == "compositeWithTrainedAlgorithmicMedia"
    with c2pa.Reader(target) as reader:
        assert reader.get_active_manifest()["title"] == "boat.png"
    with Image.open(target) as image:
        assert watermark.detect_watermark(np.asarray(image)) == "0badc0de"
    assert sorted(p.name for p in isolated_dirs.iterdir() if p.is_file()) == ["boat.png"]


def test_export_hooks_follow_the_settings(isolated_dirs: Path) -> None:
    from atelier.core import watermark
    from atelier.core.provenance import read_parameters, save_png
    from atelier.core.settings import Settings

    off = cc.export_hooks(Settings())
    assert (off.watermark, off.sign, off.mark_id) == (None, None, "")
    params = {"app_version": "0.1.0", "mode": "txt2img", "prompt": "a kite", "seed": 1}
    hooks = cc.export_hooks(Settings(sign_exports=True, watermark_exports=True))
    big, small = picture(13, 320), picture(14, 200)
    save_png(
        isolated_dirs / "big.png", big, hooks.params(params, big.shape), watermark=hooks.watermark, sign=hooks.sign
    )
    save_png(
        isolated_dirs / "small.png",
        small,
        hooks.params(params, small.shape),
        watermark=hooks.watermark,
        sign=hooks.sign,
    )
    assert read_parameters(isolated_dirs / "big.png")["watermark"] == hooks.mark_id
    assert "watermark" not in read_parameters(isolated_dirs / "small.png")  # under 256 px: left unmarked
    with Image.open(isolated_dirs / "big.png") as image:
        assert watermark.detect_watermark(np.asarray(image)) == hooks.mark_id
    for name in ("big.png", "small.png"):
        read = cc.read_credentials(isolated_dirs / name)
        assert read is not None and read["valid"] and read["digital_source_type"] == "trainedAlgorithmicMedia"


def test_own_drawing_is_a_digital_creation(isolated_dirs: Path) -> None:
    path = write_png(isolated_dirs / "mine.png", picture(12))
    cc.sign_png(path, {"task": "export"}, [])
    read = cc.read_credentials(path)
    assert read is not None and (read["actions"], read["digital_source_type"]) == (["c2pa.created"], "digitalCreation")


def test_unsigned_file_has_no_credentials(isolated_dirs: Path) -> None:
    assert cc.read_credentials(write_png(isolated_dirs / "plain.png", picture())) is None
    assert not cc.has_manifest_chunk(isolated_dirs / "plain.png")
    (isolated_dirs / "song.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0")
    assert cc.read_credentials(isolated_dirs / "song.mid") is None  # other kinds have no C2PA here
    (isolated_dirs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert cc.read_credentials(isolated_dirs / "broken.png") is None


def make_ca_issued(folder: Path, self_signed: bool = False) -> tuple[Path, Path]:
    """A user's own certificate as a company CA would issue it: an RSA root and an EC P-384 leaf."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Studio Root CA")])
    root = (
        x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name).public_key(root_key.public_key())
        .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP384R1())
    signing_only = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ada Painter")])
    leaf = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name if self_signed else root_name)
        .public_key(key.public_key()).serial_number(2).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(signing_only, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(key if self_signed else root_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    cert = folder / "chain.pem"
    cert.write_bytes(leaf.public_bytes(pem) + (b"" if self_signed else root.public_bytes(pem)))
    key_path = folder / "key.pem"
    key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert, key_path


def run_cli(*args: str, env_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ATELIER_DATA_DIR": str(env_dir / "data"), "ATELIER_CONFIG_DIR": str(env_dir / "config")}
    return subprocess.run(
        [sys.executable, "-m", "atelier", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_imported_certificate_signs_from_then_on(isolated_dirs: Path) -> None:
    cert, key = make_ca_issued(isolated_dirs)
    shown = run_cli("credentials", "show", "--json", env_dir=isolated_dirs)
    assert json.loads(shown.stdout)["identity"] is None
    done = run_cli("credentials", "import", "--cert", str(cert), "--key", str(key), "--json", env_dir=isolated_dirs)
    assert done.returncode == 0, done.stderr
    identity = json.loads(done.stdout)["identity"]
    assert (identity["origin"], identity["algorithm"], identity["subject"]) == ("imported", "es384", "CN=Ada Painter")

    path = write_png(isolated_dirs / "mine.png", picture(9))
    cc.sign_png(path, {"task": "lineart"}, [])
    read = cc.read_credentials(path)
    assert read is not None
    # The imported chain's root is this computer's anchor, so the file reads as trusted here.
    assert (read["state"], read["signer"]) == ("Trusted", "Ada Painter")
    shown = run_cli("credentials", "show", env_dir=isolated_dirs)
    assert "CN=Ada Painter" in shown.stdout and "imported" in shown.stdout


def test_unusable_certificates_are_refused_with_a_reason(isolated_dirs: Path) -> None:
    cert, key = make_ca_issued(isolated_dirs, self_signed=True)
    refused = run_cli("credentials", "import", "--cert", str(cert), "--key", str(key), env_dir=isolated_dirs)
    assert refused.returncode == 1
    assert "self-signed, which C2PA refuses" in refused.stderr
    other = isolated_dirs / "other"
    other.mkdir()
    good_cert, _ = make_ca_issued(other)
    with pytest.raises(AtelierError, match="does not belong to the first certificate"):
        cc.import_identity(good_cert, key)
    assert cc.load_identity() is None  # nothing half-imported
