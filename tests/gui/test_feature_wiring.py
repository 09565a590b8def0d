"""The window's features (measuring, prediction, training) install with only the services object:
no main window, their panels tabbed along the bottom, their actions, menus and tools added through
the registries; links between features are made by whoever composes them. The window applies the
user's saved layout once, with every feature's panel in it."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QTabBar

from core.categories import default_categories
from core.project import Project

pytestmark = pytest.mark.timeout(60)

BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea


@pytest.fixture
def services(qtbot, prefs):
    """A ``Services`` built from the window's parts around a bare QMainWindow (no ``MainWindow``)."""
    from gui.canvas.photo_view import PhotoView
    from gui.editing.autosave import Autosaver
    from gui.editing.editing_controller import EditingController
    from gui.editing.tool_settings import ToolSettings
    from gui.session.photo_session import PhotoSession
    from gui.session.project_session import ProjectSession
    from gui.shell.action_registry import ActionRegistry
    from gui.shell.error_reporter import ErrorReporter
    from gui.shell.services import PanelPlacement, Services
    from gui.shell.status_bar import StatusBar
    from gui.workers.base import TaskRunner
    from gui.workers.photo_loader import PhotoLoader

    host = QMainWindow()
    reporter = ErrorReporter(host, show_dialogs=False)
    runner = TaskRunner(host, max_threads=2, on_error=reporter.report)
    session = ProjectSession(runner, host)
    view = PhotoView()
    host.setCentralWidget(view)
    editing = EditingController(view, ToolSettings(host), runner, reporter.report, host)
    autosaver = Autosaver(lambda image_id, ann: session.project.annotations.save(image_id, ann), runner, 100, host)
    photo = PhotoSession(session, view, editing, PhotoLoader(runner, host), autosaver, host)
    actions = ActionRegistry(host)
    for key, title in (("file", "&File"), ("tools", "&Tools"), ("help", "&Help")):
        actions.menu(key, title)
    status = StatusBar()
    host.setStatusBar(status)
    s = Services(session=session, photo=photo, editing=editing, view=view, runner=runner, reporter=reporter,
                 actions=actions, panels=PanelPlacement(host, actions.menu("panels", "&Panels")), status=status,
                 prefs=prefs, dialog_parent=host, selected_photos=lambda: [], flush_edits=autosaver.flush)
    host.resize(1200, 800)
    host.show()
    qtbot.waitExposed(host)
    yield s
    session.close()
    runner.cancel_all()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    host.close()
    host.deleteLater()
    assert not [r for r in reporter.history if r.unexpected]


def _install_all(services):
    from gui.measure.install import install_measurement
    from gui.prediction.install import install_prediction
    from gui.training.install import install_training

    return install_measurement(services), install_prediction(services), install_training(services)


def _bottom_tabs(host) -> list[str]:
    """The titles of the tab row along the bottom, left to right."""
    rows = [[bar.tabText(i) for i in range(bar.count())] for bar in host.findChildren(QTabBar)
            if bar.isVisible() and bar.count() > 1]
    return next((row for row in rows if "Training" in row), [])


def _menu_texts(menu) -> list[str]:
    return [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]


def test_the_features_install_with_only_the_services_and_share_the_bottom_tabs(qtbot, services, make_project,
                                                                                tmp_path):
    measurement, prediction, training = _install_all(services)
    host = services.dialog_parent
    docks = services.panels.docks
    assert set(docks) == {"measurements", "prediction", "training", "models"}
    assert all(host.dockWidgetArea(d) == BOTTOM for d in docks.values())
    qtbot.waitUntil(lambda: bool(_bottom_tabs(host)), timeout=2000)
    assert _bottom_tabs(host) == ["Measurements", "Prediction", "Training", "Models"]  # placed order, one row
    assert not docks["measurements"].visibleRegion().isEmpty()  # the first one in front
    assert docks["training"].visibleRegion().isEmpty()
    # Each panel is listed in the panels menu; the features' menus sit before Help.
    assert _menu_texts(services.actions.menu("panels")) == ["Measurements panel", "Prediction", "Training", "Models"]
    bar_menus = [a.text().replace("&", "") for a in host.menuBar().actions()]
    assert bar_menus[-1] == "Help" and {"Measure", "Model"} <= set(bar_menus)
    model_menu = _menu_texts(services.actions.menu("model"))
    assert "Predict this photo" in model_menu and "Train a model…" in model_menu
    assert "Write inspection report…" in _menu_texts(services.actions.menu("file"))
    # The reference line is a tool of the editing controller, chosen by its action (Tools menu too).
    calibrate = services.actions.a["tool:CalibrationTool"]
    assert calibrate in services.actions.menu("tools").actions()
    calibrate.trigger()
    assert services.editing.tool is measurement.tool and calibrate.isChecked()

    # The features work on the session's project: training is offered, prediction shows the model.
    path = make_project(2, annotated=1)
    with Project.open(path) as project:
        ckpt = tmp_path / "m.pt"
        ckpt.write_bytes(b"weights")
        first = project.models.add("first model", checkpoint=ckpt, config={}, categories=default_categories(),
                                   training={"status": "finished", "epochs_done": 1})
        second = project.models.add("second model", checkpoint=ckpt, config={}, categories=default_categories(),
                                    training={"status": "finished", "epochs_done": 1})
        from core.project.active_model import ACTIVE_MODEL_SETTING

        project.set_setting(ACTIVE_MODEL_SETTING, first)
    services.session.open(path)
    qtbot.waitUntil(lambda: services.session.project is not None, timeout=10_000)
    qtbot.waitUntil(lambda: training.train_action.isEnabled(), timeout=5000)
    qtbot.waitUntil(lambda: "first model" in prediction.panel.model_label.text(), timeout=5000)
    # Features do not find each other: prediction follows training's choice once composed so.
    training.models_panel.set_active(second)
    qtbot.wait(50)
    assert "first model" in prediction.panel.model_label.text()
    training.activeModelChanged.connect(prediction.models.set_active)
    training.models_panel.set_active(first)
    training.models_panel.set_active(second)
    qtbot.waitUntil(lambda: "second model" in prediction.panel.model_label.text(), timeout=5000)


def test_a_key_is_taken_once_for_tools_actions_and_panels(services):
    from PySide6.QtWidgets import QLabel

    from gui.measure.calibration_tool import CalibrationTool

    measurement, _prediction, _training = _install_all(services)
    other = CalibrationTool(services.editing, lambda _p0, _p1: None, lambda: None)
    with pytest.raises(ValueError, match="CalibrationTool"):
        services.editing.add_tool(other)
    assert services.editing.tools["CalibrationTool"] is measurement.tool  # the registered one stays
    with pytest.raises(ValueError, match="train"):
        services.actions.add("train", "Another train action")
    with pytest.raises(ValueError, match="prediction"):
        services.panels.place("prediction", "Another panel", QLabel("x"))
    assert services.panels.docks["prediction"].widget() is _prediction.panel


def _window(qtbot, prefs):
    from gui.shell.main_window import MainWindow

    w = MainWindow(prefs, show_error_dialogs=False, autosave_delay_ms=100)
    w.show()
    qtbot.waitExposed(w)
    return w


def _close(qtbot, w) -> None:
    w.close()  # saves the layout
    qtbot.waitUntil(lambda: not w.isVisible() and not w.runner.busy, timeout=10_000)
    w.deleteLater()


def test_the_saved_layout_comes_back_once_with_the_feature_panels_where_the_user_left_them(qtbot, prefs,
                                                                                         monkeypatch):
    from gui.shell.main_window import MainWindow

    first = _window(qtbot, prefs)
    # A first start: the four feature panels in one row of tabs along the bottom.
    assert _bottom_tabs(first) == ["Measurements", "Prediction", "Training", "Models"]
    # The user moves training and prediction to the right, tabbed together, training in front.
    d = first.docks
    for key in ("prediction", "training"):
        first.removeDockWidget(d[key])
        first.addDockWidget(RIGHT, d[key])
        d[key].show()
    first.tabifyDockWidget(d["prediction"], d["training"])
    d["training"].raise_()
    qtbot.wait(50)
    _close(qtbot, first)

    restores = []
    real = MainWindow.restoreState
    monkeypatch.setattr(MainWindow, "restoreState", lambda self, *a: restores.append(a) or real(self, *a))
    second = _window(qtbot, prefs)
    qtbot.wait(100)  # nothing applies the layout again a moment later
    try:
        assert len(restores) == 1
        d = second.docks
        assert second.dockWidgetArea(d["training"]) == RIGHT and second.dockWidgetArea(d["prediction"]) == RIGHT
        assert d["prediction"] in second.tabifiedDockWidgets(d["training"])
        assert not d["training"].visibleRegion().isEmpty() and d["prediction"].visibleRegion().isEmpty()
        assert second.dockWidgetArea(d["measurements"]) == BOTTOM
        assert d["models"] in second.tabifiedDockWidgets(d["measurements"])
        assert d["training"] not in second.tabifiedDockWidgets(d["measurements"])
    finally:
        _close(qtbot, second)
