"""Report inputs from a project (``core.project.Project``): photos, calibrations, categories, info.

The report only reads: the CLI opens the project read-only, so a report can be made while the
app has the project open. Annotations and photos are loaded lazily, one photo at a time.

Which figures a photo gets (``source``):

* ``"annotation"``: photos with a saved annotation, measured on it;
* ``"prediction"``: photos with a stored prediction of the model, at ``min_score``;
* ``"auto"`` (default): the annotation where there is one, else the model's prediction.

Every photo of the scope (``image_ids``, default all) is in the report: one without figures is
listed with why ("Not annotated and not predicted"). The header names the model with its
evaluation on the project (``core.report.provenance``), and a model that has not proved itself
there never says "no defects" of a photo.
"""
from __future__ import annotations

from typing import TYPE_CHECKING
from collections.abc import Iterable

from core.measure.exposure import project_width_limit
from core.categories import CategorySet
from core.errors import ProjectError
from core.report.model import SOURCE_ANNOTATION, SOURCE_NONE, SOURCE_PREDICTION, ReportInfo, ReportPhoto
from core.report.provenance import NOT_COVERED, model_provenance

if TYPE_CHECKING:
    from core.project import ModelRecord, Project

SOURCES = ("auto", SOURCE_ANNOTATION, SOURCE_PREDICTION)


def _latest_model_with_predictions(project: Project) -> int | None:
    pairs = project.predictions.list()
    if not pairs:
        return None
    return max(pairs, key=lambda p: (p[2], p[1]))[1]  # the most recently updated


def describe_model(project: Project, model: ModelRecord) -> str:
    """One line about a model: name, id, configuration name, date, and its evaluation on the
    project ("PQ 42.1 on 8 validation photos of this project" or "not evaluated on this project")."""
    text = f"{model.name} (id {model.id}"
    arch = next((model.config.get(k) for k in ("name", "arch", "backbone") if model.config.get(k)), None)
    if arch:
        text += f", {arch}"
    text += f", registered {model.created_at[:10]})"
    return f"{text}: {model_provenance(project, model.id).evaluation_text()}"


def report_from_project(project: Project, *, source: str = "auto", model_id: int | None = None,
                        image_ids: Iterable[int] | None = None, min_score: float | None = None
                        ) -> tuple[list[ReportPhoto], CategorySet, ReportInfo]:
    """The photos, categories and header of a report of ``project``.

    Args:
        source: ``"auto"``, ``"annotation"`` or ``"prediction"`` (see the module docstring).
        model_id: the model whose predictions are used; default: the one with the most recently
            stored prediction.
        image_ids: restrict to these photos (default: every photo of the project); photos of
            the scope without figures are listed with ``no_figures`` saying why.
        min_score: confidence threshold for predictions, written in the header.
    Returns:
        ``(photos, categories, info)`` for ``core.report.write_report``.
    Raises:
        ProjectError: unknown source or model.
    """
    if source not in SOURCES:
        raise ProjectError(f"unknown report source {source!r}", project.path, hint=f"use one of {SOURCES}")
    categories = project.categories.get()
    annotated = set(project.annotations.image_ids()) if source != SOURCE_PREDICTION else set()
    model = None
    predicted: set[int] = set()
    if source != SOURCE_ANNOTATION:
        mid = model_id if model_id is not None else _latest_model_with_predictions(project)
        if mid is not None:
            model = project.models.get(mid)
            predicted = {img for img, m, _ in project.predictions.list(model_id=mid)}
        elif source == SOURCE_PREDICTION:
            raise ProjectError("the project holds no predictions", project.path,
                               hint="run a model on the photos first")
    wanted = None if image_ids is None else {int(i) for i in image_ids}
    calibrations = project.calibration.all()
    photos = []
    for rec in project.images.list():
        if wanted is not None and rec.id not in wanted:
            continue
        if rec.id in annotated:
            src, loader = SOURCE_ANNOTATION, _annotation_loader(project, rec.id)
        elif model is not None and rec.id in predicted:  # (predicted is empty without a model)
            src, loader = SOURCE_PREDICTION, _prediction_loader(project, rec.id, model.id)
        else:
            src, loader = SOURCE_NONE, None
        cal = calibrations.get(rec.id)
        photos.append(ReportPhoto(rec.name, rec.path if rec.exists else None, loader,
                                  cal, src,
                                  no_figures=NOT_COVERED[source] if loader is None else ""))
    used = model if model is not None and any(p.source == SOURCE_PREDICTION for p in photos) else None
    info = ReportInfo(project=project.name, model=describe_model(project, used) if used else None,
                      absence_reason=model_provenance(project, used.id).absence_reason() if used else None,
                      min_score=min_score if used else None,
                      details=(("Project file", str(project.path)),), width_limit=project_width_limit(project))
    return photos, categories, info


def _annotation_loader(project: Project, image_id: int):
    def load():
        ann = project.annotations.load(image_id)
        if ann is None:
            raise ProjectError(f"the annotation of image {image_id} disappeared", project.path)
        return ann
    return load


def _prediction_loader(project: Project, image_id: int, model_id: int):
    def load():
        ann = project.predictions.load_annotation(image_id, model_id)
        if ann is None:
            raise ProjectError(f"the prediction of model {model_id} for image {image_id} has no result",
                               project.path)
        return ann
    return load
