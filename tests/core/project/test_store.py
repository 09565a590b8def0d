"""Opening, locking, read-only fall-backs, corrupt files, Save As, threads."""
import hashlib
import os
import shutil
import sqlite3
import threading

import numpy as np
import pytest

from core.categories import Category, CategorySet
from core.errors import ProjectError, ProjectReadOnlyError
from core.project import SCHEMA_VERSION, Project

from tests.support.project import annotation_for, same_annotation, read_only_path


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_create_then_reopen_keeps_name_categories_settings(tmp_path):
    cats = CategorySet((Category(1, "Riss", True, (255, 0, 0)), Category(2, "Beton", False, (9, 9, 9), "surface")))
    path = tmp_path / "Brücke Nord" / "Prüfung 東京.pinspect"
    with Project.create(path, categories=cats, name="Brücke Nord") as p:
        p.set_setting("threshold", 0.55)
        assert not p.read_only and p.schema_version == SCHEMA_VERSION
    with Project.open(path) as p:
        assert p.name == "Brücke Nord"
        assert p.categories.get() == cats
        assert p.get_setting("threshold") == 0.55
        assert p.get_setting("unknown", "dflt") == "dflt"
        assert p.created_at
    # A closed project is one file again: no WAL, shared memory or lock file left behind.
    assert sorted(x.name for x in path.parent.iterdir()) == [path.name]


def test_create_refuses_an_existing_file(tmp_path):
    path = tmp_path / "x.pinspect"
    path.write_bytes(b"my thesis")
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(path)
    assert path.read_bytes() == b"my thesis"


def test_open_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ProjectError, match="no such project file") as e:
        Project.open(tmp_path / "nope.pinspect")
    assert "nope.pinspect" in str(e.value)


def test_second_instance_opens_read_only_and_refuses_writes(tmp_path):
    path = tmp_path / "p.pinspect"
    with Project.create(path) as first:
        with Project.open(path) as second:
            assert second.read_only
            assert "open in another Panoptic Inspector" in second.read_only_reason
            assert str(os.getpid()) in second.read_only_reason
            with pytest.raises(ProjectReadOnlyError, match="read-only"):
                second.set_setting("a", 1)
            # It still reads what the first instance writes (WAL readers see commits).
            first.set_setting("a", 2)
            assert second.get_setting("a") == 2
    # Once the first closed, the next open is writable again.
    with Project.open(path) as again:
        assert not again.read_only


def test_lock_is_released_when_the_holder_is_killed(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "p.pinspect"
    Project.create(path).close()
    code = ("import sys, time; from core.project import Project; p = Project.open(sys.argv[1]); "
            "assert not p.read_only; print('open', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))))
    try:
        assert proc.stdout.readline().strip() == "open"
        with Project.open(path) as p:
            assert p.read_only and f"process {proc.pid}" in p.read_only_reason
        proc.kill()
        proc.wait()
        with Project.open(path) as p:
            assert not p.read_only
    finally:
        proc.kill()
        proc.wait()


def test_read_only_on_request(tmp_path):
    path = tmp_path / "p.pinspect"
    Project.create(path).close()
    with Project.open(path, read_only=True) as p:
        assert p.read_only and p.read_only_reason == "opened read-only on request"
        with pytest.raises(ProjectReadOnlyError):
            p.categories.add("efflorescence", False)


def test_read_only_file_opens_read_only(tmp_path, photos):
    path = tmp_path / "p.pinspect"
    with Project.create(path) as p:
        p.images.add_files(photos(1))
    before = _digest(path)
    with read_only_path(path):
        with Project.open(path) as p:
            assert p.read_only and "read-only" in p.read_only_reason
            assert p.images.count() == 1
            with pytest.raises(ProjectReadOnlyError, match="the file is read-only"):
                p.images.set_status(p.images.ids(), "done")
    assert _digest(path) == before


def test_read_only_folder_opens_read_only_and_save_is_refused_clearly(tmp_path, photos):
    folder = tmp_path / "media"
    path = folder / "p.pinspect"
    with Project.create(path) as p:
        (img,) = p.images.add_files(photos(1)).added
        ann = annotation_for(img.height, img.width, 1)
        p.annotations.save(img.id, ann)
    with read_only_path(folder):
        with Project.open(path) as p:
            assert p.read_only and p.read_only_reason == "its folder is read-only"
            with pytest.raises(ProjectReadOnlyError, match="folder is read-only") as e:
                p.annotations.save(img.id, annotation_for(img.height, img.width, 2))
            assert str(path) in str(e.value)
            assert same_annotation(p.annotations.load(img.id), ann)


@pytest.mark.parametrize("content", [b"", b"hello, this is not a database" * 10, b"SQLite format 3\x00" + b"\x00" * 20])
def test_files_that_are_not_projects_are_refused_and_untouched(tmp_path, content):
    path = tmp_path / "p.pinspect"
    path.write_bytes(content)
    with pytest.raises(ProjectError) as e:
        Project.open(path)
    assert str(path) in str(e.value)
    assert path.read_bytes() == content
    assert sorted(x.name for x in tmp_path.iterdir()) == ["p.pinspect"]


def test_another_programs_sqlite_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(ProjectError, match="another program's database"):
        Project.open(path)
    assert _digest(path) == before


def _big_project(tmp_path, photos, n=6):
    path = tmp_path / "p.pinspect"
    with Project.create(path) as p:
        for img in p.images.add_files(photos(n, size=(96, 128))).added:
            p.annotations.save(img.id, annotation_for(img.height, img.width, img.id))
    return path


def test_truncated_project_is_refused_and_never_overwritten(tmp_path, photos):
    path = _big_project(tmp_path, photos)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = _digest(path)
    with pytest.raises(ProjectError, match="damaged|truncated") as e:
        Project.open(path)
    assert "restore" in str(e.value)
    assert _digest(path) == before


def test_corrupted_pages_are_refused_and_never_overwritten(tmp_path, photos):
    path = _big_project(tmp_path, photos)
    data = bytearray(path.read_bytes())
    page = 4096
    rng = np.random.default_rng(0)
    for k in range(1, len(data) // page):  # scribble over every page's header, keep the file header
        data[k * page: k * page + 12] = rng.integers(0, 255, 12, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    before = _digest(path)
    with pytest.raises(ProjectError, match="damaged"):
        Project.open(path)
    assert _digest(path) == before


def test_file_from_a_newer_version_opens_read_only(tmp_path):
    path = tmp_path / "p.pinspect"
    Project.create(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with Project.open(path) as p:
        assert p.read_only and "newer" in p.read_only_reason


def test_save_copy_rebases_relative_photo_paths(tmp_path, photos):
    path = tmp_path / "proj" / "p.pinspect"
    files = photos(2, folder=tmp_path / "proj" / "photos")
    with Project.create(path) as p:
        imgs = p.images.add_files(files).added
        p.annotations.save(imgs[0].id, annotation_for(imgs[0].height, imgs[0].width, 3))
        dest = p.save_copy(tmp_path / "elsewhere" / "deeper" / "copy.pinspect")
        with pytest.raises(ProjectError, match="already exists"):
            p.save_copy(dest)
    with Project.open(dest) as c:
        recs = c.images.list()
        assert [r.path for r in recs] == files and all(r.exists for r in recs)
        assert recs[0].rel_path == "../../proj/photos/img_0000.jpg"
        assert same_annotation(c.annotations.load(imgs[0].id),
                                       annotation_for(imgs[0].height, imgs[0].width, 3))


def test_moving_project_and_photos_together_keeps_them_found(tmp_path, photos):
    path = tmp_path / "a" / "p.pinspect"
    photos(2, folder=tmp_path / "a" / "photos")
    with Project.create(path) as p:
        p.images.add_folder(tmp_path / "a" / "photos")
    shutil.move(tmp_path / "a", tmp_path / "b")
    with Project.open(tmp_path / "b" / "p.pinspect") as p:
        assert all(r.exists and r.path.parent == tmp_path / "b" / "photos" for r in p.images.list())


def test_worker_thread_saves_while_the_gui_thread_reads(project, photos):
    (img,) = project.images.add_files(photos(1, size=(96, 128))).added
    expected = {s: annotation_for(img.height, img.width, s) for s in range(1, 31)}
    project.annotations.save(img.id, expected[1])
    errors = []

    def autosave():
        try:
            for s in range(2, 31):
                project.annotations.save(img.id, expected[s])
        except Exception as e:  # noqa: BLE001 - any failure is handed to the main thread, which asserts none
            errors.append(e)

    worker = threading.Thread(target=autosave)
    worker.start()
    seen = set()
    while worker.is_alive() or not seen:
        ann = project.annotations.load(img.id)
        rev = project.annotations.revision(img.id)
        # Every load is one complete save, never a mix of two.
        match = [s for s, e in expected.items() if same_annotation(ann, e)]
        assert match, "a load returned a state no save wrote"
        seen.add(match[0])
        assert rev >= match[0]
    worker.join()
    assert not errors
    assert same_annotation(project.annotations.load(img.id), expected[30])
    assert project.annotations.revision(img.id) == 30


def test_transaction_groups_writes_and_rolls_back_all_of_them(project, photos):
    imgs = project.images.add_files(photos(2)).added
    with pytest.raises(RuntimeError):
        with project.transaction("import"):
            for im in imgs:
                project.annotations.save(im.id, annotation_for(im.height, im.width, 1))
            raise RuntimeError("importer failed half-way")
    assert project.annotations.image_ids() == []
    with project.transaction("import"):
        for im in imgs:
            project.annotations.save(im.id, annotation_for(im.height, im.width, 1))
    assert project.annotations.image_ids() == [im.id for im in imgs]


def test_closed_project_refuses_use(tmp_path):
    p = Project.create(tmp_path / "p.pinspect")
    p.close()
    p.close()  # idempotent
    with pytest.raises(ProjectError, match="closed"):
        p.images.count()


def test_close_waits_for_a_save_in_flight_on_another_thread(project, photos, monkeypatch):
    from core.project import annotations as ann_mod

    (img,) = project.images.add_files(photos(1)).added
    ann = annotation_for(img.height, img.width, 5)
    inside, release = threading.Event(), threading.Event()
    real_write = ann_mod.write

    def slow_write(*args):
        inside.set()
        release.wait(5)
        return real_write(*args)

    monkeypatch.setattr(ann_mod, "write", slow_write)
    worker = threading.Thread(target=project.annotations.save, args=(img.id, ann))
    worker.start()
    assert inside.wait(5)
    closer = threading.Thread(target=project.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive()  # close is waiting for the save
    release.set()
    worker.join(5)
    closer.join(5)
    assert not closer.is_alive() and project.closed
    with Project.open(project.path) as again:
        assert same_annotation(again.annotations.load(img.id), ann)
    with pytest.raises(ProjectError, match="closed"):
        project.annotations.save(img.id, ann)
