"""Every file kind Atelier writes carries its record, and `read_provenance` reads back the same record."""

from __future__ import annotations

import json
import struct
import wave
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import mido
import numpy as np
import pytest
from PIL import Image

from atelier.audio.wav import read_wav, write_wav
from atelier.core.color.formats import PaletteFile, export_file, import_file, palette_record
from atelier.core.documents.lyric import Suggestion
from atelier.core.midi_file import melody_record, read_tune, write_midi
from atelier.core.provenance import (
    COMPOSITE,
    TRAINED,
    XMP_KEY,
    build_record,
    pack_record,
    parse_xmp,
    png_info,
    read_parameters,
    read_png_text,
    save_png,
    source_record,
)
from atelier.core.provenance_lyric import lyric_file_text, lyric_record, marked_lines, split_front_matter
from atelier.core.provenance_read import read_provenance
from atelier.core.requests.melody import Melody, MelodyNote
from atelier.engine.packs import Pack, PackFile

FOLDER = "/home/artist/Models/my private sd15"
SKETCH = {
    "prompt": "a lighthouse at dusk",
    "negative": "blurry",
    "seed": 42,
    "steps": 4,
    "scheduler": "euler",
    "guidance": 7.5,
    "strength": 0.6,
    "mode": "txt2img",
    "width": 64,
    "height": 64,
    "pack_id": FOLDER,
    "pack_name": "my private sd15",
    "licence": "creativeml-openrail-m",
    "device": "CPUExecutionProvider",
    "app_version": "0.1.0",
    "date": "2026-01-02T03:04:05+00:00",
}


def no_absolute_path(value: object) -> bool:
    text = json.dumps(value)
    return "/home/" not in text and "\\\\Users" not in text


def png_chunks(path: Path) -> dict[bytes, list[bytes]]:
    """Every chunk of a PNG by type, read with struct (no Pillow), to check the bytes on disk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    found: dict[bytes, list[bytes]] = {}
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        assert struct.unpack(">I", data[position + 8 + length : position + 12 + length])[0] == zlib.crc32(kind + body)
        found.setdefault(kind, []).append(body)
        position += 12 + length
    return found


def test_png_round_trip_with_xmp_disclosure_and_no_absolute_path(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    written = save_png(out, np.full((64, 64, 3), 90, np.uint8), SKETCH)
    assert written is not None and no_absolute_path(written)
    assert written["pack"] == {"id": "my private sd15", "name": "my private sd15", "licence": "creativeml-openrail-m"}
    assert written["ai"] == TRAINED and written["task"] == "sketch" and written["generator"] == "Atelier 0.1.0"
    assert read_parameters(out) == written
    found = read_provenance(out)
    assert found["record"] == written and found["kind"] == "image" and found["ai"] == TRAINED
    assert (found["prompt"], found["seed"], found["task"]) == ("a lighthouse at dusk", 42, "sketch")
    assert found["c2pa"] is None and found["date"] == SKETCH["date"]
    # The XMP sits in an uncompressed iTXt chunk keyed as the XMP specification says, and parses as XML.
    itxt = [body for body in png_chunks(out)[b"iTXt"] if body.startswith(XMP_KEY.encode() + b"\x00")]
    assert len(itxt) == 1
    keyword_end = len(XMP_KEY) + 1
    assert itxt[0][keyword_end] == 0  # compression flag: not compressed
    packet = itxt[0][keyword_end + 2 :].split(b"\x00", 2)[2].decode("utf-8")
    body = packet[packet.index("<x:xmpmeta") : packet.rindex("</x:xmpmeta>") + len("</x:xmpmeta>")]
    root = ET.fromstring(body)
    ns = {"Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/", "xmp": "http://ns.adobe.com/xap/1.0/"}
    source_type = root.find(".//Iptc4xmpExt:DigitalSourceType", ns)
    assert source_type is not None
    assert source_type.text == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    assert root.findtext(".//xmp:CreatorTool", namespaces=ns) == "Atelier 0.1.0"
    assert root.findtext(".//Iptc4xmpExt:AISystemUsed", namespaces=ns) == "my private sd15"
    assert root.findtext(".//Iptc4xmpExt:AIPromptInformation", namespaces=ns) == "a lighthouse at dusk"
    assert "/home/" not in out.read_bytes().decode("latin-1")  # nowhere in the file, not only in the JSON


def test_anything_over_the_users_picture_is_a_composite() -> None:
    for mode in ("img2img", "inpaint", "txt2img+controlnet"):
        assert build_record({**SKETCH, "mode": mode})["ai"] == COMPOSITE
    assert build_record({"app_version": "0.1.0", "kind": "colorize", "mode": "colorize"})["ai"] == COMPOSITE
    assert build_record({"app_version": "0.1.0", "task": "lineart"})["ai"] == COMPOSITE
    assert build_record(SKETCH)["ai"] == TRAINED


def test_records_are_idempotent_so_history_and_exports_agree(tmp_path: Path) -> None:
    record = build_record(SKETCH)
    assert build_record(record) == record
    Image.new("RGB", (8, 8)).save(tmp_path / "history.png", pnginfo=png_info(SKETCH))
    save_png(tmp_path / "export.png", np.zeros((8, 8, 3), np.uint8), SKETCH)
    assert read_parameters(tmp_path / "history.png") == read_parameters(tmp_path / "export.png")
    plain = {"seed": 9, "palette": ["#c9a227"]}  # not an engine record: kept as it is
    assert build_record(plain) == plain


def test_a_traced_result_gets_its_size_from_the_picture(tmp_path: Path) -> None:
    out = tmp_path / "lines.png"
    save_png(out, np.zeros((48, 80), np.uint8), {"app_version": "0.1.0", "task": "lineart", "mode": "lineart"})
    text = read_png_text(out)["parameters"]
    assert "None" not in text and "Size: 80x48" in text


def test_without_metadata_the_file_holds_pixels_only(tmp_path: Path) -> None:
    out = tmp_path / "plain.png"
    assert save_png(out, np.zeros((8, 8, 3), np.uint8), SKETCH, metadata=False) is None
    assert set(png_chunks(out)) <= {b"IHDR", b"IDAT", b"IEND"}
    assert read_provenance(out)["record"] is None


def test_hooks_run_in_order_watermark_before_encoding_and_signing_over_the_finished_file(tmp_path: Path) -> None:
    calls: list[str] = []

    def watermark(pixels: np.ndarray) -> np.ndarray:
        calls.append("watermark")
        marked = pixels.copy()
        marked[0, 0] = (1, 2, 3)
        return marked

    def sign(path: Path, record: dict) -> None:
        calls.append("sign")
        # The file is finished (records in it, pixels marked) but has not taken the target's name yet.
        assert not (tmp_path / "out.png").exists()
        with Image.open(path) as image:
            assert image.format == "PNG" and image.getpixel((0, 0)) == (1, 2, 3)
            assert json.loads(image.info["atelier"]) == record
        with open(path, "ab") as handle:  # what a signer does: the signature goes into the file
            handle.write(b"")

    save_png(tmp_path / "out.png", np.zeros((8, 8, 3), np.uint8), SKETCH, watermark=watermark, sign=sign)
    assert calls == ["watermark", "sign"]
    calls.clear()
    save_png(
        tmp_path / "bare.png", np.zeros((8, 8, 3), np.uint8), SKETCH, metadata=False, watermark=watermark, sign=sign
    )
    assert calls == ["watermark"]  # no records: nothing to sign


def folder_pack() -> Pack:
    """A pack as the engine makes one for an ONNX folder: its id is the folder's absolute path."""
    files = (PackFile("text_encoder/model.onnx", "a" * 64, 10), PackFile("unet/model.onnx", "b" * 64, 99))
    return Pack(
        id="/Users/artist/sd-folder",
        name="sd-folder",
        kind="diffusion",
        version="1.5",
        licence="creativeml-openrail-m",
        source="",
        folder=Path("/Users/artist/sd-folder"),
        files=files,
        components={"unet": "unet/model.onnx", "text_encoder": "text_encoder/model.onnx"},
    )


def test_pack_record_names_a_folder_pack_by_name_and_hash() -> None:
    record = pack_record(folder_pack())
    assert record == {
        "id": "sd-folder",
        "name": "sd-folder",
        "version": "1.5",
        "licence": "creativeml-openrail-m",
        "file": "unet/model.onnx",
        "sha256": "b" * 64,
    }


def test_source_hash_of_a_file_and_of_pixels(tmp_path: Path) -> None:
    picture = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    Image.fromarray(picture).save(tmp_path / "in.png")
    by_file = source_record("image", path=tmp_path / "in.png")
    assert by_file["of"] == "file" and len(by_file["sha256"]) == 64
    assert source_record("image", image=picture)["sha256"] != source_record("image", image=picture[::-1])["sha256"]


def melody() -> Melody:
    notes = (MelodyNote(60, 0, 1, "rain", 0), MelodyNote(62, 1, 1, "falls", 0, stress=1))
    return Melody(notes=notes, lines=("rain falls",), line_spans=((0.0, 2.0),), seed=7)


def test_midi_names_atelier_the_pack_and_the_seed(tmp_path: Path) -> None:
    out = tmp_path / "song.mid"
    record = melody_record(melody(), {"pack": {"id": "atelier-melody", "name": "Melody", "version": "1"}})
    write_midi(melody(), out, record)
    song = mido.MidiFile(str(out))
    names = [m.name for m in song.tracks[0] if m.type == "track_name"]
    texts = [m.text for m in song.tracks[0] if m.type == "text"]
    assert names == ["Atelier 0.1.0 melody, pack Melody 1, seed 7"] and names[0] in texts
    assert not any(m.type == "copyright" for track in song.tracks for m in track)  # the user's to add
    found = read_provenance(out)
    assert found["record"] == record and found["seed"] == 7 and found["kind"] == "midi"
    assert found["pack"] == {"id": "atelier-melody", "name": "Melody", "version": "1"}
    assert read_tune(out).notes == ((60, 0.0, 1.0), (62, 1.0, 1.0))  # the music reads back as before
    write_midi(melody(), tmp_path / "bare.mid", metadata=False)
    assert read_provenance(tmp_path / "bare.mid")["record"] is None


def test_wav_list_info_chunk_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "song.wav"
    record = melody_record(melody(), {"device": "CPUExecutionProvider"})
    audio = np.sin(np.linspace(0, 40, 2001)).astype(np.float32) * 0.5
    write_wav(out, audio, 22050, record)
    found = read_provenance(out)
    assert found["record"] == record and found["generator"] == "Atelier 0.1.0" and found["kind"] == "audio"
    with wave.open(str(out), "rb") as handle:  # the standard reader still reads it, to the last frame
        assert handle.getnframes() == 2001
    samples, rate = read_wav(out)
    assert rate == 22050 and np.abs(samples[:, 0] - audio).max() < 1e-4
    assert int.from_bytes(out.read_bytes()[4:8], "little") == out.stat().st_size - 8  # RIFF size fixed


def test_lyric_txt_and_md_mark_the_models_lines_and_count_edited_ones_as_the_users(tmp_path: Path) -> None:
    suggestions = [
        Suggestion("[Verse]\nRain on the roof\nA cat in the hall", mode="song", seed=7),
        Suggestion("Stars fall", mode="rewrite", alternatives=("Moon rises slow",), seed=9),
    ]
    text = "[Verse]\nRain on the roof\nmy own line\nA cat in the Hall\nMoon rises slow\n"  # line 4 edited
    record = lyric_record(text, suggestions, "smollm2-135m")
    assert record["model_lines"] == [2, 5] and record["user_lines"] == 2 and record["seeds"] == [7, 9]
    assert record["ai"] == COMPOSITE
    txt, md = tmp_path / "lyric.txt", tmp_path / "lyric.md"
    txt.write_text(lyric_file_text(text, False, record), encoding="utf-8")
    md.write_text(lyric_file_text(text, True, record), encoding="utf-8")
    for path in (txt, md):
        found = read_provenance(path)
        assert found["record"] == record and found["kind"] == "lyric"
    header, body = split_front_matter(txt.read_text(encoding="utf-8"))
    assert header == record and body == text  # line numbers count from the line after the header
    assert [body.split("\n")[n - 1] for n in record["model_lines"]] == ["Rain on the roof", "Moon rises slow"]
    assert marked_lines(md.read_text(encoding="utf-8")) == ["Rain on the roof", "Moon rises slow"]
    assert lyric_file_text(text, False, None) == text  # without metadata: the lyric only
    mine = lyric_record("all my own\n", suggestions)
    assert lyric_file_text("all my own\n", False, mine) == "all my own\n"  # nothing of the model's: no header


@pytest.mark.parametrize("suffix", ["gpl", "css", "json", "png"])
def test_palette_files_carry_a_record_where_the_format_allows(tmp_path: Path, suffix: str) -> None:
    palette = PaletteFile(("#1b2a41", "#c9a227", "#e4572e"), ("navy", "gold", "flame"), "Storm")
    record = palette_record("text", "stormy */ sea", seed=3)
    assert record["ai"] == TRAINED
    out = export_file(palette, tmp_path / f"storm.{suffix}", "text", record)
    found = read_provenance(out)
    assert found["record"] == record and found["prompt"] == "stormy */ sea" and found["kind"] == "palette"
    if suffix != "css" and suffix != "png":
        assert import_file(out).colors == palette.colors  # importers still read it


def test_palette_formats_without_room_for_a_record(tmp_path: Path) -> None:
    palette = PaletteFile(("#1b2a41", "#c9a227", "#e4572e"), ("navy", "gold", "flame"))
    for suffix in ("ase", "aco"):
        out = export_file(palette, tmp_path / f"p.{suffix}", "", palette_record("harmony"))
        assert read_provenance(out)["record"] is None
    assert palette_record("harmony")["ai"] == "algorithmicMedia"


def test_foreign_and_damaged_files(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    assert read_provenance(tmp_path / "photo.png")["record"] is None
    (tmp_path / "junk.png").write_bytes(b"not a picture")
    assert read_provenance(tmp_path / "junk.png")["record"] is None
    assert parse_xmp("<x:xmpmeta") == {} and parse_xmp("") == {}
    # A billion laughs (10^10 characters once expanded): expat's amplification limit refuses it.
    entities = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    assert parse_xmp(f'<?xml version="1.0"?><!DOCTYPE r [{entities}]><r>&e9;</r>') == {}


def test_a_signed_export_reads_back_with_its_content_credentials(isolated_dirs: Path) -> None:
    pytest.importorskip("c2pa")
    from atelier.core.content_credentials import export_hooks
    from atelier.core.settings import Settings

    hooks = export_hooks(Settings(sign_exports=True))
    out = isolated_dirs / "signed.png"
    record = save_png(out, np.full((64, 64, 3), 120, np.uint8), SKETCH, watermark=hooks.watermark, sign=hooks.sign)
    found = read_provenance(out)
    assert found["record"] == record and found["c2pa"] is not None
    assert found["c2pa"]["valid"] is True and found["c2pa"]["digital_source_type"] == TRAINED
    data = bytearray(out.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # one byte of the pixels changed after signing
    (isolated_dirs / "tampered.png").write_bytes(bytes(data))
    tampered = read_provenance(isolated_dirs / "tampered.png")["c2pa"]
    assert tampered is not None and tampered["valid"] is False
    from atelier.cli.provenance import describe

    assert any(
        line.startswith("Content credentials (C2PA): Invalid")
        for line in describe(read_provenance(isolated_dirs / "tampered.png"))
    )
