"""labelme files: shapes, groups, drawing order, imageData null or broken, backslash paths, EXIF."""
import base64
import json

import pytest

from core.errors import DatasetError
from core.formats import ImportItem, ImportProblem, import_labelme


def write_labelme(path, shapes, image_path, w=40, h=30, image_data=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": image_path,
                                "imageData": image_data, "imageHeight": h, "imageWidth": w}), encoding="utf-8")
    return path


def shape(label, points, kind="polygon", group=None):
    return {"label": label, "points": points, "group_id": group, "shape_type": kind, "flags": {}}


def split(run):
    res = run.collect()
    return [r for r in res if isinstance(r, ImportItem)], [r for r in res if isinstance(r, ImportProblem)]


def test_polygon_rectangle_circle_groups_and_drawing_order(make):
    make.photo("lm/Brücke_Nord/Riss 1.jpg")
    shapes = [
        shape("spalling", [[0, 0], [20, 0], [20, 20], [0, 20]]),
        shape("crack", [[5, 5], [10, 5], [10, 10]]),                       # drawn later: on top
        shape("exposed_rebar", [[25, 2], [38, 8]], "rectangle", group=1),
        shape("exposed_rebar", [[25, 20], [38, 27]], "rectangle", group=1),  # same group: one instance
        shape("concrete", [[30, 15], [32, 15]], "circle"),
        shape("crack", [[0, 29], [39, 29]], "line"),                        # no area: skipped, warned
        shape("_background_", [[0, 25], [5, 25], [5, 29]]),
    ]
    write_labelme(make.root / "lm/Brücke_Nord/Riss 1.json", shapes, "Riss 1.jpg")
    run = import_labelme(make.root / "lm")
    (item,), problems = split(run)
    assert problems == []
    sem = item.annotation.semantic()
    assert sem[7, 8] == 1 and sem[15, 15] == 2 and sem[15, 31] == 4 and sem[5, 30] == 3
    rebar = [s for s in item.annotation.segments.values() if s.category_id == 3]
    assert len(rebar) == 1 and item.annotation.id_map[5, 30] == item.annotation.id_map[24, 30]
    assert any("line without area" in w for w in item.warnings)
    assert sem[27, 2] == 0


def test_image_data_null_broken_and_backslash_paths(make):
    make.photo("lm/photos/裂缝.jpg")
    make.photo("lm/b.jpg")
    poly = [shape("crack", [[1, 1], [30, 1], [30, 5]])]
    write_labelme(make.root / "lm/a.json", poly, "photos\\裂缝.jpg", image_data=None)
    write_labelme(make.root / "lm/b.json", poly, "C:\\Users\\x\\b.jpg", image_data="!!not base64 or an image!!")
    items, problems = split(import_labelme(make.root / "lm"))
    assert problems == [] and sorted(i.photo_path.name for i in items) == ["b.jpg", "裂缝.jpg"]
    b = next(i for i in items if i.photo_path.name == "b.jpg")
    assert any("imageData is broken" in w for w in b.warnings)


def test_valid_image_data_is_accepted_without_warning(make):
    photo = make.photo("lm/a.png")
    blob = base64.b64encode(photo.read_bytes()).decode()
    write_labelme(make.root / "lm/a.json", [shape("crack", [[1, 1], [30, 1], [30, 5]])], "a.png", image_data=blob)
    (item,), _ = split(import_labelme(make.root / "lm"))
    assert item.warnings == ()


def test_unknown_labels_added_or_reported(make, cats):
    make.photo("lm/a.jpg")
    write_labelme(make.root / "lm/a.json", [shape("efflorescence", [[1, 1], [30, 1], [30, 5]])], "a.jpg")
    run = import_labelme(make.root / "lm")
    (item,), _ = split(run)
    assert run.categories.by_name("efflorescence").isthing
    (item,), (problem,) = split(import_labelme(make.root / "lm", categories=cats, add_unknown=False))
    assert "unknown label" in problem.reason and item.annotation.segments == {}


def test_bad_files_and_shapes_are_reported_and_the_rest_imports(make):
    make.photo("lm/ok.jpg")
    write_labelme(make.root / "lm/ok.json", [shape("crack", [[1, 1], [30, 1]]),            # 2-point polygon
                                             shape("crack", "nonsense"),
                                             shape("crack", [[1, 1], [30, 1], [30, 9]])], "ok.jpg")
    (make.root / "lm/broken.json").write_text("{", encoding="utf-8")
    (make.root / "lm/noshapes.json").write_text("{}", encoding="utf-8")
    write_labelme(make.root / "lm/nophoto.json", [], "gone.jpg", image_data="aGVsbG8=")
    make.photo("lm/rot.jpg", w=40, h=30, orientation=6)
    write_labelme(make.root / "lm/rot.json", [], "rot.jpg", w=40, h=30)  # drawn on the unrotated pixels
    items, problems = split(import_labelme(make.root / "lm"))
    assert [i.photo_path.name for i in items] == ["ok.jpg"]
    assert len(items[0].annotation.segments) == 1
    text = " | ".join(p.message() for p in problems)
    assert "has 2 point(s)" in text and "points must be a list" in text
    assert "broken.json" in text and "missing the key 'shapes'" in text
    assert "gone.jpg" in text and "embeds imageData" in text
    assert "EXIF orientation 6" in text


def test_nothing_to_import_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="no labelme"):
        import_labelme(tmp_path)
