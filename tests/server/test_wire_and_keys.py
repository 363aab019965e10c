"""The render server's parts that need no Ray: the JSON/PNG wire format, the token file, the certificate and
its fingerprint, and the signal wait that starts a clean stop. Fast; no sockets."""

from __future__ import annotations

import json
import os
import signal
import stat
import threading
from pathlib import Path

import numpy as np
import pytest

from atelier.core.errors import InputFileError, InvalidRequestError, PackNotFoundError
from atelier.core.progress import Progress
from atelier.core.requests import DeviceInfo
from atelier.core.requests.colorize import ColorizeRequest, ColorizeResult
from atelier.core.requests.lyrics import LyricRequest, RhymeResult
from atelier.core.requests.melody import Melody, MelodyNote, MelodyRequest, MelodyResult
from atelier.core.requests.palette import PaletteFromImageRequest
from atelier.core.requests.sketch import SketchRequest, SketchResult
from atelier.core.rhymes import Rhyme
from atelier.remote.client import CertificateError, RemoteDeviceInfo, normalise_fingerprint, read_token
from atelier.remote.wire import (
    WireError,
    decode_error,
    decode_progress,
    decode_request,
    decode_result,
    encode_error,
    encode_progress,
    encode_request,
    encode_result,
)


def through_json(value: dict) -> dict:
    """What the other side reads: the message as bytes and back, so nothing but JSON survives."""
    return json.loads(json.dumps(value))


def test_requests_with_pictures_travel_as_png_and_come_back_equal() -> None:
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (40, 56, 4), dtype=np.uint8)
    mask = rng.integers(0, 2, (64, 64), dtype=np.uint8) * 255
    requests = [
        SketchRequest(prompt="boat", image=rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), mask=mask, seed=3),
        PaletteFromImageRequest(image=picture, count=4, locked=((1, "#112233"),), label="photo.png"),
        ColorizeRequest(
            lines=rng.integers(0, 256, (30, 20), dtype=np.uint8), palette=("#ff0000", "#00ff00", "#0000ff")
        ),
        LyricRequest(prompt="rain", sections=("Verse", "Chorus"), seed=9, origin="lyric"),
    ]
    for request in requests:
        encoded = through_json(encode_request(request))
        assert all("npy" not in json.dumps(v) for v in encoded.values())  # 8-bit pictures are PNG, not .npy
        back = decode_request(encoded)
        assert type(back) is type(request) and back == request and back.origin == request.origin
        for name in ("image", "mask", "lines"):
            if isinstance(getattr(request, name, None), np.ndarray):
                assert np.array_equal(getattr(back, name), getattr(request, name))
                assert getattr(back, name).dtype == np.uint8


def test_results_and_melodies_come_back_equal() -> None:
    images = (np.full((8, 8, 3), 7, np.uint8), np.arange(192, dtype=np.uint8).reshape(8, 8, 3))
    device = DeviceInfo("CUDAExecutionProvider", ("CUDAExecutionProvider", "CPUExecutionProvider"), ("x: y",))
    sketch = SketchResult(images=images, seeds=(1, 2), parameters={"prompt": "a", "steps": 3}, device=device)
    back = decode_result(through_json(encode_result(sketch)))
    assert isinstance(back, SketchResult) and back.seeds == (1, 2) and back.parameters == sketch.parameters
    assert all(np.array_equal(a, b) for a, b in zip(back.images, images, strict=True))
    assert back.device == device
    melody = Melody(notes=(MelodyNote(60, 0.0, 1.0, "la", 0),), lines=("la",), line_spans=((0.0, 1.0),))
    assert decode_result(through_json(encode_result(MelodyResult(variations=(melody,))))) == MelodyResult(
        variations=(melody,)
    )
    request = MelodyRequest(lyrics="la la la\nla la", base=None)
    assert decode_request(through_json(encode_request(request))) == request
    colorize = ColorizeResult(images=images[:1], palettes=(("#000000",),), parameters=({"seed": 1},))
    assert decode_result(through_json(encode_result(colorize))).parameters == ({"seed": 1},)


def test_float_arrays_travel_as_npy_without_pickle() -> None:
    progress = Progress(2, 5, "step", preview=np.linspace(0, 1, 6, dtype=np.float32).reshape(2, 3))
    encoded = through_json(encode_progress(progress))
    assert set(encoded["preview"]) == {"npy"}
    back = decode_progress(encoded)
    assert np.array_equal(back.preview, progress.preview) and (back.step, back.total) == (2, 5)
    assert decode_progress(through_json(encode_progress(Progress(1, 2, preview="so far")))).preview == "so far"


def test_a_hostile_message_is_a_clear_error_not_an_object() -> None:
    with pytest.raises(WireError):
        decode_request({"no": "kind"})
    with pytest.raises(InvalidRequestError, match="does not know 'pickle'"):
        decode_request({"kind": "pickle"})
    with pytest.raises(InvalidRequestError, match="wrong fields"):
        decode_request({"kind": "lyrics", "prompt": "x", "os.system": "rm"})
    with pytest.raises(InvalidRequestError, match="Seed"):
        decode_request({"kind": "lyrics", "prompt": "x", "seed": -1})
    with pytest.raises(WireError, match="could not be read"):
        decode_request({"kind": "palette-image", "image": {"png": "bm90IGEgcG5n", "shape": [2, 2]}})
    # A result error travels by name within the core tree only; anything else is a plain AtelierError.
    assert isinstance(decode_error(through_json(encode_error(PackNotFoundError("gone")))), PackNotFoundError)
    assert type(decode_error({"type": "SystemExit", "message": "x"})).__name__ == "AtelierError"
    assert "failed on the server" in str(decode_error(encode_error(RuntimeError("/srv/secret/path"))))
    # A value with no JSON form is refused when it is sent, never sent as an object to rebuild.
    with pytest.raises(InvalidRequestError, match="cannot be sent"):
        encode_result(RhymeResult(word="fire", rhymes=(Rhyme("tire", 1, "perfect", 4.2),)))


def test_fingerprints_and_tokens() -> None:
    digest = "ab" * 32
    assert normalise_fingerprint(":".join(["AB"] * 32)) == digest
    assert normalise_fingerprint(f"sha256= {digest.upper()} ") == digest
    with pytest.raises(CertificateError):
        normalise_fingerprint("ab:cd")
    assert RemoteDeviceInfo("CUDAExecutionProvider", host="studio-gpu-1").label == "GPU (CUDA) on studio-gpu-1"


def test_token_file_is_made_owner_only_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from atelier.server.security import load_or_create_token, token_digest, token_matches

    token, path, created = load_or_create_token(tmp_path / "keys" / "token")
    assert created and len(token) >= 40 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == (token, path, False)
    assert read_token(str(path)) == token
    assert token_matches(f"Bearer {token}", token_digest(token))
    for header in (None, "", token, f"Bearer {token}x", f"Basic {token}"):
        assert not token_matches(header, token_digest(token))
    path.chmod(0o644)
    with pytest.raises(InputFileError, match="other users"):
        load_or_create_token(path)
    short = tmp_path / "short"
    short.write_text("abc")
    short.chmod(0o600)
    with pytest.raises(InputFileError, match="too short"):
        load_or_create_token(short)
    monkeypatch.delenv("ATELIER_TOKEN", raising=False)
    with pytest.raises(Exception, match="needs an access token"):
        read_token("")
    monkeypatch.setenv("ATELIER_TOKEN", "from-the-environment")
    assert read_token("") == "from-the-environment"


def test_self_signed_certificate_is_made_once_and_its_fingerprint_is_the_der_sha256(isolated_dirs: Path) -> None:
    import hashlib
    import ssl

    from atelier.server.security import tls_files

    first = tls_files(None, None, "0.0.0.0")
    assert first.generated and stat.S_IMODE(first.key.stat().st_mode) == 0o600
    der = ssl.PEM_cert_to_DER_cert(first.cert.read_text())
    assert first.fingerprint == hashlib.sha256(der).hexdigest()
    again = tls_files(None, None, "0.0.0.0")
    assert not again.generated and again.fingerprint == first.fingerprint
    assert tls_files(str(first.cert), str(first.key), "x").fingerprint == first.fingerprint
    with pytest.raises(InputFileError, match="both"):
        tls_files(str(first.cert), None, "x")


def test_a_signal_ends_the_wait_for_a_clean_stop() -> None:
    from atelier.server.launch import wait_for_signal

    before = signal.getsignal(signal.SIGTERM)  # Python's default, or Ray's once a test started Ray here
    timer = threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    assert wait_for_signal() == "SIGTERM"
    timer.join()
    assert signal.getsignal(signal.SIGTERM) is before  # the previous handler is back


def test_replicas_autoscaling_and_queue_limits_reach_the_deployment() -> None:
    pytest.importorskip("ray.serve")
    from atelier.server.app import ServerOptions, build_app

    def renderer_config(options: ServerOptions):
        gateway = build_app(options)._bound_deployment  # Serve's bound application (no cluster needed)
        return gateway.init_args[0]._bound_deployment._deployment_config

    fixed = renderer_config(ServerOptions(token_digest="d", replicas=2, queue_per_replica=3, gpus_per_replica=0.5))
    assert fixed.num_replicas == 2 and fixed.autoscaling_config is None
    assert fixed.max_ongoing_requests == 1 and fixed.max_queued_requests == 6  # per replica, over the replicas
    scaling = renderer_config(ServerOptions(token_digest="d", replicas=1, max_replicas=4, queue_per_replica=2))
    assert (scaling.autoscaling_config.min_replicas, scaling.autoscaling_config.max_replicas) == (1, 4)
    assert scaling.max_queued_requests == 8
