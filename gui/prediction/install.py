"""``install_prediction(window)``: add prediction and evaluation to a ``MainWindow``.

Builds the pieces and connects them to the window's services (session, photo, runner, reporter,
status bar) and nothing else:

* the Prediction panel (a dock: View › Panels) with the live confidence slider,
* Model menu actions: predict this photo / the selected photos / the unlabeled photos, evaluate,
* the active model, followed from the training package's ``activeModelChanged`` when it exists,
* which model's stored prediction the photo loader shows.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from gui.prediction.confidence_slider import ConfidenceSlider
from gui.prediction.live_threshold import LiveThreshold
from gui.prediction.model_source import ModelSource
from gui.prediction.predict_controller import PredictController
from gui.prediction.prediction_panel import PredictionPanel

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDockWidget

    from gui.shell.main_window import MainWindow
    from gui.prediction.evaluation_dialog import EvaluationDialog

log = logging.getLogger(__name__)


@dataclass
class PredictionUi:
    """What ``install_prediction`` made (``window.prediction``)."""

    window: MainWindow
    models: ModelSource
    slider: ConfidenceSlider
    live: LiveThreshold
    controller: PredictController
    panel: PredictionPanel
    dock: QDockWidget
    evaluation: EvaluationDialog | None = None
    _training_linked: list = field(default_factory=list)

    def open_evaluation(self) -> EvaluationDialog:
        """Show the evaluation dialog (one per window, kept with its last result)."""
        from gui.prediction.evaluation_dialog import EvaluationDialog

        w = self.window
        if self.evaluation is None:
            dlg = EvaluationDialog(w.session, self.models, w.runner, self.slider.threshold(), w.reporter.report, w)
            dlg.photoRequested.connect(lambda image_id: w.browser.select_image(image_id))
            dlg.evaluated.connect(self._evaluated)
            w.session.closed.connect(dlg.close)
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
        s = self.window.session
        if s.project is None:
            return
        for image_id in image_ids:
            s.predicted.add(image_id)
            s.imageChanged.emit(image_id)
        rec = self.window.photo.record
        if rec is not None and rec.id in set(image_ids):
            self.live.reload()

    def link_training(self) -> bool:
        """Follow ``window.training.activeModelChanged`` once it exists."""
        training = getattr(self.window, "training", None)
        signal = getattr(training, "activeModelChanged", None)
        if signal is None or self._training_linked:
            return bool(self._training_linked)
        signal.connect(self.models.set_active)
        self._training_linked.append(signal)
        return True


def install_prediction(window: MainWindow) -> PredictionUi:
    w = window
    models = ModelSource(w.session, w)
    slider = ConfidenceSlider()
    live = LiveThreshold(w.session, w.photo, models, slider, w.runner, w)
    controller = PredictController(w.session, w.photo, models, slider, w.runner, w.browser.selected_ids, w, w)
    panel = PredictionPanel(controller, slider)
    dock = w.add_panel("prediction", "Prediction", panel)
    _share_bottom_area(w, dock)
    ui = PredictionUi(w, models, slider, live, controller, panel, dock)

    def model_changed(model_id, name: str) -> None:
        w.loader.model_id = model_id  # the photo shows this model's stored prediction
        panel.show_model(model_id, name, models.provenance)

    def provenance_changed(provenance) -> None:
        panel.show_model(models.model_id, models.name, provenance)
        measurement = getattr(w, "measurement", None)  # its panel reads the prediction's figures too
        if measurement is not None:
            measurement.panel.set_absence_reason(None if provenance is None else provenance.absence_reason())

    models.changed.connect(model_changed)
    models.provenanceChanged.connect(provenance_changed)
    controller.notice.connect(lambda text: w.status.showMessage(text, 8000))
    controller.started.connect(lambda task: w.status.track(task, "Predicting"))
    controller.finished.connect(lambda report: ui._predicted(report.predicted))
    panel.accept_button.clicked.connect(lambda: w.controller.accept_prediction(None))
    panel.evaluate_button.clicked.connect(ui.open_evaluation)
    w.photo.predictionChanged.connect(lambda p, _a: panel.accept_button.setEnabled(p is not None and bool(p.segments)))
    from gui.canvas.legend import CanvasLegend  # outlines = prediction, fills = annotation

    legend = CanvasLegend(w.view)
    w.photo.predictionChanged.connect(lambda p, _a: legend.update_for(p is not None))
    for key in ("show_annotation", "show_prediction"):  # after the action's own slot: the view has changed
        w.actions.a[key].triggered.connect(lambda _on=False: legend.update_for())
    panel.accept_button.setEnabled(False)
    _add_actions(w, ui)
    # The training panel may be installed before or after this: link now or once the loop runs.
    if not ui.link_training():
        QTimer.singleShot(0, ui.link_training)
    if w.session.project is not None:
        models.refresh()
    return ui


def _share_bottom_area(w: MainWindow, dock: QDockWidget) -> None:
    """Tab the panel with the other model panels already in the bottom area (measurements,
    training): side by side they would make the window's minimum width their sum."""
    from PySide6.QtCore import Qt

    others = [d for k, d in w.docks.items() if d is not dock and not d.isFloating()
              and w.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea]
    if others:
        w.tabifyDockWidget(others[0], dock)
        dock.raise_()


def _add_actions(w: MainWindow, ui: PredictionUi) -> None:
    m = w.actions.model_menu
    m.addSeparator()
    c = ui.controller
    for key, text, scope, shortcut, tip in (
            ("predict_current", "&Predict this photo", "current", "Ctrl+R", "Run the active model on the open photo"),
            ("predict_selected", "Predict the &selected photos", "selected", None,
             "Run the active model on the photos selected in the photo list"),
            ("predict_unlabeled", "Predict the &unlabeled photos", "unlabeled", None,
             "Run the active model on every photo without an annotation")):
        m.addAction(w.actions.add(key, text, lambda s=scope: c.predict(s), shortcut, "mdi6.robot-outline", tip))
    m.addAction(w.actions.add("cancel_prediction", "&Cancel the prediction", c.cancel, None, "mdi6.close"))
    m.addSeparator()
    m.addAction(w.actions.add("evaluate", "&Evaluate a model…", ui.open_evaluation, None, "mdi6.chart-box-outline",
                              "PQ / SQ / RQ and box AP of a model on the annotated photos"))
    cancel = w.actions.a["cancel_prediction"]
    cancel.setEnabled(False)
    c.busyChanged.connect(cancel.setEnabled)


__all__ = ["PredictionUi", "install_prediction"]
