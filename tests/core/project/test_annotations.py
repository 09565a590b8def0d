"""Annotations: lossless round trip, one transaction per save, clear refusals, disk full."""
import contextlib
import sqlite3

import numpy as np
import pytest

from core.errors import AnnotationError, ProjectError
from core.panoptic import PanopticAnnotation, Segment
from core.project import Project
from core.project.annotations import segment_areas

from tests.support.project import annotation_for, same_annotation, file_sql


@pytest.fixture
def image(project, photos):
    return project.images.add_files(photos(1, size=(60, 80))).added[0]


def test_round_trip_is_lossless_for_large_ids_and_every_segment_field(project, image):
    rng = np.random.default_rng(0)
    ids = [1, 255, 256, 65535, 65536, 2 ** 24 - 1] + list(range(1000, 1300))  # > 255 segments
    id_map = rng.choice(np.array(ids, np.int32), size=(60, 80))
    segs = {i: Segment(i, 1 + i % 5, iscrowd=bool(i % 3 == 0), source="model" if i % 2 else "manual",
                       score=(i % 100) / 100 if i % 2 else None) for i in np.unique(id_map).tolist()}
    ann = PanopticAnnotation(id_map, segs)
    assert project.annotations.save(image.id, ann) == 1
    back = project.annotations.load(image.id)
    assert back.id_map.dtype == np.int32 and np.array_equal(back.id_map, id_map)
    assert back.segments == segs
    assert project.annotations.segments(image.id) == segs
    usage = project.annotations.category_usage()
    assert sum(u[2] for u in usage.values()) == 60 * 80


def test_revisions_count_saves_and_status_follows(project, image):
    assert project.annotations.load(image.id) is None and project.annotations.revision(image.id) == 0
    a1 = annotation_for(image.height, image.width, 1)
    assert project.annotations.save(image.id, a1) == 1
    assert project.images.get(image.id).status == "in_progress"  # unlabeled -> in progress
    a2 = annotation_for(image.height, image.width, 2)
    assert project.annotations.save(image.id, a2, status="done") == 2
    assert project.images.get(image.id).status == "done"
    project.annotations.save(image.id, a1)  # a later save without status keeps "done"
    with pytest.raises(ProjectError, match="unknown status"):
        project.annotations.save(image.id, a1, status="finished")
    assert project.images.get(image.id).status == "done"
    info = project.annotations.summary()[image.id]
    assert info.revision == 3 and info.segment_count == len(a1.segments)
    project.annotations.delete(image.id)
    assert not project.annotations.has(image.id) and project.images.count() == 1


def test_empty_annotation_is_stored_and_loaded(project, image):
    project.annotations.save(image.id, PanopticAnnotation.empty(image.height, image.width))
    back = project.annotations.load(image.id)
    assert back.segments == {} and not back.id_map.any() and back.shape == (60, 80)
    assert project.images.get(image.id).status == "unlabeled"


def test_wrong_size_is_refused_with_an_orientation_hint(project, image):
    rotated = annotation_for(image.width, image.height, 1)  # width and height swapped
    with pytest.raises(AnnotationError, match="80x60.*60x80|is 60x80 but the photo is 80x60") as e:
        project.annotations.save(image.id, rotated)
    assert "EXIF" in str(e.value)
    assert project.annotations.load(image.id) is None


def test_pixels_without_a_segment_and_unknown_categories_are_refused(project, image):
    good = annotation_for(image.height, image.width, 1)
    project.annotations.save(image.id, good)
    bad = good.copy()
    bad.id_map[0, 0] = 4242
    with pytest.raises(AnnotationError, match="4242"):
        project.annotations.save(image.id, bad)
    unknown = good.relabelled(7, 99)
    with pytest.raises(AnnotationError, match="category ids \\[99\\]"):
        project.annotations.save(image.id, unknown)
    negative = good.copy()
    negative.id_map[0, 0] = -1
    with pytest.raises(AnnotationError, match="negative"):
        project.annotations.save(image.id, negative)
    assert same_annotation(project.annotations.load(image.id), good)  # previous state intact
    assert project.annotations.revision(image.id) == 1


def test_erased_segments_are_dropped_from_the_table(project, image):
    ann = annotation_for(image.height, image.width, 3)
    ann.segments[999] = Segment(999, 2)  # no pixels left after erasing
    project.annotations.save(image.id, ann)
    assert 999 not in project.annotations.load(image.id).segments


def test_disk_full_during_save_is_a_clear_error_and_the_previous_save_intact(project, image,
                                                                              monkeypatch):
    first = annotation_for(image.height, image.width, 1)
    project.annotations.save(image.id, first)
    path = project.path
    project.close()
    with file_sql(path, read_only=True) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    # SQLite reports SQLITE_FULL exactly as for a full disk when the file may not grow: every
    # connection the store opens from now on is held to the file's present size.
    opened = []
    connect = sqlite3.connect

    def connect_on_a_full_disk(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.execute(f"PRAGMA max_page_count = {pages}")
        opened.append(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect_on_a_full_disk)
    rng = np.random.default_rng(1)
    noisy = PanopticAnnotation(rng.integers(1, 4000, (image.height, image.width), dtype=np.int32))
    noisy.segments = {i: Segment(i, 1) for i in np.unique(noisy.id_map).tolist()}
    with Project.open(path) as p:
        with pytest.raises(ProjectError, match="disk is full") as e:
            p.annotations.save(image.id, noisy)
        assert str(path) in str(e.value) and f"image {image.id}" in str(e.value)
        assert same_annotation(p.annotations.load(image.id), first)
        assert p.annotations.revision(image.id) == 1
        assert p.integrity_check() == ["ok"]
        assert opened
        for conn in opened:  # space freed: the same open project saves again
            with contextlib.suppress(sqlite3.ProgrammingError):  # those the store has closed already
                conn.execute("PRAGMA max_page_count = 1073741823")
        assert p.annotations.save(image.id, noisy) == 2


def test_segment_areas_handles_small_and_huge_ids():
    m = np.array([[0, 1, 1], [2 ** 24 - 1, 1, 0]], np.int32)
    assert segment_areas(m) == {1: 3, 2 ** 24 - 1: 1}
    assert segment_areas(np.array([[0, 3, 3]], np.int32)) == {3: 2}


def test_load_png_gives_the_stored_bytes_for_exporters(project, image):
    from core.idpng import decode_ids

    ann = annotation_for(image.height, image.width, 2)
    project.annotations.save(image.id, ann)
    png, segs = project.annotations.load_png(image.id)
    assert np.array_equal(decode_ids(png), ann.id_map) and segs == ann.segments
