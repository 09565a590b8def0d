"""``install_prediction(services)``: prediction and evaluation in the main window.

Builds the pieces and connects them to the window's services (session, photo, runner, reporter,
actions, panels, status bar; ``gui.shell.services``) and nothing else:

* the Prediction panel (a dock: View › Panels) with the live confidence slider,
* Model menu actions: predict this photo / the selected photos / the unlabeled photos, evaluate,
* the legend on the canvas (outlines = prediction, fills = annotation).

What it does not know, the window connects through the returned ``PredictionUi``: which model is
active (``models.set_active``, from training), which model's stored prediction the photo shows
(``modelChanged``), where the prediction's provenance matters (``provenanceChanged``), and which
photo to open for the evaluation dialog (``photoRequested``).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from gui.canvas.legend import CanvasLegend
from gui.prediction.confidence_slider import ConfidenceSlider
from gui.prediction.live_threshold import LiveThreshold
from gui.prediction.model_source import ModelSource
from gui.prediction.predict_controller import PredictController
from gui.prediction.prediction_panel import PredictionPanel

if TYPE_CHECKING:
    from gui.prediction.evaluation_dialog import EvaluationDialog
    from gui.shell.services import Services

log = logging.getLogger(__name__)


class PredictionUi(QObject):
    """What ``install_prediction`` made (``window.prediction``).

    Attributes: ``models`` (``ModelSource``: the active model and its provenance), ``slider``,
    ``live`` (``LiveThreshold``), ``controller`` (``PredictController``), ``panel``, ``dock``,
    ``evaluation`` (the evaluation dialog once opened, else None).

    Signals:
        modelChanged(object, str): the active model's id (None: none) and name.
        provenanceChanged(object): the shown prediction's provenance (or None).
        photoRequested(int): the user asked to open this photo (from the evaluation's photo list).
    """

    modelChanged = Signal(object, str)
    provenanceChanged = Signal(object)
    photoRequested = Signal(int)

    def __init__(self, services: Services):
        super().__init__(services.dialog_parent)
        s = self.services = services
        self.models = ModelSource(s.session, self)
        self.slider = ConfidenceSlider()
        self.live = LiveThreshold(s.session, s.photo, self.models, self.slider, s.runner, self)
        self.controller = PredictController(s.session, s.photo, self.models, self.slider, s.runner,
                                            s.selected_photos, s.dialog_parent, self)
        self.panel = PredictionPanel(self.controller, self.slider)
        self.dock = s.panels.place("prediction", "Prediction", self.panel)
        self.evaluation: EvaluationDialog | None = None
        self.legend = CanvasLegend(s.view)
        self._connect()
        self._add_actions()
        if s.session.project is not None:
            self.models.refresh()

    def _connect(self) -> None:
        s, panel, models, c = self.services, self.panel, self.models, self.controller
        models.changed.connect(lambda model_id, name: panel.show_model(model_id, name, models.provenance))
        models.changed.connect(self.modelChanged)
        models.provenanceChanged.connect(lambda p: panel.show_model(models.model_id, models.name, p))
        models.provenanceChanged.connect(self.provenanceChanged)
        c.notice.connect(lambda text: s.status.showMessage(text, 8000))
        c.started.connect(lambda task: s.status.track(task, "Predicting"))
        c.finished.connect(lambda report: self._predicted(report.predicted))
        panel.accept_button.clicked.connect(lambda: s.editing.accept_prediction(None))
        panel.evaluate_button.clicked.connect(self.open_evaluation)
        s.photo.predictionChanged.connect(
            lambda p, _a: panel.accept_button.setEnabled(p is not None and bool(p.segments)))
        s.photo.predictionChanged.connect(lambda p, _a: self.legend.update_for(p is not None))
        for key in ("show_annotation", "show_prediction"):  # after the action's own slot: the view has changed
            if key in s.actions.a:
                s.actions.a[key].triggered.connect(lambda _on=False: self.legend.update_for())
        panel.accept_button.setEnabled(False)

    def _add_actions(self) -> None:
        acts, c = self.services.actions, self.controller
        m = acts.menu("model", "&Model")
        m.addSeparator()
        for key, text, scope, shortcut, tip in (
                ("predict_current", "&Predict this photo", "current", "Ctrl+R",
                 "Run the active model on the open photo"),
                ("predict_selected", "Predict the &selected photos", "selected", None,
                 "Run the active model on the photos selected in the photo list"),
                ("predict_unlabeled", "Predict the &unlabeled photos", "unlabeled", None,
                 "Run the active model on every photo without an annotation")):
            m.addAction(acts.add(key, text, lambda s=scope: c.predict(s), shortcut, "mdi6.robot-outline", tip))
        cancel = acts.add("cancel_prediction", "&Cancel the prediction", c.cancel, None, "mdi6.close")
        m.addAction(cancel)
        m.addSeparator()
        m.addAction(acts.add("evaluate", "&Evaluate a model…", self.open_evaluation, None, "mdi6.chart-box-outline",
                             "PQ / SQ / RQ and box AP of a model on the annotated photos"))
        cancel.setEnabled(False)
        c.busyChanged.connect(cancel.setEnabled)

    def open_evaluation(self) -> EvaluationDialog:
        """Show the evaluation dialog (one per window, kept with its last result)."""
        from gui.prediction.evaluation_dialog import EvaluationDialog

        s = self.services
        if self.evaluation is None:
            dlg = EvaluationDialog(s.session, self.models, s.runner, self.slider.threshold(), s.reporter.report,
                                   s.dialog_parent)
            dlg.photoRequested.connect(self.photoRequested)
            dlg.evaluated.connect(self._evaluated)
            s.session.closed.connect(dlg.close)
            self.evaluation = dlg
        else:
            self.evaluation.fill_choices()
            self.evaluation.threshold.setValue(self.slider.threshold())
        self.evaluation.show()
        self.evaluation.raise_()
        return self.evaluation

    def _evaluated(self, ev) -> None:
        """The evaluation stored its predictions (the photo list and the open photo show them) and
        is kept with the project: the panels cite it if it was the active model's."""
        self._predicted([p.image_id for p in ev.photos])
        self.models.reload_provenance()

    def _predicted(self, image_ids) -> None:
        s = self.services.session
        if s.project is None:
            return
        for image_id in image_ids:
            s.predicted.add(image_id)
            s.imageChanged.emit(image_id)
        rec = self.services.photo.record
        if rec is not None and rec.id in set(image_ids):
            self.live.reload()


def install_prediction(services: Services) -> PredictionUi:
    """Add prediction and evaluation with ``services``; see ``PredictionUi``."""
    return PredictionUi(services)


__all__ = ["PredictionUi", "install_prediction"]
