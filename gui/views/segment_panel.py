"""``SegmentPanel``: the segments of the current photo, from its ``AnnotationDocument``.

Rows: visibility, category (colour and name) with the segment number, area and, for predictions,
the score. Selecting rows
selects the segments on the canvas; the eye hides a segment; the buttons and the context menu
change the category, delete, merge, split, and accept predicted segments into the annotation.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, QSize, Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QMenu, QStyledItemDelegate, QTreeWidget, QTreeWidgetItem,
                               QWidget)

from core.editing import compute_areas
from core.panoptic import PanopticAnnotation
from gui.dialogs.category_dialogs import swatch
from gui.editing.document import AnnotationDocument, relink
from gui.editing.editing_controller import EditingController
from gui.shell.icons import icon
from gui.session.project_session import ProjectSession
from gui.views.list_panel import lay_out_list_panel

SEGMENT = Qt.ItemDataRole.UserRole + 1
KIND = Qt.ItemDataRole.UserRole + 2  # "annotation" or "prediction"
COL_EYE, COL_SEGMENT, COL_AREA, COL_SCORE = range(4)


class RoomyDelegate(QStyledItemDelegate):
    """Rows a little taller than the font (a style sheet would do it, but style-sheeted views stop
    following palette changes: light/dark)."""

    def sizeHint(self, option, index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), size.height() + 6)


def format_area(pixels: int) -> str:
    if pixels >= 1_000_000:
        return f"{pixels / 1e6:.2f} MP"
    return f"{pixels:,} px"


class SegmentPanel(QWidget):
    def __init__(self, controller: EditingController, session: ProjectSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.session = session
        self._doc: AnnotationDocument | None = None
        self._prediction: PanopticAnnotation | None = None
        self._pred_areas: dict[int, int] = {}
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["", "Segment", "Area", "Score"])
        # Two flat sections (annotation, prediction): no expand arrows, little indentation.
        self.tree.setRootIsDecorated(False)
        self.tree.setItemsExpandable(False)
        self.tree.setIndentation(4)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setIconSize(QSize(14, 14))
        self.tree.setItemDelegate(RoomyDelegate(self.tree))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_EYE, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_EYE, 28)
        header.setSectionResizeMode(COL_SEGMENT, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_AREA, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_SCORE, QHeaderView.ResizeMode.ResizeToContents)
        self.ann_root = QTreeWidgetItem(["Annotation"])
        self.pred_root = QTreeWidgetItem(["Prediction"])
        for root in (self.ann_root, self.pred_root):
            root.setFlags(Qt.ItemFlag.ItemIsEnabled)
            f = root.font(0)
            f.setBold(True)
            root.setFont(0, f)
            self.tree.addTopLevelItem(root)
            root.setFirstColumnSpanned(True)  # only takes effect once the item is in the view

        self.buttons = lay_out_list_panel(self, self.tree, (
                ("category", "mdi6.tag-outline", "Change the category of the selected segments",
                 self._category_menu_at_button),
                ("delete", "mdi6.trash-can-outline", "Delete the selected segments (Del)", controller.delete_selected),
                ("merge", "mdi6.merge", "Merge the selected segments into the first (M)", controller.merge_selected),
                ("split", "mdi6.call-split", "Split the selected segment into its connected parts",
                 controller.split_selected),
                ("accept", "mdi6.check", "Accept the selected predicted segments into the annotation",
                 self.accept_selected),
                ("accept_all", "mdi6.check-all", "Accept the whole prediction into the annotation",
                 lambda: controller.accept_prediction(None))))

        self.tree.itemSelectionChanged.connect(self._tree_selection)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        controller.documentChanged.connect(self.set_document)
        controller.offerChanged.connect(self.rebuild)  # a crack traced over a predicted one replaces it
        session.categoriesChanged.connect(lambda _: self.rebuild())
        self.set_document(controller.document)

    # --- inputs -----------------------------------------------------------------------------------
    def set_document(self, doc: AnnotationDocument | None) -> None:
        relink(self._doc, doc, self._links)
        self._doc = doc
        self.rebuild()

    def _links(self, d: AnnotationDocument):
        return ((d.segmentsChanged, self.rebuild), (d.contentChanged, self._refresh_areas),
                (d.selectionChanged, self._follow_selection), (d.hiddenChanged, self.rebuild))

    def set_prediction(self, prediction: PanopticAnnotation | None, areas: dict[int, int] | None = None) -> None:
        self._prediction = prediction
        self._pred_areas = areas if areas is not None else (compute_areas(prediction.id_map) if prediction else {})
        self.rebuild()

    # --- building ---------------------------------------------------------------------------------
    def _category(self, cat_id: int):
        cats = self.session.categories
        return cats.by_id(cat_id) if cat_id in cats else None

    def _row(self, seg, area: int, kind: str, hidden: bool) -> QTreeWidgetItem:
        cat = self._category(seg.category_id)
        item = QTreeWidgetItem()
        item.setData(COL_SEGMENT, SEGMENT, seg.id)
        item.setData(COL_SEGMENT, KIND, kind)
        item.setText(COL_SEGMENT, f"{cat.name if cat else f'unknown ({seg.category_id})'}  #{seg.id}")
        item.setIcon(COL_SEGMENT, swatch(cat.color if cat else (128, 128, 128), 12))
        item.setText(COL_AREA, format_area(area))
        item.setTextAlignment(COL_AREA, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if seg.score is not None:
            item.setText(COL_SCORE, f"{seg.score:.2f}")
        if kind == "annotation":
            item.setIcon(COL_EYE, icon("mdi6.eye-off-outline" if hidden else "mdi6.eye-outline"))
            item.setToolTip(COL_EYE, "Show" if hidden else "Hide")
            if hidden:
                for c in range(1, 4):
                    item.setForeground(c, QColor(128, 128, 128))
        tips = {"manual": "drawn by hand", "model": "accepted from a prediction"}
        item.setToolTip(COL_SEGMENT, f"segment {seg.id}, {tips.get(seg.source, seg.source)}"
                        + (" (crowd)" if seg.iscrowd else ""))
        return item

    def rebuild(self) -> None:
        self.tree.blockSignals(True)
        for root in (self.ann_root, self.pred_root):
            root.takeChildren()
        doc = self._doc
        if doc is not None:
            hidden = doc.hidden
            segs = sorted(doc.editor.segments.values(), key=lambda s: s.id)
            self.ann_root.addChildren([self._row(s, doc.editor.areas.get(s.id, 0), "annotation", s.id in hidden)
                                       for s in segs])
            self.ann_root.setText(COL_EYE, f"Annotation · {len(segs)} segments")
        else:
            self.ann_root.setText(COL_EYE, "Annotation · no photo")
        pred = self._prediction
        self.pred_root.setHidden(pred is None)
        if pred is not None:
            segs = sorted((s for s in pred.segments.values() if s.id not in self.controller.traced_over),
                          key=lambda s: -(s.score or 0))
            self.pred_root.addChildren([self._row(s, self._pred_areas.get(s.id, 0), "prediction", False)
                                        for s in segs])
            self.pred_root.setText(COL_EYE, f"Prediction · {len(segs)} segments")
        self.ann_root.setExpanded(True)
        self.pred_root.setExpanded(True)
        self.tree.setColumnHidden(COL_SCORE, pred is None)
        self.tree.blockSignals(False)
        self._follow_selection()
        self._update_buttons()

    def _refresh_areas(self) -> None:
        doc = self._doc
        if doc is None:
            return
        for i in range(self.ann_root.childCount()):
            item = self.ann_root.child(i)
            assert item is not None  # i < childCount()
            item.setText(COL_AREA, format_area(doc.editor.areas.get(item.data(COL_SEGMENT, SEGMENT), 0)))

    # --- selection --------------------------------------------------------------------------------
    def _selected(self, kind: str) -> list[int]:
        return [it.data(COL_SEGMENT, SEGMENT) for it in self.tree.selectedItems()
                if it.data(COL_SEGMENT, KIND) == kind]

    def _tree_selection(self) -> None:
        if self._doc is not None:
            # keep the primary selection first
            ids = self._selected("annotation")
            primary = self._doc.primary
            if primary in ids:
                ids.remove(primary)
                ids.insert(0, primary)
            self._doc.select(ids)
        item = self.controller.view.prediction_item
        if item is not None:
            item.set_selected(self._selected("prediction"))
        self._update_buttons()

    def _follow_selection(self) -> None:
        doc = self._doc
        chosen = set(doc.selected) if doc is not None else set()
        self.tree.blockSignals(True)
        last = None
        for i in range(self.ann_root.childCount()):
            item = self.ann_root.child(i)
            assert item is not None  # i < childCount()
            on = item.data(COL_SEGMENT, SEGMENT) in chosen
            item.setSelected(on)
            if on:
                last = item
        self.tree.blockSignals(False)
        if last is not None:
            self.tree.scrollToItem(last)
        self._update_buttons()

    def _update_buttons(self) -> None:
        n = len(self._selected("annotation"))
        has_pred = self._prediction is not None and bool(self._prediction.segments)
        self.buttons["category"].setEnabled(n > 0)
        self.buttons["delete"].setEnabled(n > 0)
        self.buttons["merge"].setEnabled(n > 1)
        self.buttons["split"].setEnabled(n == 1)
        self.buttons["accept"].setEnabled(bool(self._selected("prediction")))
        self.buttons["accept_all"].setEnabled(has_pred)

    def _clicked(self, item: QTreeWidgetItem, column: int) -> None:
        if column == COL_EYE and item.data(COL_SEGMENT, KIND) == "annotation" and self._doc is not None:
            seg = item.data(COL_SEGMENT, SEGMENT)
            self._doc.set_hidden(seg, seg not in self._doc.hidden)

    # --- actions ----------------------------------------------------------------------------------
    def accept_selected(self) -> None:
        ids = self._selected("prediction")
        if ids:
            self.controller.accept_prediction(ids)

    def category_menu(self) -> QMenu:
        menu = QMenu("Change category", self)
        for cat in self.session.categories:
            act = QAction(swatch(cat.color), cat.name, menu)
            act.triggered.connect(lambda _=False, c=cat.id: self.controller.set_category_of_selected(c))
            menu.addAction(act)
        return menu

    def _category_menu_at_button(self) -> None:
        b = self.buttons["category"]
        self.category_menu().exec(b.mapToGlobal(QPoint(0, b.height())))

    def _context_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        if item is None or item.data(COL_SEGMENT, SEGMENT) is None:
            return
        menu = QMenu(self)
        if item.data(COL_SEGMENT, KIND) == "prediction":
            menu.addAction(icon("mdi6.check"), "Accept into the annotation", self.accept_selected)
        else:
            menu.addMenu(self.category_menu())
            menu.addAction(icon("mdi6.trash-can-outline"), "Delete", self.controller.delete_selected)
            merge = menu.addAction(icon("mdi6.merge"), "Merge", self.controller.merge_selected)
            merge.setEnabled(len(self._selected("annotation")) > 1)
            menu.addAction(icon("mdi6.call-split"), "Split into connected parts", self.controller.split_selected)
        menu.exec(self.tree.viewport().mapToGlobal(pos))
