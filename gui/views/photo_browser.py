"""``PhotoBrowser``: the photos of the project as a list of thumbnails with status badges.

Built from the ``ProjectSession``; thumbnails come from ``ThumbnailProvider`` in the background
(a placeholder until then). Filter by status and name, sort by name / date added / status;
``next_photo()`` / ``previous_photo()`` move the selection (Page Down / Page Up in the window).
"""
from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPainterPath, QPalette
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QLabel, QLineEdit, QListView,
                               QStyle, QStyledItemDelegate, QStyleOptionViewItem, QVBoxLayout, QWidget)

from core.project import ImageRecord
from gui.shell.icons import bind, icon
from gui.session.project_session import ProjectSession
from gui.views.photo_list_model import (FILTERS, MISSING, PREDICTED, RECORD, SORTS, STATUS, STATUSES, THUMB,
                                        PhotoFilterProxy, PhotoListModel)
from gui.workers.thumbnails import ThumbnailProvider

#: badge colours: background, text
BADGE = {"unlabeled": ("#6b7280", "#ffffff"), "in_progress": ("#d97706", "#ffffff"), "done": ("#15803d", "#ffffff")}
PREDICTION_BADGE = ("#7c3aed", "#ffffff")  # violet: apart from the selection's blue
MISSING_BADGE = ("#b91c1c", "#ffffff")     # red: the file is not where the project last saw it
THUMB_W, THUMB_H, ROW_H = 96, 68, 80
NO_PHOTOS = ("No photos yet.\n\nDrop photos or folders\nanywhere on the window,\n"
             "or use File › Add photos.")


def badges(index: QModelIndex | QPersistentModelIndex) -> list[str]:
    """The badges a row shows: its status, "Prediction" when it has one, "Missing" when its file
    is not found (drawn over the thumbnail, where it cannot be elided away)."""
    status = index.data(STATUS)
    out = [STATUSES.get(status, status)]
    if index.data(PREDICTED):
        out.append("Prediction")
    if index.data(MISSING):
        out.append("Missing")
    return out


class PhotoDelegate(QStyledItemDelegate):
    """Thumbnail on the left; name, size and badges on the right."""

    def sizeHint(self, option, index) -> QSize:
        return QSize(200, ROW_H)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        style = option.widget.style() if option.widget else None
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        opt.icon = opt.icon.__class__()
        if style is not None:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, option.widget)
        rect = option.rect.adjusted(6, 6, -6, -6)
        rec: ImageRecord = index.data(RECORD)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        pal = option.palette
        text_colour = pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        muted = QColor(text_colour)
        muted.setAlphaF(0.65)

        # thumbnail, centred in its box, letterboxed
        box = QRect(rect.left(), rect.top(), THUMB_W, THUMB_H)
        painter.fillRect(box, QColor(0, 0, 0, 40))
        thumb: QImage | None = index.data(THUMB)
        if thumb is not None and not thumb.isNull():
            scaled = thumb.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(box.center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(target, thumb)
        elif index.data(MISSING):
            painter.setPen(muted)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "missing")

        # name (elided), size, badges
        x = box.right() + 10
        width = rect.right() - x
        font = QFont(option.font)
        font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(font)
        painter.setPen(text_colour)
        fm = QFontMetrics(font)
        painter.drawText(QRect(x, rect.top(), width, fm.height()), Qt.AlignmentFlag.AlignLeft,
                         fm.elidedText(rec.name, Qt.TextElideMode.ElideMiddle, width))
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.88))
        painter.setFont(small)
        sfm = QFontMetrics(small)
        painter.setPen(muted)
        painter.drawText(QRect(x, rect.top() + fm.height() + 2, width, sfm.height()), Qt.AlignmentFlag.AlignLeft,
                         f"{rec.width} × {rec.height}")
        y = rect.top() + fm.height() + sfm.height() + 8
        status = index.data(STATUS)
        shown = badges(index)
        bx = self._badge(painter, small, x, y, shown[0], *BADGE.get(status, BADGE["unlabeled"]))
        if "Prediction" in shown:
            self._badge(painter, small, bx + 4, y, "Prediction", *PREDICTION_BADGE)
        if "Missing" in shown:
            bh = QFontMetrics(small).height() + 2
            self._badge(painter, small, box.left() + 3, box.bottom() - bh - 2, "Missing", *MISSING_BADGE)
        painter.restore()

    @staticmethod
    def _badge(painter: QPainter, font: QFont, x: int, y: int, text: str, bg: str, fg: str) -> int:
        fm = QFontMetrics(font)
        w, h = fm.horizontalAdvance(text) + 12, fm.height() + 2
        path = QPainterPath()
        path.addRoundedRect(QRectF(x, y, w, h), h / 2, h / 2)
        painter.fillPath(path, QColor(bg))
        painter.setPen(QColor(fg))
        painter.setFont(font)
        painter.drawText(QRect(x, y, w, h), Qt.AlignmentFlag.AlignCenter, text)
        return x + w


class PhotoBrowser(QWidget):
    """Shows the session's photos; emits ``photoSelected(image_id)`` when the current one changes."""

    photoSelected = Signal(int)

    def __init__(self, session: ProjectSession, thumbnails: ThumbnailProvider, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.thumbnails = thumbnails
        self.model = PhotoListModel(self)
        self.proxy = PhotoFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.search = QLineEdit(placeholderText="Filter by name")
        self.search.setClearButtonEnabled(True)
        self.search.setAcceptDrops(False)  # dropped files are photos for the window, not text
        bind(self.search.addAction(icon("mdi6.magnify"), QLineEdit.ActionPosition.LeadingPosition), "mdi6.magnify")
        self.status_filter = QComboBox()
        for key, text in FILTERS.items():
            self.status_filter.addItem(text, key)
        self.sort_by = QComboBox()
        for key, text in SORTS.items():
            self.sort_by.addItem(f"Sort: {text}", key)
        self.list = QListView()
        self.list.setModel(self.proxy)
        self.list.setItemDelegate(PhotoDelegate(self.list))
        self.list.setUniformItemSizes(True)
        # Several photos can be selected (Ctrl/Shift+click) for batch work such as prediction;
        # the current one is what the canvas shows.
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.count_label = QLabel()
        self.count_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.empty_hint = QLabel(NO_PHOTOS)
        self._preparing: str | None = None
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.empty_hint.setWordWrap(True)

        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.status_filter, 1)
        row.addWidget(self.sort_by, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addLayout(row)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_hint, 1)
        layout.addWidget(self.count_label)

        self.search.textChanged.connect(self._filter_changed)
        self.status_filter.currentIndexChanged.connect(self._filter_changed)
        self.sort_by.currentIndexChanged.connect(lambda _: self.proxy.set_sort_key(self.sort_by.currentData()))
        self.list.selectionModel().currentChanged.connect(self._current_changed)
        session.imagesChanged.connect(self.reload)
        session.closed.connect(self.reload)  # empty, so the next project starts without a selection
        session.imageChanged.connect(self._image_changed)
        thumbnails.ready.connect(self._thumbnail)
        self.reload()

    # --- content ----------------------------------------------------------------------------------
    def reload(self) -> None:
        keep = self.current_id()
        # A reload (photos added, predictions stored) must not drop a multi-photo selection the
        # user is about to act on ("predict the selected photos").
        chosen = [i for i in self.selected_ids() if i != keep] if self.list.selectionModel().hasSelection() else []
        self.model.set_records(self.session.images, self.session.predicted)
        for image_id, img in self.thumbnails.cache.items():
            self.model.set_thumbnail(image_id, img)
        # The provider serves the newest request first: queue bottom-up so the top comes first.
        self.thumbnails.request(list(reversed(self._visible_order())))
        self._update_count()
        if keep is not None:
            self.select_image(keep, emit=False)
        self._add_to_selection(chosen)

    def _add_to_selection(self, image_ids: list[int]) -> None:
        if not image_ids:
            return
        wanted = set(image_ids)
        sel = self.list.selectionModel()
        for r in range(self.proxy.rowCount()):
            idx = self.proxy.index(r, 0)
            if idx.data(RECORD).id in wanted:
                sel.select(idx, QItemSelectionModel.SelectionFlag.Select)

    def _visible_order(self) -> list[ImageRecord]:
        return [self.proxy.index(r, 0).data(RECORD) for r in range(self.proxy.rowCount())]

    def _image_changed(self, image_id: int) -> None:
        rec = self.session.image(image_id)
        if rec is not None:
            self.model.update_record(rec, image_id in self.session.predicted)
            self._update_count()

    def _thumbnail(self, image_id: int, image: QImage) -> None:
        self.thumbnails.store(image_id, image)
        self.model.set_thumbnail(image_id, image)

    def _filter_changed(self, *_) -> None:
        self.proxy.set_text_filter(self.search.text())
        self.proxy.set_status_filter(self.status_filter.currentData())
        self._update_count()

    def set_preparing(self, text: str | None) -> None:
        """Say what is being prepared (the sample project at first start) where the empty list
        would say "No photos yet"; None: back to that."""
        self._preparing = text
        self.empty_hint.setText(text if text else NO_PHOTOS)
        self._update_count()

    def _update_count(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        done = sum(1 for r in self.session.images if r.status == "done")
        text = f"{total} photos · {done} done" if shown == total else f"{shown} of {total} photos shown"
        self.count_label.setText(text)
        self.list.setVisible(total > 0)
        self.empty_hint.setVisible(total == 0)

    # --- navigation -------------------------------------------------------------------------------
    def current_id(self) -> int | None:
        idx = self.list.currentIndex()
        return idx.data(RECORD).id if idx.isValid() else None

    def selected_ids(self) -> list[int]:
        """Ids of the selected photos, in the order shown (the current photo when none is)."""
        rows = sorted(i.row() for i in self.list.selectionModel().selectedIndexes())
        ids = [self.proxy.index(r, 0).data(RECORD).id for r in rows]
        current = self.current_id()
        return ids or ([] if current is None else [current])

    def select_image(self, image_id: int, emit: bool = True) -> bool:
        for r in range(self.proxy.rowCount()):
            idx = self.proxy.index(r, 0)
            if idx.data(RECORD).id == image_id:
                if not emit:
                    self.list.selectionModel().blockSignals(True)
                self.list.setCurrentIndex(idx)
                self.list.selectionModel().blockSignals(False)
                self.list.scrollTo(idx)
                return True
        return False

    def neighbour_ids(self, image_id: int) -> list[int]:
        """Ids of the photos next to ``image_id`` in the order shown (below first, then above):
        where Page Down / Page Up go next."""
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(RECORD).id == image_id:
                return [self.proxy.index(j, 0).data(RECORD).id for j in (r + 1, r - 1)
                        if 0 <= j < self.proxy.rowCount()]
        return []

    def select_row(self, row: int) -> None:
        if 0 <= row < self.proxy.rowCount():
            idx = self.proxy.index(row, 0)
            self.list.setCurrentIndex(idx)
            self.list.scrollTo(idx)

    def next_photo(self) -> None:
        self.select_row(self.list.currentIndex().row() + 1 if self.list.currentIndex().isValid() else 0)

    def previous_photo(self) -> None:
        row = self.list.currentIndex().row()
        self.select_row(row - 1 if row > 0 else 0)

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if current.isValid():
            self.photoSelected.emit(current.data(RECORD).id)
