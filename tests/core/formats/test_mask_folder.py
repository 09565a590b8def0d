"""Mask-folder import: class-index, palette and binary masks; EXIF; bad items reported, batch goes on."""
import json
import threading

import numpy as np
import pytest

from core.errors import CancelledError, CategoryError, DatasetError
from core.formats import (ClassMapping, ImportItem, ImportProblem, MaskFolderOptions, import_mask_folder,
                          load_class_mapping, parse_class_option)


def items(run):
    res = run.collect()
    return ([r for r in res if isinstance(r, ImportItem)], [r for r in res if isinstance(r, ImportProblem)])


def test_index_masks_with_non_ascii_names_and_subfolders(make):
    for rel in ("Brücke_Nord/Riss 1", "裂缝"):
        make.photo(f"photos/{rel}.jpg")
        make.mask(f"masks/{rel}.png", make.defect())
    got, problems = items(import_mask_folder(make.root / "photos", make.root / "masks"))
    assert problems == [] and len(got) == 2
    assert {p.photo_path.name for p in got} == {"Riss 1.jpg", "裂缝.jpg"}
    ann = got[0].annotation
    cats = sorted(s.category_id for s in ann.segments.values())
    assert cats == [1, 1, 2, 5]  # two cracks, one spalling, one background
    np.testing.assert_array_equal(ann.semantic(), make.defect())
    assert (got[0].width, got[0].height) == (40, 30)


def test_palette_masks_are_read_as_indices_not_colours(make):
    make.photo("photos/a.png")
    # palette entry 1 is white and 2 is mid grey: a grey conversion would give 255 and 128
    palette = [0, 0, 0, 255, 255, 255, 128, 128, 128] + [0] * (253 * 3)
    make.mask("masks/a_mask.png", make.defect(), palette=palette)
    got, problems = items(import_mask_folder(make.root / "photos", make.root / "masks"))
    assert problems == []
    np.testing.assert_array_equal(got[0].annotation.semantic(), make.defect())


def test_binary_masks_per_class_in_subfolders_or_suffixes(make):
    make.photo("photos/p1.jpg")
    make.photo("photos/p2.jpg")
    crack = np.zeros((30, 40), np.uint8)
    crack[2:5, 2:30] = 255
    spall = np.zeros((30, 40), np.uint8)
    spall[0:20, 0:20] = 1              # 0/1 mask, and it overlaps the crack
    make.mask("masks/crack/p1.png", crack)
    make.mask("masks/spall/p1.png", spall)
    make.mask("masks/p2_crack.png", crack)
    mapping = parse_class_option("crack=crack,spall=spalling")
    got, problems = items(import_mask_folder(make.root / "photos", make.root / "masks", mapping))
    assert problems == [] and len(got) == 2
    p1 = next(i for i in got if i.photo_path.name == "p1.jpg")
    sem = p1.annotation.semantic()
    assert sem[3, 3] == 1              # the smaller (crack) mask wins where they overlap
    assert sem[10, 10] == 2 and sem[25, 35] == 0
    assert any("claimed by several class masks" in w for w in p1.warnings)


def test_exif_rotated_photo_mask_in_upright_frame_is_accepted(make):
    make.photo("photos/phone.jpg", w=40, h=30, orientation=6)   # upright: 30 wide, 40 high
    make.mask("masks/phone.png", make.defect(40, 30))
    got, problems = items(import_mask_folder(make.root / "photos", make.root / "masks"))
    assert problems == [] and got[0].annotation.shape == (40, 30)


def test_mask_in_unrotated_frame_is_rejected_with_an_exif_hint_and_the_batch_goes_on(make):
    make.photo("photos/phone.jpg", w=40, h=30, orientation=6)
    make.mask("masks/phone.png", make.defect(30, 40))             # drawn on the stored pixels
    make.photo("photos/other.jpg", w=40, h=30)
    make.mask("masks/other.png", make.defect(20, 20))             # plainly the wrong size
    make.photo("photos/good.jpg")
    make.mask("masks/good.png", make.defect())
    got, problems = items(import_mask_folder(make.root / "photos", make.root / "masks"))
    assert [i.photo_path.name for i in got] == ["good.jpg"]
    by_name = {p.path.rsplit("/", 1)[-1]: p for p in problems}
    assert "EXIF orientation 6" in by_name["phone.png"].hint
    assert "never resized" in by_name["other.png"].hint


def test_bad_items_are_reported_each_with_a_reason(make):
    make.photo("photos/ok.jpg")
    make.mask("masks/ok.png", make.defect())
    make.photo("photos/no_mask.jpg")
    make.mask("masks/orphan.png", make.defect())
    (make.root / "photos").joinpath("text.jpg").write_text("not a photo")
    make.mask("masks/text.png", make.defect())
    make.photo("photos/unknown.jpg")
    m = make.defect()
    m[0, 0] = 9
    make.mask("masks/unknown.png", m)
    make.photo("photos/broken.jpg")
    (make.root / "masks" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    run = import_mask_folder(make.root / "photos", make.root / "masks")
    got, problems = items(run)
    assert [i.photo_path.name for i in got] == ["ok.jpg"]
    reasons = " | ".join(p.message() for p in problems)
    assert "no_mask.jpg: no mask found" in reasons
    assert "orphan.png: mask without a matching photo" in reasons
    assert "text.jpg" in reasons and "not an image" in reasons
    assert "pixel values [9]" in reasons
    assert "broken.png" in reasons
    assert run.report.images == 1 and len(run.report.skipped) == 5
    assert run.report.segments_by_name() == {"crack": 2, "spalling": 1, "background": 1}


def test_fill_makes_unlabelled_pixels_a_stuff_class_and_ignore_stays_void(make):
    make.photo("photos/a.jpg")
    m = make.defect()
    m[0, :] = 255
    make.mask("masks/a.png", m)
    mapping = parse_class_option("1=crack,2=spalling,5=background,255=ignore")
    run = import_mask_folder(make.root / "photos", make.root / "masks", mapping,
                             MaskFolderOptions(fill="concrete", connectivity=4, min_area=5))
    (item,), _ = items(run)
    sem = item.annotation.semantic()
    assert (sem[0] == 0).all()                            # ignored border stays void
    assert sem[8, 30] == 4 and (sem[1:] != 0).all()       # everything else labelled


def test_mapping_file_with_own_categories(make, tmp_path):
    make.photo("photos/a.jpg")
    make.mask("masks/a.png", (make.defect() > 0).astype(np.uint8) * 200)
    path = tmp_path / "classes.json"
    path.write_text(json.dumps({"categories": [{"id": 7, "name": "Riss", "isthing": 1, "color": [255, 0, 0]},
                                               {"id": 9, "name": "Beton", "isthing": 0}],
                                "values": {"200": "Riss", "0": "Beton"}}), encoding="utf-8")
    mapping = load_class_mapping(path)
    (item,), _ = items(import_mask_folder(make.root / "photos", make.root / "masks", mapping))
    assert {s.category_id for s in item.annotation.segments.values()} == {7, 9}
    assert (item.annotation.id_map > 0).all()   # value 0 mapped to stuff: the inverted defect mask


def test_bad_mappings_and_folders_are_clear_errors(make, tmp_path):
    with pytest.raises(CategoryError, match="unknown category 'rust'"):
        parse_class_option("1=rust")
    assert parse_class_option("1=rust:thing").categories.by_name("rust").isthing
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CategoryError, match="bad.json"):
        load_class_mapping(bad)
    make.photo("photos/a.jpg")
    with pytest.raises(DatasetError, match="masks folder does not exist"):
        import_mask_folder(make.root / "photos", make.root / "nope")
    with pytest.raises(CategoryError, match="thing class"):
        import_mask_folder(make.root / "photos", make.root / "photos" / "..",
                           options=MaskFolderOptions(fill="crack"))
    with pytest.raises(CategoryError):
        ClassMapping(ClassMapping.identity().categories, {1: 99})


def test_progress_and_cancel(make):
    for k in range(3):
        make.photo(f"photos/{k}.jpg")
        make.mask(f"masks/{k}.png", make.defect())
    calls = []
    list(import_mask_folder(make.root / "photos", make.root / "masks", progress=lambda *a: calls.append(a)))
    assert [(d, t) for d, t, _ in calls] == [(1, 3), (2, 3), (3, 3)]
    stop = threading.Event()
    run = import_mask_folder(make.root / "photos", make.root / "masks", progress=lambda *a: stop.set(),
                             cancel=stop)
    with pytest.raises(CancelledError):
        list(run)
    assert run.report.images == 1
