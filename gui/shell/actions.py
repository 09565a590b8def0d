"""The window's actions, menus and tool bars, built from the objects they act on.

Nothing here holds state: every action calls a method of a view, the editing controller, the
project actions or the photo session. Shortcuts are listed in ``Help › Keyboard shortcuts``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QSlider, QSpinBox, QToolBar, QToolButton, QWidget

from core.assist.region import MAX_TOLERANCE, MIN_TOLERANCE
from core.editing import ADD_TO_SELECTED, NEW_INSTANCE
from gui.canvas.colour_table import OverlayStyle
from gui.shell.action_registry import ActionRegistry
from gui.shell.icons import bind
from gui.shell.theme import DARK, LIGHT, SYSTEM, apply_theme

if TYPE_CHECKING:
    from gui.shell.main_window import MainWindow


class WindowActions:
    """Builds the QActions, menus and tool bars of ``window`` (a ``MainWindow``) into an
    ``ActionRegistry`` (``registry``), where the features add theirs."""

    def __init__(self, w: MainWindow):
        self.w = w
        self.registry = ActionRegistry(w)
        self.a = self.registry.a
        self.add = self.registry.add
        self.tool_group = self.registry.tool_group
        self._build_file()
        self._build_edit()
        self._build_view()
        self._build_photo()
        self._build_tools()
        self._build_model()
        self._build_help()
        self.edit_bar = self._build_tool_bar()
        self.view_bar = self._build_view_bar()

    # --- menus ------------------------------------------------------------------------------------
    def _build_file(self) -> None:
        w, pa = self.w, self.w.project_actions
        m = self.registry.menu("file", "&File")
        m.addAction(self.add("new", "&New project…", pa.new_project, QKeySequence.StandardKey.New,
                             "mdi6.file-plus-outline"))
        m.addAction(self.add("open", "&Open project…", pa.open_project, QKeySequence.StandardKey.Open,
                             "mdi6.folder-open-outline"))
        self.recent_menu = bind(m.addMenu("Open &recent"), "mdi6.history")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        m.addSeparator()
        m.addAction(self.add("save", "&Save now", w.save_now, QKeySequence.StandardKey.Save,
                             "mdi6.content-save-outline", "Edits are saved automatically; this writes them at once"))
        m.addAction(self.add("save_copy", "Save as &copy…", pa.save_copy, QKeySequence.StandardKey.SaveAs,
                             "mdi6.content-save-all-outline"))
        m.addSeparator()
        m.addAction(self.add("add_photos", "&Add photos…", pa.add_photos, "Ctrl+Shift+O", "mdi6.image-plus"))
        m.addAction(self.add("add_folder", "Add a &folder of photos…", pa.add_folder, None, "mdi6.folder-image"))
        m.addAction(self.add("import", "&Import dataset…", pa.import_dataset, "Ctrl+I", "mdi6.database-import-outline"))
        m.addAction(self.add("export", "&Export…", pa.export, "Ctrl+E", "mdi6.database-export-outline"))
        m.addSeparator()
        m.addAction(self.add("quit", "&Quit", w.close, QKeySequence.StandardKey.Quit, "mdi6.exit-to-app"))
        self.file_menu = m

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.w.prefs.recent_projects()
        for path in recent:
            act = self.recent_menu.addAction(path.name, lambda p=path: self.w.project_actions.open_path(p))
            act.setToolTip(str(path))
            act.setEnabled(path.exists())
        if not recent:
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    def _build_edit(self) -> None:
        w, c = self.w, self.w.controller
        m = self.registry.menu("edit", "&Edit")
        undo = w.undo_group.createUndoAction(w, "Undo")
        undo.setShortcuts(QKeySequence.StandardKey.Undo)
        bind(undo, "mdi6.undo")
        redo = w.undo_group.createRedoAction(w, "Redo")
        # Both usual redo keys on every platform (Qt's standard Redo is only one of them, which one
        # depending on the desktop).
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        bind(redo, "mdi6.redo")
        self.registry.keep("undo", undo)
        self.registry.keep("redo", redo)
        m.addAction(undo)
        m.addAction(redo)
        m.addAction(self.add("history", "Edit &history", w.toggle_history, None, "mdi6.history"))
        m.addSeparator()
        m.addAction(self.add("delete", "&Delete segment", c.delete_selected,
                             [QKeySequence.StandardKey.Delete, "Backspace"], "mdi6.trash-can-outline"))
        m.addAction(self.add("merge", "&Merge segments", c.merge_selected, "M", "mdi6.merge"))
        # Shift+M beside Merge (M): Ctrl+Shift+S is Save as copy, and an ambiguous key fires neither.
        m.addAction(self.add("split", "S&plit into connected parts", c.split_selected, "Shift+M", "mdi6.call-split"))
        self.category_menu = bind(m.addMenu("Change &category"), "mdi6.tag-outline")
        self.category_menu.aboutToShow.connect(self._fill_category_menu)
        m.addAction(self.add("select_none", "Select &none", self._select_none, "Ctrl+D", "mdi6.selection-off"))

    def _select_none(self) -> None:
        doc = self.w.controller.document
        if doc:
            doc.select([])

    def _fill_category_menu(self) -> None:
        self.category_menu.clear()
        for cat in self.w.session.categories:
            self.category_menu.addAction(cat.name, lambda cid=cat.id: self.w.controller.set_category_of_selected(cid))

    def _build_view(self) -> None:
        w, v = self.w, self.w.view
        m = self.registry.menu("view", "&View")
        m.addAction(self.add("fit", "&Fit photo", v.fit, "Ctrl+0", "mdi6.fit-to-screen-outline"))
        m.addAction(self.add("actual", "&100 %", v.actual_size, "Ctrl+1", "mdi6.magnify-scan"))
        m.addAction(self.add("zoom_in", "Zoom &in", lambda: v.zoom_by(1.25),
                             [QKeySequence.StandardKey.ZoomIn, "Ctrl+="], "mdi6.magnify-plus-outline"))
        m.addAction(self.add("zoom_out", "Zoom &out", lambda: v.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut,
                             "mdi6.magnify-minus-outline"))
        m.addSeparator()
        ann = self.add("show_annotation", "&Annotation layer", lambda on: v.set_layer_visible("annotation", on), "O",
                       "mdi6.layers-outline", checkable=True)
        ann.setChecked(True)
        pred = self.add("show_prediction", "&Prediction layer", lambda on: v.set_layer_visible("prediction", on),
                        "Shift+O", "mdi6.robot-outline", checkable=True)
        pred.setChecked(True)
        outl = self.add("outlines", "Segment &outlines", lambda on: self._style(outlines=on), None,
                        "mdi6.vector-square", checkable=True)
        outl.setChecked(v.overlay_style.outlines)
        labels = self.add("labels", "Segment &labels", w.set_labels_visible, "Shift+L", "mdi6.label-outline",
                          checkable=True)
        for a in (ann, pred, outl, labels):
            m.addAction(a)
        m.addSeparator()
        self.panels_menu = self.registry.keep_menu("panels", m.addMenu("&Panels"))
        appearance = m.addMenu("&Appearance")
        group = QActionGroup(w)
        current = w.prefs.get_str("view/theme", SYSTEM)
        for key, text in ((SYSTEM, "Follow the system"), (LIGHT, "Light"), (DARK, "Dark")):
            act = appearance.addAction(text)
            act.setCheckable(True)
            act.setChecked(key == current)
            act.triggered.connect(lambda _=False, k=key: self._theme(k))
            group.addAction(act)
        self.view_menu = m

    def _theme(self, choice: str) -> None:
        from PySide6.QtWidgets import QApplication

        self.w.prefs.set("view/theme", choice)
        app = QApplication.instance()
        if isinstance(app, QApplication):  # (a window exists only in a QApplication)
            apply_theme(app, choice)

    def _style(self, **changes) -> None:
        v = self.w.view
        s = v.overlay_style
        v.set_overlay_style(OverlayStyle(**{**s.__dict__, **changes}))

    def _build_photo(self) -> None:
        w, b = self.w, self.w.browser
        m = self.registry.menu("photo", "&Photo")
        m.addAction(self.add("next", "&Next photo", b.next_photo, ["PgDown", "Ctrl+Right"], "mdi6.chevron-right"))
        m.addAction(self.add("previous", "&Previous photo", b.previous_photo, ["PgUp", "Ctrl+Left"],
                             "mdi6.chevron-left"))
        m.addSeparator()
        m.addAction(self.add("mark_done", "Mark as &done", lambda: w.mark_photo("done"), "Ctrl+Return",
                             "mdi6.check-circle-outline"))
        m.addAction(self.add("mark_progress", "Mark as &in progress", lambda: w.mark_photo("in_progress"), None,
                             "mdi6.progress-pencil"))

    def _build_tools(self) -> None:
        w, c, s = self.w, self.w.controller, self.w.tool_settings
        m = self.registry.menu("tools", "&Tools")
        for key, tool in c.tools.items():
            act = self.registry.add_tool(key, tool, lambda k=key: c.set_tool(k))
            if key == type(c.tool).__name__:
                act.setChecked(True)
        c.toolChanged.connect(lambda t: self.a[f"tool:{type(t).__name__}"].setChecked(True))
        m.addSeparator()
        m.addAction(self.add("bigger", "Bigger brush", lambda: s.grow_brush(1), "]", "mdi6.plus-circle-outline"))
        m.addAction(self.add("smaller", "Smaller brush", lambda: s.grow_brush(-1), "[", "mdi6.minus-circle-outline"))
        m.addSeparator()
        add_mode = self.add("add_mode", "Add to the selected instance", lambda on: s.set_instance_mode(
            ADD_TO_SELECTED if on else NEW_INSTANCE), "N", "mdi6.vector-union",
            "Things: paint into the selected instance instead of starting a new one (N)", checkable=True)
        behind = self.add("behind", "Paint behind", s.set_paint_behind, "Ctrl+B", "mdi6.layers-triple-outline",
                          "Only fill unlabelled (void) pixels; existing segments stay as they are (Ctrl+B)",
                          checkable=True)
        m.addAction(add_mode)
        m.addAction(behind)
        def follow_settings() -> None:
            add_mode.setChecked(s.instance_mode == ADD_TO_SELECTED)
            behind.setChecked(s.paint_behind)

        s.changed.connect(follow_settings)
        # Number keys choose categories (Categories panel order).
        for n in range(1, 10):
            self.add(f"category:{n}", f"Category {n}", lambda n=n: w.categories_panel.select_by_key(n), str(n))

    def _build_model(self) -> None:
        """Hook for the model work: the training and prediction features add their actions here."""
        w, c = self.w, self.w.controller
        m = self.registry.menu("model", "&Model")
        m.addAction(self.add("accept_all", "Accept the whole &prediction", lambda: c.accept_prediction(None),
                             "Ctrl+Shift+A", "mdi6.check-all",
                             "Copy every predicted segment into the annotation (one undo step)"))
        m.addAction(self.add("accept_selected", "Accept the selected predicted segments",
                             w.segments_panel.accept_selected, None, "mdi6.check"))
        self.model_menu = m

    def _build_help(self) -> None:
        m = self.registry.menu("help", "&Help")
        m.addAction(self.add("shortcuts", "&Keyboard shortcuts", self.w.show_shortcuts, "F1", "mdi6.keyboard-outline"))
        m.addAction(self.add("about", "&About Panoptic Inspector", self.w.show_about, None, "mdi6.information-outline"))

    # --- tool bars --------------------------------------------------------------------------------
    def _build_tool_bar(self) -> QToolBar:
        w, s = self.w, self.w.tool_settings
        bar = QToolBar("Tools", w)
        bar.setObjectName("toolsBar")
        bar.setIconSize(QSize(20, 20))
        bar.setMovable(False)
        for key in w.controller.tools:
            bar.addAction(self.a[f"tool:{key}"])
        bar.addSeparator()
        self.registry.tool_bar = bar  # tools added later (measuring's reference line) go here too
        bar.addWidget(_label("Size"))
        self.brush_size = QSpinBox()
        self.brush_size.setRange(1, 1000)
        self.brush_size.setSuffix(" px")
        self.brush_size.setToolTip("Brush diameter in photo pixels ([ and ], or Shift+wheel)")
        self.brush_size.setKeyboardTracking(False)
        self.brush_size.setValue(int(s.brush_size))
        self.brush_size.valueChanged.connect(s.set_brush_size)
        bar.addWidget(self.brush_size)
        bar.addWidget(_label("Fill tolerance"))
        self.tolerance = QSpinBox()
        self.tolerance.setRange(int(MIN_TOLERANCE), int(MAX_TOLERANCE))
        self.tolerance.setToolTip("Fill similar colour: largest difference in colour and texture from the clicked "
                                  "spot, on a smoothed photo (larger fills further)")
        self.tolerance.setValue(s.tolerance)
        self.tolerance.valueChanged.connect(s.set_tolerance)
        bar.addWidget(self.tolerance)
        bar.addWidget(_label("Crack width"))
        self.crack_width = QSpinBox()
        self.crack_width.setRange(0, 200)
        self.crack_width.setSuffix(" px")
        self.crack_width.setSpecialValueText("from photo")
        self.crack_width.setToolTip("Crack tracer: the traced crack's width; 'from photo' reads it from the photo")
        self.crack_width.setKeyboardTracking(False)
        self.crack_width.setValue(s.crack_width)
        self.crack_width.valueChanged.connect(s.set_crack_width)
        bar.addWidget(self.crack_width)
        bar.addSeparator()
        for key, text in (("add_mode", "Add to selected"), ("behind", "Paint behind")):
            self.a[key].setIconText(text)  # what a tool button shows beside the icon
            bar.addAction(self.a[key])
            button = bar.widgetForAction(self.a[key])
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        s.changed.connect(self._sync_settings)
        return bar

    def _sync_settings(self) -> None:
        s = self.w.tool_settings
        for box, value in ((self.brush_size, int(round(s.brush_size))), (self.tolerance, s.tolerance),
                           (self.crack_width, s.crack_width)):
            if box.value() != value:
                box.blockSignals(True)
                box.setValue(value)
                box.blockSignals(False)

    def _build_view_bar(self) -> QToolBar:
        w = self.w
        bar = QToolBar("View", w)
        bar.setObjectName("viewBar")
        bar.setIconSize(QSize(20, 20))
        bar.setMovable(False)
        bar.addAction(self.a["undo"])
        bar.addAction(self.a["redo"])
        bar.addSeparator()
        bar.addAction(self.a["fit"])
        bar.addAction(self.a["actual"])
        bar.addSeparator()
        bar.addAction(self.a["show_annotation"])
        bar.addAction(self.a["show_prediction"])
        bar.addWidget(_label("Opacity"))
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setFixedWidth(110)
        self.opacity.setValue(int(round(w.view.overlay_style.opacity * 100)))
        self.opacity.setToolTip("Opacity of the segment colours (outlines stay opaque)")
        self.opacity.valueChanged.connect(lambda v: self._style(opacity=v / 100.0))
        bar.addWidget(self.opacity)
        return bar


def _label(text: str) -> QWidget:
    lab = QLabel(text)
    lab.setContentsMargins(8, 0, 4, 0)
    return lab

