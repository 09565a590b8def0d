"""Adding photos (off the calling thread, with progress and cancel), moved and missing photos."""
import logging
import shutil
import threading
import time

import pytest

from core.calibration import Calibration
from core.errors import BadImageError, ProjectError
from core.project import Project, file_sha256
from core.project import images as images_mod

from tests.support.project import write_photo, annotation_for, same_annotation


def test_add_folder_records_oriented_size_hash_and_relative_path(project, tmp_path):
    folder = tmp_path / "Brücke_Nord" / "東京"
    a = write_photo(folder / "Riss 1.jpg", 40, 70, seed=1)
    # A phone photo stored landscape with EXIF orientation 6 (rotate 90°): the project must
    # record the upright size, the frame masks are drawn in.
    from PIL import Image
    img = Image.new("RGB", (80, 30), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(folder / "phone.jpg", exif=exif)
    report = project.images.add_folder(tmp_path / "Brücke_Nord")
    assert not report.failed and not report.skipped
    by_name = {r.name: r for r in project.images.list()}
    assert (by_name["Riss 1.jpg"].width, by_name["Riss 1.jpg"].height) == (70, 40)
    assert (by_name["phone.jpg"].width, by_name["phone.jpg"].height, by_name["phone.jpg"].orientation) == (30, 80, 6)
    rec = by_name["Riss 1.jpg"]
    assert rec.rel_path == "Brücke_Nord/東京/Riss 1.jpg" and rec.path == a and rec.exists
    assert rec.sha256 == file_sha256(a)[0] and rec.file_size == a.stat().st_size
    assert rec.status == "unlabeled" and rec.split is None and rec.added_at


def test_unreadable_files_are_reported_and_the_rest_is_added(project, tmp_path, photos):
    good = photos(3)
    (tmp_path / "photos" / "empty.jpg").write_bytes(b"")
    (tmp_path / "photos" / "text.jpg").write_text("not a photo")
    (tmp_path / "photos" / "truncated.jpg").write_bytes(good[0].read_bytes()[:30])
    report = project.images.add_folder(tmp_path / "photos")
    assert sorted(r.path for r in report.added) == sorted(good)
    failed = {p.name: reason for p, reason in report.failed}
    assert set(failed) == {"empty.jpg", "text.jpg", "truncated.jpg"}
    assert "empty" in failed["empty.jpg"] and "not an image" in failed["text.jpg"]


def test_duplicates_are_skipped_by_path_and_by_content(project, tmp_path, photos):
    files = photos(2)
    copy = tmp_path / "other" / "copy.jpg"
    copy.parent.mkdir()
    shutil.copy(files[0], copy)
    first = project.images.add_files(files)
    again = project.images.add_files(files + [copy])
    assert len(first.added) == 2 and again.added == []
    reasons = {p.name: r for p, r in again.skipped}
    assert reasons["img_0000.jpg"] == "already in the project"
    assert reasons["copy.jpg"].startswith("same content as")
    assert project.images.add_files([copy], skip_duplicates=False).added[0].path == copy
    assert project.images.count() == 3


@pytest.mark.slow
def test_adding_1000_photos_scans_off_the_calling_thread_with_progress(project, tmp_path, photos, monkeypatch):
    files = photos(1000, size=(24, 32))
    scan_threads = set()
    real_scan = images_mod._scan

    def spy(path, cancel, *rest):
        scan_threads.add(threading.current_thread().name)
        return real_scan(path, cancel, *rest)

    monkeypatch.setattr(images_mod, "_scan", spy)
    seen = []
    start = time.perf_counter()
    report = project.images.add_folder(tmp_path / "photos", progress=lambda d, t, m: seen.append((d, t)))
    # Shown with --log-cli-level=INFO; bench/bench_project.py measures realistic photos.
    logging.getLogger(__name__).info("added 1000 photos in %.2f s", time.perf_counter() - start)
    assert len(report.added) == 1000 and project.images.count() == 1000
    assert [r.path for r in project.images.list()] == files  # sorted, in order
    assert threading.current_thread().name not in scan_threads
    assert all(name.startswith("project-scan") for name in scan_threads)
    assert [d for d, _ in seen] == list(range(1, 1001)) and {t for _, t in seen} == {1000}


def test_cancel_keeps_the_finished_batches_and_stops(project, tmp_path, photos):
    photos(300, size=(16, 16))
    cancel = threading.Event()

    def progress(done, total, _):
        if done == 70:
            cancel.set()

    report = project.images.add_folder(tmp_path / "photos", progress=progress, cancel=cancel)
    assert report.cancelled
    n = project.images.count()
    assert n == len(report.added) and images_mod.BATCH <= n < 300
    # Adding again later completes the folder without duplicates.
    rest = project.images.add_folder(tmp_path / "photos")
    assert project.images.count() == 300 and len(rest.skipped) == n


def test_moved_folder_is_found_again_by_hash_and_annotations_kept(tmp_path, photos):
    path = tmp_path / "p.pinspect"
    files = photos(4, folder=tmp_path / "site" / "day1")
    with Project.create(path) as p:
        imgs = p.images.add_files(files).added
        anns = {im.id: annotation_for(im.height, im.width, im.id) for im in imgs}
        for i, a in anns.items():
            p.annotations.save(i, a)
    # The user renames the folder and the files, and deletes one photo.
    (tmp_path / "archive" / "2024").mkdir(parents=True)
    for k, f in enumerate(files[:3]):
        shutil.move(f, tmp_path / "archive" / "2024" / f"renamed_{k}.jpg")
    files[3].unlink()
    shutil.rmtree(tmp_path / "site")
    with Project.open(path) as p:
        missing = p.images.missing()
        assert [m.id for m in missing] == [im.id for im in imgs]
        for m in missing:  # annotations of missing photos are kept
            assert same_annotation(p.annotations.load(m.id), anns[m.id])
        steps = []
        report = p.images.relink(tmp_path / "archive", progress=lambda d, t, m: steps.append(d))
        assert {i: q.name for i, q in report.found.items()} == {imgs[k].id: f"renamed_{k}.jpg" for k in range(3)}
        assert [m.id for m in report.missing] == [imgs[3].id]
        assert steps and steps[-1] == 3
        assert [m.id for m in p.images.missing()] == [imgs[3].id]
        rec = p.images.get(imgs[1].id)
        assert rec.exists and rec.rel_path == "archive/2024/renamed_1.jpg"
        for i, a in anns.items():
            assert same_annotation(p.annotations.load(i), a)


def test_relink_only_hashes_files_of_a_missing_photos_byte_size(project, tmp_path, photos, monkeypatch):
    (img,) = project.images.add_files(photos(1)).added
    moved = tmp_path / "moved" / "x.jpg"
    moved.parent.mkdir()
    shutil.move(img.path, moved)
    for k in range(5):  # other photos of other sizes in the folder: never hashed
        helpers_path = moved.parent / f"other_{k}.jpg"
        from PIL import Image
        Image.new("RGB", (100 + k, 50)).save(helpers_path)
    hashed = []
    real = images_mod._hash_only
    monkeypatch.setattr(images_mod, "_hash_only", lambda p, c: hashed.append(p.name) or real(p, c))
    report = project.images.relink(tmp_path / "moved")
    assert report.found == {img.id: moved} and hashed == ["x.jpg"]


def test_relink_one_image_checks_content_and_size(project, tmp_path, photos):
    a, b = photos(2)
    (img,) = project.images.add_files([a]).added
    with pytest.raises(BadImageError, match="not the same photo"):
        project.images.relink_image(img.id, b)
    big = write_photo(tmp_path / "big.jpg", 100, 100, seed=9)
    with pytest.raises(BadImageError, match="annotation would not fit"):
        project.images.relink_image(img.id, big, require_same_content=False)
    rec = project.images.relink_image(img.id, b, require_same_content=False)  # same size, re-exported photo
    assert rec.path == b and rec.sha256 == file_sha256(b)[0]


def test_split_status_and_remove(project, photos):
    imgs = project.images.add_files(photos(3)).added
    ids = [i.id for i in imgs]
    project.images.set_split(ids[:2], "train")
    project.images.set_split(ids[2:], "val")
    project.images.set_status(ids[:1], "done")
    assert [i.id for i in project.images.list(split="train")] == ids[:2]
    assert [i.id for i in project.images.list(status="done")] == ids[:1]
    with pytest.raises(ProjectError, match="unknown split"):
        project.images.set_split(ids, "training")
    with pytest.raises(ProjectError, match="unknown status"):
        project.images.set_status(ids, "finished")
    project.annotations.save(ids[0], annotation_for(imgs[0].height, imgs[0].width, 1))
    project.calibration.set(ids[0], Calibration(0.5))
    project.images.remove([ids[0]])
    assert project.images.ids() == ids[1:]
    assert project.annotations.image_ids() == [] and project.calibration.all() == {}
    with pytest.raises(ProjectError, match="no image with id"):
        project.images.get(ids[0])
    assert imgs[0].path.exists()  # the photo file itself is never touched
