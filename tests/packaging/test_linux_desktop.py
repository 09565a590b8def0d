"""The Linux desktop files: a valid menu entry, the project file type, the icons, and the install
script that puts them where a desktop looks."""
from __future__ import annotations

import configparser
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from core.project import PROJECT_SUFFIX

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
ICONS = ROOT / "resources" / "icons"
DESKTOP = LINUX / "panoptic-inspector.desktop"
MIME_XML = LINUX / "panoptic-inspector.xml"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def desktop_entry(path: Path = DESKTOP) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def mime_type() -> tuple[str, list[str], list[str]]:
    root = ET.parse(MIME_XML).getroot()
    (node,) = root.findall(f"{MIME_NS}mime-type")
    globs = [g.get("pattern") for g in node.findall(f"{MIME_NS}glob")]
    parents = [s.get("type") for s in node.findall(f"{MIME_NS}sub-class-of")]
    return node.get("type"), globs, parents


def test_desktop_entry_is_valid():
    validator = shutil.which("desktop-file-validate")
    if validator:
        done = subprocess.run([validator, str(DESKTOP)], capture_output=True, text=True)
        assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr
    entry = desktop_entry()
    assert entry["Type"] == "Application" and entry["Name"] == "Panoptic Inspector"
    assert entry["Terminal"] == "false"
    # a double-clicked project file arrives as the one argument
    assert entry["Exec"].split() == ["panoptic-inspector", "%f"]


def test_desktop_entry_opens_the_project_file_type_with_the_shipped_icon():
    entry = desktop_entry()
    kind, globs, parents = mime_type()
    assert entry["MimeType"].rstrip(";").split(";") == [kind]
    assert globs == [f"*{PROJECT_SUFFIX}"]
    assert parents == ["application/vnd.sqlite3"]  # a project is an SQLite file
    assert (ICONS / f"{entry['Icon']}.svg").is_file()


@pytest.mark.parametrize("size", SIZES)
def test_icon_png_is_the_size_its_name_says_with_transparent_corners(size):
    with Image.open(ICONS / f"panoptic-inspector-{size}.png") as im:
        assert im.size == (size, size) and im.mode == "RGBA"
        assert im.getpixel((0, 0))[3] < 64 and im.getpixel((size // 2, size // 2))[3] == 255  # rounded tile


def test_windows_and_macos_icons_hold_the_sizes_they_need():
    with Image.open(ICONS / "panoptic-inspector.ico") as ico:
        assert {16, 32, 48, 256} <= {w for w, _ in ico.info["sizes"]}
    with Image.open(ICONS / "panoptic-inspector.icns") as icns:
        assert (512, 512) in {s[:2] for s in icns.info.get("sizes", [])} or icns.size == (512, 512)


def run_install(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(LINUX / "install.sh"), "--data-dir", str(data), *args],
                          capture_output=True, text=True, timeout=120)


def test_install_puts_entry_type_and_icons_where_desktops_look_and_uninstall_removes_them(tmp_path):
    data = tmp_path / "share"
    bundle = tmp_path / "Panoptic Inspector bundle"
    bundle.mkdir()
    exe = bundle / "panoptic-inspector"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    done = run_install(data, "--bundle", str(bundle))
    assert done.returncode == 0, done.stderr
    entry = desktop_entry(data / "applications" / "panoptic-inspector.desktop")
    assert entry["Exec"] == f'"{exe}" %f' and entry["TryExec"] == str(exe)
    assert (data / "mime" / "packages" / "panoptic-inspector.xml").read_bytes() == MIME_XML.read_bytes()
    for n in SIZES:
        assert (data / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "panoptic-inspector.png").is_file()
        assert (data / "icons" / "hicolor" / f"{n}x{n}" / "mimetypes" /
                "application-x-panoptic-inspector-project.png").is_file()
    if shutil.which("update-mime-database"):
        globs = (data / "mime" / "globs2").read_text()
        assert f"application/x-panoptic-inspector-project:*{PROJECT_SUFFIX}" in globs
    if shutil.which("update-desktop-database"):
        cache = (data / "applications" / "mimeinfo.cache").read_text()
        assert "application/x-panoptic-inspector-project=panoptic-inspector.desktop;" in cache

    assert run_install(data, "--uninstall").returncode == 0
    assert not (data / "applications" / "panoptic-inspector.desktop").exists()
    assert not list((data / "icons").rglob("*.png"))


def test_install_refuses_a_bundle_path_the_desktop_entry_cannot_quote(tmp_path):
    bundle = tmp_path / "odd$name"
    bundle.mkdir()
    (bundle / "panoptic-inspector").write_text("#!/bin/sh\n")
    (bundle / "panoptic-inspector").chmod(0o755)
    done = run_install(tmp_path / "share", "--bundle", str(bundle))
    assert done.returncode == 2 and "may not contain" in done.stderr
    assert not (tmp_path / "share" / "applications" / "panoptic-inspector.desktop").exists()
