"""Photos decoded ahead: the next photo in the list is ready before the user goes to it, never a
stale picture of a file that changed, and the cache keeps to its memory budget."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from core.imageio import encode_jpeg
from gui.workers.photo_cache import PhotoCache, file_key
from gui.workers.photo_loader import LoadedPhoto
from tests.support.gui import open_project


def uniform(colour, w=96, h=64) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (h, w, 3)).copy()


def shown_bgr(window) -> tuple[int, int, int]:
    """Colour of the middle of the full-resolution photo on the canvas (blue, green, red)."""
    item = window.view.photo_item
    assert item.full_resolution
    level = max(item._levels, key=lambda im: im.width())
    c = level.pixelColor(level.width() // 2, level.height() // 2)
    return c.blue(), c.green(), c.red()


def fake_photo(nbytes: int) -> LoadedPhoto:
    bgra = np.zeros((nbytes // 4 // 100, 100, 4), np.uint8)
    return LoadedPhoto([QImage()], bgra)


def test_the_neighbour_is_decoded_ahead_and_opens_at_once(qtbot, window, tmp_path):
    from core.project import Project

    files = []
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        p = tmp_path / f"p{i}.jpg"
        p.write_bytes(encode_jpeg(uniform(colour), quality=95))
        files.append(p)
    path = tmp_path / "cache.pinspect"
    with Project.create(path) as project:
        project.images.add_files(files)
    open_project(qtbot, window, path)
    first = window.photo.record.id
    nxt = window.browser.neighbour_ids(first)[0]
    qtbot.waitUntil(lambda: nxt in window.loader.cache and window.loader.cache.get(
        nxt, window.session.image(nxt).path).photo is not None, timeout=10_000)
    # Page Down: the full photo is on the canvas as the photo opens, before any event is handled.
    qtbot.keyClick(window.browser.list, Qt.Key.Key_Down)
    assert window.photo.record.id == nxt
    assert window.view.photo_item.full_resolution
    assert shown_bgr(window)[1] > 150  # green: the photo that was chosen


def test_a_changed_file_is_never_shown_from_the_cache(qtbot, window, tmp_path):
    from core.project import Project

    files = []
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30)]):
        p = tmp_path / f"q{i}.jpg"
        p.write_bytes(encode_jpeg(uniform(colour), quality=95))
        files.append(p)
    path = tmp_path / "stale.pinspect"
    with Project.create(path) as project:
        project.images.add_files(files)
    open_project(qtbot, window, path)
    nxt = window.browser.neighbour_ids(window.photo.record.id)[0]
    rec = window.session.image(nxt)
    qtbot.waitUntil(lambda: nxt in window.loader.cache, timeout=10_000)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=10_000)
    # The file is replaced by another picture of the same size after it was decoded ahead.
    rec.path.write_bytes(encode_jpeg(uniform((240, 240, 240)), quality=95))
    st = os.stat(rec.path)
    os.utime(rec.path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    qtbot.keyClick(window.browser.list, Qt.Key.Key_Down)
    assert window.photo.record.id == nxt
    qtbot.waitUntil(lambda: window.view.photo_item.full_resolution, timeout=10_000)
    assert min(shown_bgr(window)) > 200  # the new, white picture, not the cached green one


def test_the_cache_keeps_to_its_budget(tmp_path):
    files = []
    for i in range(5):
        p = tmp_path / f"f{i}.jpg"
        p.write_bytes(b"x" * (i + 1))
        files.append(p)
    cache = PhotoCache(budget=3 * 400_000)
    cache.pin([0])
    for i, p in enumerate(files):
        cache.put(i, file_key(p), photo=fake_photo(400_000))
        assert cache.nbytes <= cache.budget
    assert 0 in cache  # the open photo stays whatever the budget
    assert [i for i in range(5) if i in cache] == [0, 3, 4]  # then the most recent
    assert not cache.fits(3 * 400_000)
    assert cache.fits(2 * 400_000)


def test_a_missing_or_replaced_file_drops_its_entry(tmp_path):
    p = tmp_path / "a.jpg"
    p.write_bytes(b"one")
    cache = PhotoCache()
    cache.put(1, file_key(p), photo=fake_photo(4000))
    assert cache.get(1, p) is not None
    assert cache.get(1, Path(tmp_path / "elsewhere.jpg")) is None  # relinked to another file
    cache.put(1, file_key(p), photo=fake_photo(4000))
    p.write_bytes(b"three")  # another size
    assert cache.get(1, p) is None and 1 not in cache
    cache.put(1, file_key(p), photo=fake_photo(4000))
    p.unlink()
    assert cache.get(1, p) is None


def test_a_photo_opened_while_decoded_ahead_is_decoded_once(qtbot, window, tmp_path, monkeypatch):
    """Going to the neighbour while it is being decoded ahead waits for that decode: never two
    copies of one photo in memory at once, and the photo shown is that decode's."""
    import threading
    import time

    import gui.workers.photo_loader as loader_module
    from core.project import Project

    files = []
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30)]):
        p = tmp_path / f"s{i}.jpg"
        p.write_bytes(encode_jpeg(uniform(colour), quality=95))
        files.append(p)
    path = tmp_path / "inflight.pinspect"
    with Project.create(path) as project:
        project.images.add_files(files)
    calls: list[str] = []
    started = threading.Event()
    real = loader_module.decode_bgra

    def slow_decode(p):
        calls.append(Path(p).name)
        if Path(p).name == "s1.jpg":
            started.set()
            time.sleep(0.5)  # still decoding when the user goes there
        return real(p)

    monkeypatch.setattr(loader_module, "decode_bgra", slow_decode)
    open_project(qtbot, window, path)
    qtbot.waitUntil(started.is_set, timeout=10_000)
    qtbot.keyClick(window.browser.list, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.view.photo_item.full_resolution, timeout=10_000)
    assert shown_bgr(window)[1] > 150
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=10_000)
    assert calls.count("s1.jpg") == 1, calls
