"""The main window: composes the views, the editing controller, the workers and the actions.

Layout: photos on the left, the canvas in the middle, categories and segments on the right,
tool bars on top, the status bar below (cursor, zoom, save state, background work). The bottom
dock area is left to the features' panels (measurements, prediction, training, models: tabbed).

The features (``gui.measure``, ``gui.prediction``, ``gui.training``) are installed with the
window's ``Services`` (``gui.shell.services``), never the window itself; this module connects
them to each other (``_install_features``) and restores the saved layout once, after all of them
have placed their panels.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QUndoGroup
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QUndoView

from core.panoptic import PanopticAnnotation
from gui.shell.actions import WindowActions
from gui.canvas.labels_item import LabelsItem
from gui.canvas.photo_view import PhotoView
from gui.editing.autosave import Autosaver
from gui.editing.document import AnnotationDocument
from gui.editing.editing_controller import EditingController
from gui.editing.tool_settings import ToolSettings
from gui.shell.error_reporter import ErrorReporter
from gui.session.photo_session import PhotoSession
from gui.shell.project_actions import ProjectActions
from gui.session.project_session import ProjectSession
from gui.shell.services import PanelPlacement, Services
from gui.shell.settings import Preferences
from gui.shell.status_bar import StatusBar
from gui.views.category_panel import CategoryPanel
from gui.views.photo_browser import PhotoBrowser
from gui.views.segment_panel import SegmentPanel
from gui.shell.window_state import WindowState
from gui.workers.base import TaskRunner
from gui.workers.photo_loader import PhotoLoader
from gui.workers.thumbnails import ThumbnailProvider

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    # The window's actions by name. The attribute hides QWidget.actions(), which nothing in this
    # application calls on the window; renaming it means every feature's install code at once.
    actions: WindowActions  # type: ignore[assignment]  # shadows the QWidget.actions() method

    def __init__(self, prefs: Preferences | None = None, show_error_dialogs: bool = True,
                 autosave_delay_ms: int = 800):
        super().__init__()
        self.setObjectName("mainWindow")
        self.prefs = prefs or Preferences()
        # services
        self.reporter = ErrorReporter(self, show_error_dialogs)
        self.runner = TaskRunner(self, max_threads=4, on_error=self.reporter.report)
        self.session = ProjectSession(self.runner, self)
        self.thumbnails = ThumbnailProvider(self)
        self.tool_settings = ToolSettings(self)
        self.undo_group = QUndoGroup(self)
        # canvas and editing
        self.view = PhotoView()
        self.labels = LabelsItem()
        self.view.scene().addItem(self.labels)
        self.controller = EditingController(self.view, self.tool_settings, self.runner, self.reporter.report, self)
        self.loader = PhotoLoader(self.runner, self)
        self.autosaver = Autosaver(self._save_annotation, self.runner, autosave_delay_ms, self)
        self.photo = PhotoSession(self.session, self.view, self.controller, self.loader, self.autosaver, self)
        # panels
        self.browser = PhotoBrowser(self.session, self.thumbnails)
        self.categories_panel = CategoryPanel(self.session, self.tool_settings)
        self.segments_panel = SegmentPanel(self.controller, self.session)
        self.history = QUndoView(self.undo_group)
        self.history.setEmptyLabel("Opened")
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.project_actions = ProjectActions(self, self.session, self.prefs, self.reporter, self.status, self)
        self.setCentralWidget(self.view)
        self.actions = WindowActions(self)
        self.panels = PanelPlacement(self, self.actions.panels_menu)
        self.docks: dict[str, QDockWidget] = self.panels.docks
        left, right = Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea
        self.panels.place("photos", "Photos", self.browser, left, tabbed=False)
        self.panels.place("categories", "Categories", self.categories_panel, right, tabbed=False)
        self.panels.place("segments", "Segments", self.segments_panel, right, tabbed=False)
        self.panels.place("history", "Edit history", self.history, right, tabbed=False).hide()
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.actions.view_bar)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.actions.edit_bar)
        self.setAcceptDrops(True)
        self.resizeDocks([self.docks["photos"], self.docks["categories"]], [270, 300], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["categories"], self.docks["segments"]], [230, 470], Qt.Orientation.Vertical)
        self.state = WindowState(self, self.prefs)
        self.services = Services(
            session=self.session, photo=self.photo, editing=self.controller, view=self.view, runner=self.runner,
            reporter=self.reporter, actions=self.actions.registry, panels=self.panels, status=self.status,
            prefs=self.prefs, dialog_parent=self, selected_photos=self.browser.selected_ids,
            flush_edits=self.autosaver.flush)
        from gui.views.missing_photos import MissingPhotos  # Photo › Locate, the message for a moved photo

        self.missing_photos = MissingPhotos(self.services)
        self._connect()
        self.update_title()
        self._install_features()
        # Last, and only here: the saved layout names every dock, the features' included (Qt
        # places only the docks that exist when it is applied).
        self.state.restore()

    # --- composition ------------------------------------------------------------------------------
    def _install_features(self) -> None:
        """Each feature gets the services, never the window; the links between features are made
        here, where both ends are known. Installed in the order their panels' tabs appear."""
        from gui.measure.install import install_measurement  # panel, tooltips, calibration, report
        from gui.prediction.install import install_prediction  # panel, slider, predict/evaluate actions
        from gui.training.install import install_training  # train dialog, training and models panels

        self.measurement = install_measurement(self.services)
        self.prediction = install_prediction(self.services)
        self.training = install_training(self.services)
        p = self.prediction
        self.training.activeModelChanged.connect(p.models.set_active)  # a trained or chosen model predicts
        # The closing asked during a run ends once the run has stopped (queued: after the run's
        # own handlers).
        self.training.readyToClose.connect(self.close, Qt.ConnectionType.QueuedConnection)
        p.modelChanged.connect(self._show_predictions_of)
        p.provenanceChanged.connect(self.measurement.show_prediction_provenance)
        p.photoRequested.connect(self.browser.select_image)

    def _show_predictions_of(self, model_id, _name: str = "") -> None:
        """The photo shows the stored prediction of the active model (None: of none)."""
        self.loader.model_id = model_id

    def _connect(self) -> None:
        s, r = self.session, self.reporter
        s.opened.connect(self._project_opened)
        s.closed.connect(self._project_closed)
        s.imagesChanged.connect(self._images_changed)
        self.browser.photoSelected.connect(self.photo.open)
        self.photo.neighbours = self.browser.neighbour_ids
        self.photo.photoChanged.connect(lambda _: self.update_title())
        self.photo.documentReady.connect(self._document_ready)
        self.photo.predictionChanged.connect(self.segments_panel.set_prediction)
        self.photo.predictionChanged.connect(lambda p, _a: self.actions.a["accept_all"].setEnabled(p is not None))
        self.photo.loadFailed.connect(lambda image_id, e: self.missing_photos.load_failed(image_id, e))
        self.autosaver.stateChanged.connect(lambda _: self.update_title())
        self.autosaver.saved.connect(s.annotation_saved)
        self.autosaver.failed.connect(lambda e: r.report(e, "save the annotation"))
        self.controller.notice.connect(lambda m: self.status.showMessage(m, 5000))
        self.project_actions.notice.connect(lambda m: self.status.showMessage(m, 8000))
        self.categories_panel.errorOccurred.connect(r.report)
        self.categories_panel.before_delete = lambda then: self.autosaver.flush(_if_saved(then))
        s.before_close = lambda then: self.autosaver.flush(_if_saved(then))
        self.categories_panel.deleteRequested.connect(self._delete_category)
        self.view.hovered.connect(self._hover)
        self.view.zoomChanged.connect(self.status.show_zoom)
        self.thumbnails.missing.connect(lambda i, why: log.info("no thumbnail for image %s: %s", i, why))

    # --- project and photo ------------------------------------------------------------------------
    def _project_opened(self, project) -> None:
        self.thumbnails.set_project(project)
        self.update_title()
        if project.read_only:
            QMessageBox.information(self, "Opened read-only",
                                    f"{project.path.name} is open read-only: {project.read_only_reason}.\n\n"
                                    "You can look at everything; to make changes, use File › Save as copy.")

    def _project_closed(self) -> None:
        self.thumbnails.set_project(None)
        self.undo_group.setActiveStack(None)  # type: ignore[arg-type]  # Qt takes None: no active stack
        self.update_title()

    def _images_changed(self) -> None:
        if self.photo.record is None and self.session.images:
            last = self.prefs.last_photo(self.session.project.path) if self.session.project else None
            if last is None or not self.browser.select_image(last):
                self.browser.select_row(0)
        elif not self.session.images:
            self.photo.close()

    def _document_ready(self, doc: AnnotationDocument) -> None:
        for stack in list(self.undo_group.stacks()):
            if stack is not doc.undo_stack:
                self.undo_group.removeStack(stack)
        self.undo_group.addStack(doc.undo_stack)
        self.undo_group.setActiveStack(doc.undo_stack)
        # No undo while a worker edits the map: the stack steps aside until it is done.
        def follow_busy(busy: bool, d: AnnotationDocument = doc) -> None:
            if self.photo.document is d:
                self.undo_group.setActiveStack(None if busy else d.undo_stack)  # type: ignore[arg-type]  # Qt: None = no stack

        doc.busyChanged.connect(follow_busy)
        self.labels.set_document(doc, self.session.categories)
        if self.session.project is not None:
            self.prefs.set_last_photo(self.session.project.path, doc.image_id)

    def _save_annotation(self, image_id: int, annotation: PanopticAnnotation) -> None:
        """Runs on a worker thread (the autosaver's)."""
        project = self.session.project
        if project is None:
            raise RuntimeError("the project was closed before the annotation could be saved")
        project.annotations.save(image_id, annotation)

    def save_now(self) -> None:
        self.autosaver.flush()

    def mark_photo(self, status: str) -> None:
        rec = self.photo.record
        if rec is None or self.session.read_only:
            return
        self.autosaver.flush(_if_saved(lambda: self._set_status(rec.id, status)))

    def _set_status(self, image_id: int, status: str) -> None:
        try:
            self.session.set_status([image_id], status)
        except Exception as e:  # noqa: BLE001 - any failure is shown to the user by the reporter, not lost
            self.reporter.report(e, "change the photo's status")

    def _delete_category(self, category, reassign_to) -> None:
        def done():
            self.photo.reload()
            self.status.showMessage(f"Category “{category.name}” deleted", 5000)
        task = self.session.delete_category(category.id, reassign_to, on_done=done)
        self.status.track(task, f"Deleting {category.name}")

    def set_labels_visible(self, on: bool) -> None:
        self.labels.setVisible(on)

    # --- status and title -------------------------------------------------------------------------
    def _hover(self, x: int, y: int) -> None:
        doc = self.controller.document
        if x < 0:
            self.status.show_hover("")
            return
        text = f"x {x}, y {y}"
        if doc is not None:
            seg_id = doc.segment_at(x, y)
            if seg_id:
                seg = doc.editor.segments.get(seg_id)
                cats = self.session.categories
                name = cats.by_id(seg.category_id).name if seg is not None and seg.category_id in cats else "?"
                text += f"  ·  {name}  ·  segment #{seg_id}"
            else:
                text += "  ·  unlabelled"
        pred = self.controller.prediction
        if pred is not None and self.view.layer_visible("prediction"):
            pid = int(pred.id_map[y, x]) if 0 <= y < pred.shape[0] and 0 <= x < pred.shape[1] else 0
            pseg = pred.segments.get(pid)
            if pseg is not None and pseg.category_id in self.session.categories:
                score = f" {pseg.score:.2f}" if pseg.score is not None else ""
                text += f"  ·  predicted {self.session.categories.by_id(pseg.category_id).name}{score}"
        self.status.show_hover(text)

    def update_title(self) -> None:
        project = self.session.project
        state = self.autosaver.state
        self.status.show_save_state(state, self.session.read_only)
        if project is None:
            self.setWindowTitle("Panoptic Inspector")
            return
        parts = []
        if self.photo.record is not None:
            parts.append(self.photo.record.name)
        parts.append(project.name)
        suffix = " (read-only)" if project.read_only else ("" if state == "saved" else " — unsaved changes")
        self.setWindowTitle(" — ".join(parts) + suffix + " — Panoptic Inspector")

    # --- help -------------------------------------------------------------------------------------
    def toggle_history(self) -> None:
        dock = self.docks["history"]
        dock.setVisible(not dock.isVisible())

    def show_shortcuts(self) -> None:
        from gui.dialogs.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self.actions.a, self).open()

    def show_about(self) -> None:
        from gui.dialogs.about_dialog import AboutDialog

        AboutDialog(self.runner, self).open()

    # --- drag and drop ----------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            # Handle it after the drop returns: the drag source must not wait on dialogs.
            QTimer.singleShot(0, lambda: self.project_actions.handle_drop(paths))

    # --- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.training.confirm_close():  # a training run asks, then stops with a checkpoint first
            event.ignore()
            return
        if self.autosaver.has_unsaved or self.autosaver.state == "saving":
            event.ignore()
            self.status.showMessage("Saving before closing…")
            self.autosaver.flush(self._close_after_save)
            return
        self.state.save()
        self.thumbnails.stop()
        self.runner.cancel_all()
        self.runner.wait(10_000)
        self.session.close()
        super().closeEvent(event)

    def _close_after_save(self, ok: bool) -> None:
        if ok:
            self.close()
            return
        answer = QMessageBox.warning(self, "Not saved", "The last edits could not be saved (see the message). "
                                     "Close anyway and lose them?",
                                     QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                                     QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Discard:
            self.autosaver.set_document(None)
            self.close()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            from gui.shell import icons

            icons.refresh()
            self.segments_panel.rebuild()  # its row icons are made per row
        super().changeEvent(event)


def _if_saved(then: Callable[[], object]) -> Callable[[bool], None]:
    """What ``Autosaver.flush`` calls back with ``ok``: ``then()`` once the edits are saved, nothing
    when saving failed (the reporter has told the user)."""
    def done(ok: bool) -> None:
        if ok:
            then()
    return done
