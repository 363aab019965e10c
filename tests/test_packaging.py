"""Linux packaging without the real bundle: the menu entry, the icon set, build.sh's .deb and tarball made from a
tiny fake bundle folder, and the tarball's per-user install and uninstall in a temporary HOME."""

from __future__ import annotations

import configparser
import os
import shutil
import stat
import subprocess
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from PIL import Image

import atelier

REPO = Path(__file__).resolve().parents[1]
LINUX = REPO / "installer" / "linux"
ICONS = REPO / "resources" / "icons"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
VERSION = atelier.__version__


def read_desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def test_desktop_entry_is_valid_and_names_the_command_and_icon() -> None:
    entry = read_desktop_entry(LINUX / "atelier.desktop")
    assert entry["Exec"] == "atelier"
    assert entry["Icon"] == "atelier"
    assert entry["Type"] == "Application"
    assert "Graphics" in entry["Categories"].split(";")
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (Debian: apt-get install desktop-file-utils)")
    result = subprocess.run([validator, str(LINUX / "atelier.desktop")], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.parametrize("size", SIZES)
def test_icon_png_exists_is_square_with_transparent_corners(size: int) -> None:
    path = ICONS / "hicolor" / f"{size}x{size}" / "apps" / "atelier.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (size, size)
        rgba = image.convert("RGBA")
    alpha = rgba.getchannel("A").tobytes()
    # The tile has rounded corners: a square picture with opaque corners would be a rendering gone wrong.
    assert alpha[0] < 64
    assert alpha[(size // 2) * size + size // 2] == 255
    # Not one flat colour: the palette and its paints are drawn.
    assert len(rgba.getcolors(maxcolors=size * size) or []) > 8


def test_icon_sources_and_platform_containers() -> None:
    for name in ("atelier.svg", "atelier-small.svg"):
        root = ET.parse(ICONS / name).getroot()
        _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
        assert width == height, f"{name} is not square"
    assert (ICONS / "hicolor" / "scalable" / "apps" / "atelier.svg").read_bytes() == (
        ICONS / "atelier.svg"
    ).read_bytes()
    with Image.open(ICONS / "atelier.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= set(ico.info["sizes"])
    with Image.open(ICONS / "atelier.icns") as icns:
        assert {(16, 16, 2), (128, 128, 1), (512, 512, 1)} <= set(icns.info["sizes"])


def test_window_icon_carries_every_rendered_size(qapp: object) -> None:
    from atelier.ui.app import app_icon

    sizes = sorted(size.width() for size in app_icon().availableSizes())
    assert sizes == list(SIZES)


# -- build.sh on a tiny fake bundle ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The .deb and tarball build.sh makes from a fake bundle: a shell script as the program, a real zip and a
    'shared library' left executable, as PyInstaller leaves some."""
    base = tmp_path_factory.mktemp("packaging")
    bundle = base / "bundle"
    (bundle / "_internal").mkdir(parents=True)
    program = bundle / "atelier"
    program.write_text('#!/bin/sh\necho "fake atelier $*"\n', encoding="utf-8")
    program.chmod(0o700)
    with zipfile.ZipFile(bundle / "_internal" / "base_library.zip", "w") as archive:
        archive.writestr("os.py", "")
    library = bundle / "_internal" / "libfake.so.1"
    library.write_bytes(b"not really a library")
    library.chmod(0o775)
    out = base / "out"
    result = subprocess.run(
        [
            "bash",
            str(REPO / "installer" / "build.sh"),
            "linux",
            "--bundle",
            str(bundle),
            "--out",
            str(out),
            "--no-lintian",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        "deb": out / f"atelier_{VERSION}_amd64.deb",
        "tarball": out / f"atelier-{VERSION}-linux-x86_64.tar.gz",
        "base": base,
    }


def test_deb_lists_the_expected_paths_owned_by_root(packages: dict[str, Path]) -> None:
    dpkg_deb = shutil.which("dpkg-deb")
    if dpkg_deb is None:
        pytest.skip("dpkg-deb is not installed (not a Debian-based system)")
    listing = subprocess.run([dpkg_deb, "-c", str(packages["deb"])], capture_output=True, text=True, check=True)
    entries = {}
    for line in listing.stdout.splitlines():
        mode, owner, _size, _date, _time, path, *link = line.split()
        entries[path] = (mode, owner, link[1] if link else None)
    assert all(owner == "root/root" for _mode, owner, _link in entries.values())
    assert entries["./opt/atelier/atelier"][0] == "-rwxr-xr-x"
    assert entries["./opt/atelier/_internal/libfake.so.1"][0] == "-rw-r--r--"
    assert "./opt/atelier/_internal/base_library.zip" in entries
    assert entries["./usr/bin/atelier"][2] == "/opt/atelier/atelier"
    for path in (
        "./usr/share/applications/atelier.desktop",
        "./usr/share/icons/hicolor/scalable/apps/atelier.svg",
        "./usr/share/man/man1/atelier.1.gz",
        "./usr/share/doc/atelier/copyright",
        "./usr/share/doc/atelier/changelog.gz",
        *(f"./usr/share/icons/hicolor/{size}x{size}/apps/atelier.png" for size in SIZES),
    ):
        assert path in entries, f"{path} missing from the .deb"
    fields = subprocess.run(
        [dpkg_deb, "-f", str(packages["deb"]), "Package", "Version", "Architecture", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Package: atelier" in fields and f"Version: {VERSION}" in fields and "Architecture: amd64" in fields
    # The libraries installer/setup.sh installs for sound and Qt's X11 plugin are dependencies.
    for package in ("libportaudio2", "libxcb-cursor0", "libxkbcommon-x11-0", "libegl1"):
        assert package in fields


def test_tarball_holds_the_bundle_and_the_installer(packages: dict[str, Path]) -> None:
    top = f"atelier-{VERSION}-linux-x86_64"
    with tarfile.open(packages["tarball"]) as archive:
        members = {member.name: member for member in archive.getmembers()}
    for name in ("install.sh", "uninstall.sh", "atelier/atelier", "share/applications/atelier.desktop"):
        member = members[f"{top}/{name}"]
        assert member.uid == 0 and member.gid == 0
    assert members[f"{top}/install.sh"].mode & stat.S_IXUSR


def run_script(script: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    return subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=60)


def test_per_user_install_then_uninstall_keeps_projects(packages: dict[str, Path], tmp_path: Path) -> None:
    with tarfile.open(packages["tarball"]) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    unpacked = tmp_path / "unpacked" / f"atelier-{VERSION}-linux-x86_64"
    home = tmp_path / "home"
    local = home / ".local"
    # The user's own things: the untitled project and settings in the app's data folders, a saved project.
    user_files = {
        local / "share" / "atelier" / "untitled" / "project.json": '{"lyric": "rain"}',
        home / ".config" / "atelier" / "settings.json": '{"theme": "dark"}',
        home / "Music" / "Song.atelier" / "project.json": '{"lyric": "sea"}',
    }
    for path, text in user_files.items():
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")

    installed = run_script(unpacked / "install.sh", home)
    assert installed.returncode == 0, installed.stderr
    command = local / "bin" / "atelier"
    assert command.is_symlink() and command.resolve() == (local / "lib" / "atelier" / "atelier").resolve()
    assert subprocess.run([str(command), "doctor"], capture_output=True, text=True).stdout == "fake atelier doctor\n"
    entry = read_desktop_entry(local / "share" / "applications" / "atelier.desktop")
    assert entry["Exec"] == str(command) and entry["TryExec"] == str(command) and entry["Icon"] == "atelier"
    if validator := shutil.which("desktop-file-validate"):
        check = subprocess.run([validator, str(local / "share" / "applications" / "atelier.desktop")])
        assert check.returncode == 0
    for size in SIZES:
        assert (local / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "atelier.png").is_file()
    assert (local / "lib" / "atelier" / "uninstall.sh").is_file()

    # Installing again (an upgrade) replaces the app folder and keeps one working copy.
    again = run_script(unpacked / "install.sh", home)
    assert again.returncode == 0, again.stderr
    assert [p.name for p in (local / "lib").iterdir()] == ["atelier"]

    removed = run_script(local / "lib" / "atelier" / "uninstall.sh", home)
    assert removed.returncode == 0, removed.stderr
    assert not (local / "lib" / "atelier").exists()
    assert not command.exists() and not command.is_symlink()
    assert not (local / "share" / "applications" / "atelier.desktop").exists()
    assert not list((local / "share" / "icons").rglob("atelier.*"))
    for path, text in user_files.items():
        assert path.read_text(encoding="utf-8") == text, f"uninstall touched {path}"
    assert "projects" in removed.stdout.lower() or "kept" in removed.stdout.lower()


def test_install_refuses_a_folder_it_did_not_make(packages: dict[str, Path], tmp_path: Path) -> None:
    with tarfile.open(packages["tarball"]) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    unpacked = tmp_path / "unpacked" / f"atelier-{VERSION}-linux-x86_64"
    home = tmp_path / "home"
    foreign = home / ".local" / "lib" / "atelier"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    result = run_script(unpacked / "install.sh", home)
    assert result.returncode == 1
    assert "move it away" in result.stderr
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert not (home / ".local" / "bin" / "atelier").exists()


def test_uninstall_without_an_install_removes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = home / ".local" / "share" / "atelier" / "untitled.json"
    data.parent.mkdir(parents=True)
    data.write_text("{}", encoding="utf-8")
    result = run_script(LINUX / "uninstall.sh", home)
    assert result.returncode == 1 and "nothing removed" in result.stderr
    assert data.exists()


def test_build_refuses_a_folder_that_is_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = subprocess.run(
        [
            "bash",
            str(REPO / "installer" / "build.sh"),
            "linux",
            "--bundle",
            str(tmp_path / "empty"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert result.returncode == 1
    assert "not executable" in result.stderr or "missing" in result.stderr


# -- the Windows and macOS specs, run with stand-ins for PyInstaller's build steps ----------------------------

SPEC_RUNNER = """
import json, sys
from pathlib import Path
from types import SimpleNamespace

calls = []
def Analysis(*args, **kwargs):
    return SimpleNamespace(scripts=["scripts"], binaries=["binaries"], datas=["datas"], pure=[])
def PYZ(*args, **kwargs):
    return "pyz"
def EXE(*args, **kwargs):
    calls.append({"step": "EXE", **{k: v for k, v in kwargs.items() if isinstance(v, (str, bool))}})
    return "exe:" + kwargs["name"]
def COLLECT(*args, **kwargs):
    calls.append({"step": "COLLECT", "targets": [a for a in args if isinstance(a, str)], **kwargs})
    return "collected"
def BUNDLE(*args, **kwargs):
    calls.append({"step": "BUNDLE", "targets": list(args), **kwargs})
    return "app"
spec = Path(sys.argv[1])
namespace = dict(Analysis=Analysis, PYZ=PYZ, EXE=EXE, COLLECT=COLLECT, BUNDLE=BUNDLE, SPECPATH=str(spec.parent),
                 workpath=sys.argv[2])
exec(compile(spec.read_text(encoding="utf-8"), str(spec), "exec"), namespace)
print(json.dumps(calls))
"""


def run_platform_spec(platform: str, tmp_path: Path) -> list[dict[str, object]]:
    """What installer/<platform>/atelier.spec asks PyInstaller to build, with the shared spec's real data
    collection (no first-use packs: an empty list stands in for the ones build_bundle.sh readies)."""
    import json
    import sys

    packs = tmp_path / "bundle-packs.json"
    packs.write_text('{"packs": []}', encoding="utf-8")
    env = {**os.environ, "ATELIER_BUNDLE_PACKS": str(packs), "ATELIER_BUNDLE_FLAVOUR": "cpu"}
    spec = REPO / "installer" / platform / "atelier.spec"
    result = subprocess.run(
        [sys.executable, "-c", SPEC_RUNNER, str(spec), str(tmp_path / "work")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    calls: list[dict[str, object]] = json.loads(result.stdout.strip().splitlines()[-1])
    return calls


def test_windows_spec_adds_icon_version_and_a_console_twin(tmp_path: Path) -> None:
    calls = run_platform_spec("windows", tmp_path)
    programs = {call["name"]: call for call in calls if call["step"] == "EXE"}
    assert programs["atelier"]["console"] is False and programs["atelier-cli"]["console"] is True
    for program in programs.values():
        assert program["icon"] == str(ICONS / "atelier.ico")
        version_text = Path(str(program["version"])).read_text(encoding="utf-8")
        assert f"StringStruct('ProductVersion', '{VERSION}')" in version_text
    collect = next(call for call in calls if call["step"] == "COLLECT")
    assert collect["targets"] == ["exe:atelier", "exe:atelier-cli"] and collect["name"] == "atelier"


def test_macos_spec_makes_an_app_with_icon_and_version(tmp_path: Path) -> None:
    calls = run_platform_spec("macos", tmp_path)
    program = next(call for call in calls if call["step"] == "EXE")
    assert program["icon"] == str(ICONS / "atelier.icns") and program["argv_emulation"] is False
    bundle = next(call for call in calls if call["step"] == "BUNDLE")
    assert bundle["targets"] == ["collected"] and bundle["name"] == "Atelier.app"
    assert bundle["bundle_identifier"] == "org.atelier.Atelier" and bundle["version"] == VERSION
    info = bundle["info_plist"]
    assert isinstance(info, dict) and info["CFBundleShortVersionString"] == VERSION
