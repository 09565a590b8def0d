"""A model's evaluation on a project, kept with the project: what reports and panels cite.

Two sources, the newest explicit one first:

* ``keep_evaluation``: ``evaluate_project`` with a ``model_id`` (the window's Evaluate dialog,
  ``main.py evaluate`` on a project, the demo) stores PQ / SQ / RQ, the number of photos and how
  many of them are validation photos, under the project setting ``models.evaluation.<id>``;
* the validation that training runs after its epochs (``val/PQ`` and ``val/images`` metric
  curves): the best epoch's PQ, since the registered checkpoint holds the best weights.

Figures are percentages (0-100) as panopticapi's table prints them.
"""
from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from core.errors import ProjectError
from core.project.schema import now_iso

if TYPE_CHECKING:
    from core.evaluation.project_eval import ProjectEvaluation
    from core.project import Project

log = logging.getLogger(__name__)

SETTING_PREFIX = "models.evaluation."
FROM_EVALUATION, FROM_TRAINING = "evaluation", "training"


@dataclass(frozen=True)
class KeptEvaluation:
    """How one model did on the project's annotated photos.

    Attributes:
        pq, sq, rq: percentages (NaN when unknown, e.g. training logs no SQ of old runs).
        n_photos: photos compared with their annotation (0: unknown).
        n_val: how many of them are in the validation split.
        threshold: the confidence threshold of the predictions (None for training's validation).
        source: ``"evaluation"`` (evaluated on request) or ``"training"`` (validation while training).
        recorded_at: ISO time, or "" when unknown.
    """

    pq: float
    sq: float
    rq: float
    n_photos: int
    n_val: int
    threshold: float | None
    source: str
    recorded_at: str = ""

    def photos_text(self) -> str:
        """"8 validation photos", "6 annotated photos", "an unknown number of validation photos"."""
        kind = "validation" if self.n_val == self.n_photos else "annotated"
        if self.n_photos <= 0:
            return f"an unknown number of {kind} photos"
        return f"{self.n_photos} {kind} photo{'s' if self.n_photos != 1 else ''}"


def keep_evaluation(project: Project, model_id: int, ev: ProjectEvaluation) -> KeptEvaluation:
    """Store ``ev`` as model ``model_id``'s evaluation on ``project`` (replacing an older one)."""
    val_ids = {r.id for r in project.images.list(split="val")}
    ids = [p.image_id for p in ev.photos]
    row = ev.pq.all
    kept = KeptEvaluation(round(100 * row.pq, 1), round(100 * row.sq, 1), round(100 * row.rq, 1), len(ids),
                          sum(1 for i in ids if i in val_ids), float(ev.threshold), FROM_EVALUATION, now_iso())
    # The model's registration date guards against a later model that reuses a deleted one's id.
    project.set_setting(f"{SETTING_PREFIX}{int(model_id)}",
                        dict(asdict(kept), model_created_at=project.models.get(model_id).created_at))
    return kept


def kept_evaluation(project: Project, model_id: int) -> KeptEvaluation | None:
    """The model's evaluation on ``project``: the kept one, else training's validation, else None."""
    try:
        model = project.models.get(model_id)
    except ProjectError:
        return None
    stored = project.get_setting(f"{SETTING_PREFIX}{int(model_id)}")
    if isinstance(stored, dict) and stored.get("model_created_at") == model.created_at:
        try:
            return KeptEvaluation(float(stored["pq"]), float(stored["sq"]), float(stored["rq"]),
                                  int(stored["n_photos"]), int(stored["n_val"]), stored.get("threshold"),
                                  FROM_EVALUATION, str(stored.get("recorded_at", "")))
        except (KeyError, TypeError, ValueError) as e:  # a damaged entry: fall back, and say so in the log
            log.warning("%s: the kept evaluation of model %d is unreadable (%s)", project.path, model_id, e)
    return _training_validation(project.models.metrics(model_id))


def _training_validation(metrics: dict[str, list[tuple[int, float]]]) -> KeptEvaluation | None:
    curve = [(step, v) for step, v in metrics.get("val/PQ", []) if math.isfinite(v)]
    if not curve:
        return None
    step, pq = max(curve, key=lambda sv: (sv[1], sv[0]))

    def at(name: str) -> float:
        return next((v for s, v in metrics.get(name, []) if s == step), float("nan"))

    images = at("val/images")
    n = int(images) if math.isfinite(images) else 0
    return KeptEvaluation(round(pq, 1), round(at("val/SQ"), 1), round(at("val/RQ"), 1), n, n, None, FROM_TRAINING)
