"""Predictions in the project: stored per image and model, shown at once, re-thresholded in place."""
from __future__ import annotations

import numpy as np
import pytest

from core.categories import Category, CategorySet, default_categories
from core.errors import CategoryError
from core.inference.store import load_prediction, predict_images, register_model, rethreshold
from core.panoptic import SOURCE_MANUAL, PanopticAnnotation, Segment
from core.project import Project


@pytest.fixture
def project(tmp_path, photos):
    p = Project.create(tmp_path / "survey.pinspect", default_categories())
    p.images.add_files(photos)
    yield p
    p.close()


def test_predictions_are_stored_shown_and_rethresholded(project, predictor, tmp_path):
    report = predict_images(project, predictor, threshold=0.4)
    ids = project.images.ids()
    assert report.predicted == ids and not report.failed and not report.cancelled
    assert register_model(project, predictor) == report.model_id  # the same checkpoint is one model
    from core.imageio import load_image
    from core.inference.thin_refine import grid_cell, refine_thin

    for image_id in ids:
        shown = project.predictions.load_annotation(image_id, report.model_id)  # what opening a photo shows
        pred = load_prediction(project, image_id, report.model_id)
        assert shown.shape == project.images.size(image_id)
        # The model's result, its cracks redrawn on the photo at full resolution.
        expected = refine_thin(pred.panoptic(0.4), load_image(project.images.get(image_id).path), pred.categories,
                               cell=grid_cell(pred))
        assert np.array_equal(shown.id_map, expected.id_map)
        assert shown.segments == expected.segments
    # Without refinement the stored result is the model's own.
    coarse = predict_images(project, predictor, ids[:1], threshold=0.4, thin_refine=False)
    shown = project.predictions.load_annotation(ids[0], coarse.model_id)
    assert np.array_equal(shown.id_map, load_prediction(project, ids[0], coarse.model_id).panoptic(0.4).id_map)
    # The slider moves: the stored result follows, without the network.
    image_id = ids[0]
    pred = load_prediction(project, image_id, report.model_id)
    high = rethreshold(project, image_id, report.model_id, 0.8, prediction=pred)
    stored = project.predictions.load(image_id, report.model_id)
    assert stored.meta["threshold"] == 0.8 and stored.meta["min_threshold"] == predictor.min_threshold
    assert stored.annotation.segments == high.segments == pred.panoptic(0.8).segments
    assert len(high.segments) <= len(pred.panoptic(0.4).segments)
    # Reopened from disk it is still there.
    path = project.path
    project.close()
    with Project.open(path) as again:
        assert again.predictions.load_annotation(image_id, report.model_id).segments == high.segments


def test_manual_annotation_is_kept_on_request(project, predictor):
    image_id = project.images.ids()[1]
    h, w = project.images.size(image_id)
    ids = np.zeros((h, w), np.int32)
    ids[: h // 2] = 5
    manual = PanopticAnnotation(ids, {5: Segment(5, 1, source=SOURCE_MANUAL)})
    project.annotations.save(image_id, manual)
    report = predict_images(project, predictor, [image_id], threshold=0.3, keep_manual=True)
    shown = project.predictions.load_annotation(image_id, report.model_id)
    assert (shown.id_map[: h // 2] == 5).all() and shown.segments[5] == manual.segments[5]
    assert (shown.id_map[h // 2:] != 0).any()
    # Re-thresholding remembers the choice.
    again = rethreshold(project, image_id, report.model_id, 0.6)
    assert (again.id_map[: h // 2] == 5).all()
    assert project.annotations.load(image_id).segments == manual.segments  # the annotation itself untouched


def test_model_with_other_categories_is_refused(tmp_path, predictor, photos):
    cats = CategorySet((Category(1, "crack", True, (255, 0, 0), "defect"),
                        Category(2, "rust", True, (0, 0, 255), "defect"),
                        Category(4, "concrete", False, (128, 128, 128), "surface")))
    with Project.create(tmp_path / "other.pinspect", cats) as project:
        project.images.add_files(photos[:1])
        with pytest.raises(CategoryError, match="spalling"):
            predict_images(project, predictor)
        assert project.predictions.list() == [] and project.models.list() == []


def test_missing_photo_is_reported_and_the_rest_predicted(project, predictor, photos):
    photos[1].unlink()
    report = predict_images(project, predictor, threshold=0.5)
    assert len(report.predicted) == 2
    assert [(f[1], f[2]) for f in report.failed] == [(str(photos[1]), "the photo file is missing")]


def test_a_prediction_deleted_while_it_is_rethresholded_is_a_project_error(project, predictor, monkeypatch):
    """Another window may delete the prediction between the record's read and the payload's."""
    import core.inference.store as store
    from core.errors import ProjectError

    image_id = project.images.ids()[0]
    report = predict_images(project, predictor, [image_id], threshold=0.4, thin_refine=False)
    real = store.load_prediction

    def deleted_meanwhile(p, i, m):
        p.predictions.delete(i, m)
        return real(p, i, m)

    monkeypatch.setattr(store, "load_prediction", deleted_meanwhile)
    with pytest.raises(ProjectError, match="no prediction"):
        rethreshold(project, image_id, report.model_id, 0.6)
