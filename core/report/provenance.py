"""Where a report's figures come from, and whether they may say "no defects".

A model that has learnt nothing predicts concrete everywhere; measured as it stands, its result
reads "no defects on this photo" on a photo full of cracks. So a model's finding of *absence*
is only stated when the model proved itself on the project's own annotated photos:

* it was evaluated there (``core.evaluation.kept``: on request, or training's validation) on at
  least ``MIN_EVALUATION_PHOTOS`` photos, and
* its PQ there is at least ``MIN_PQ`` (percent).

Otherwise a photo whose prediction holds no defect says why no conclusion can be drawn. The same
texts serve every output (HTML, PDF, panels), so they all say the same thing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.evaluation.kept import FROM_TRAINING, KeptEvaluation, kept_evaluation

if TYPE_CHECKING:
    from core.project import Project

#: Below this PQ (percent) on the project's photos a model is taken to have learnt nothing usable.
MIN_PQ = 10.0
#: Fewer evaluated photos than this say too little about a model to trust an absence.
MIN_EVALUATION_PHOTOS = 5

NO_DEFECTS = "No defects on this photo."
#: A photo of the report's scope without figures, by what was asked for.
NOT_COVERED = {
    "auto": "Not annotated and not predicted: no figures for this photo.",
    "annotation": "Not annotated: no figures for this photo.",
    "prediction": "Not predicted by the model: no figures for this photo.",
}


@dataclass(frozen=True)
class ModelProvenance:
    """A model and its evaluation on one project.

    Attributes:
        model_id, name: the registered model.
        evaluation: its kept evaluation on the project, None when it was never evaluated there.
    """

    model_id: int
    name: str
    evaluation: KeptEvaluation | None

    def evaluation_text(self) -> str:
        """"PQ 42.1 on 8 validation photos of this project" or "not evaluated on this project"."""
        ev = self.evaluation
        if ev is None or not math.isfinite(ev.pq):
            return "not evaluated on this project"
        how = " (during training)" if ev.source == FROM_TRAINING else ""
        return f"PQ {ev.pq:.1f} on {ev.photos_text()} of this project{how}"

    def absence_reason(self) -> str | None:
        """Why this model's empty result does not show that a photo has no defects; None when it may."""
        ev = self.evaluation
        if ev is None or not math.isfinite(ev.pq):
            return ("the model was never evaluated on this project's annotated photos, so nothing shows "
                    "that it finds defects")
        if ev.n_photos < MIN_EVALUATION_PHOTOS:
            count = "an unknown number of" if ev.n_photos <= 0 else f"only {ev.n_photos}"
            return (f"the model was evaluated on {count} annotated photos; at least {MIN_EVALUATION_PHOTOS} "
                    "are needed to trust it")
        if ev.pq < MIN_PQ:
            return (f"the model's PQ on this project's photos is {ev.pq:.1f}, below {MIN_PQ:.0f}: it has not "
                    "learnt to find defects")
        return None

    def line(self) -> str:
        """One line for headers and panels: name, id and the evaluation."""
        return f"{self.name} (id {self.model_id}): {self.evaluation_text()}"


def model_provenance(project: Project, model_id: int) -> ModelProvenance:
    """The provenance of a registered model's figures on ``project``. Raises ``ProjectError``
    for an unknown id."""
    return ModelProvenance(int(model_id), project.models.get(model_id).name, kept_evaluation(project, model_id))


def empty_result_text(from_model: bool, absence_reason: str | None) -> str:
    """What a photo without a defect says: "No defects on this photo." from an annotation or a
    model that proved itself; otherwise that the model found none and why that proves nothing."""
    if not from_model or absence_reason is None:
        return NO_DEFECTS
    return f"The model found no defect here, but that does not mean there is none: {absence_reason}."
