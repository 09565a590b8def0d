"""The project's photos as a Qt list model (for ``PhotoBrowser``), with filter and sort.

Roles: ``Qt.DisplayRole`` the file name, ``RECORD`` the ``ImageRecord``, ``THUMB`` the QImage
(None until made), ``STATUS`` one of ``STATUSES``, ``PREDICTED`` whether a prediction exists.
"""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from core.project import ImageRecord

RECORD = Qt.ItemDataRole.UserRole + 1
THUMB = Qt.ItemDataRole.UserRole + 2
STATUS = Qt.ItemDataRole.UserRole + 3
PREDICTED = Qt.ItemDataRole.UserRole + 4
MISSING = Qt.ItemDataRole.UserRole + 5
_ROOT = QModelIndex()  # the invalid index: a list's rows hang under it

#: status -> words shown on the badge
STATUSES = {"unlabeled": "Unlabelled", "in_progress": "In progress", "done": "Done"}

#: filter keys of ``PhotoFilterProxy.set_status_filter``
FILTERS = {"all": "All photos", "unlabeled": "Unlabelled", "in_progress": "In progress", "done": "Done",
           "predicted": "Has prediction", "missing": "Photo file missing"}
SORTS = {"name": "Name", "added": "Date added", "status": "Status"}


class PhotoListModel(QAbstractListModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._records: list[ImageRecord] = []
        self._row: dict[int, int] = {}
        self._thumbs: dict = {}
        self._predicted: set[int] = set()

    def set_records(self, records: list[ImageRecord], predicted: set[int]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._row = {r.id: i for i, r in enumerate(self._records)}
        self._predicted = set(predicted)
        self.endResetModel()

    def update_record(self, record: ImageRecord, predicted: bool | None = None) -> None:
        row = self._row.get(record.id)
        if row is None:
            return
        self._records[row] = record
        if predicted is not None:
            (self._predicted.add if predicted else self._predicted.discard)(record.id)
        idx = self.index(row)
        self.dataChanged.emit(idx, idx)

    def set_thumbnail(self, image_id: int, image) -> None:
        self._thumbs[image_id] = image
        row = self._row.get(image_id)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [THUMB])

    def clear_thumbnails(self) -> None:
        self._thumbs.clear()

    def records(self) -> list[ImageRecord]:
        return list(self._records)

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self._records)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        rec = self._records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return rec.name
        if role == Qt.ItemDataRole.ToolTipRole:
            where = str(rec.path) if rec.exists else f"{rec.path} (not found)"
            return f"{where}\n{rec.width} × {rec.height} px · {STATUSES.get(rec.status, rec.status)}"
        if role == RECORD:
            return rec
        if role == THUMB:
            return self._thumbs.get(rec.id)
        if role == STATUS:
            return rec.status
        if role == PREDICTED:
            return rec.id in self._predicted
        if role == MISSING:
            return not rec.exists
        return None


class PhotoFilterProxy(QSortFilterProxyModel):
    """Filter by status and by text in the name; sort by name, date added or status."""

    _STATUS_ORDER = {"unlabeled": 0, "in_progress": 1, "done": 2}

    def __init__(self, parent=None):
        super().__init__(parent)
        self._status = "all"
        self._text = ""
        self._sort = "name"
        self.setDynamicSortFilter(True)
        self.sort(0)

    def _refilter(self, change) -> None:
        # Qt 6.10 replaced invalidateFilter() by begin/endFilterChange(); older Qt has only the former.
        if hasattr(self, "endFilterChange"):
            self.beginFilterChange()
            change()
            self.endFilterChange()
        else:
            change()
            self.invalidateFilter()

    def set_status_filter(self, key: str) -> None:
        self._refilter(lambda: setattr(self, "_status", key))

    def set_text_filter(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_text", text.strip().lower()))

    def set_sort_key(self, key: str) -> None:
        self._sort = key
        self.invalidate()
        self.sort(0)

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        idx = self.sourceModel().index(row, 0, parent)
        rec: ImageRecord = idx.data(RECORD)
        if self._text and self._text not in rec.name.lower():
            return False
        if self._status == "all":
            return True
        if self._status == "predicted":
            return bool(idx.data(PREDICTED))
        if self._status == "missing":
            return not rec.exists
        return rec.status == self._status

    def lessThan(self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex) -> bool:
        a: ImageRecord = left.data(RECORD)
        b: ImageRecord = right.data(RECORD)
        if self._sort == "added":
            return (a.added_at, a.id) < (b.added_at, b.id)
        if self._sort == "status":
            return (self._STATUS_ORDER.get(a.status, 9), a.name.lower()) < (self._STATUS_ORDER.get(b.status, 9),
                                                                             b.name.lower())
        return (a.name.lower(), a.id) < (b.name.lower(), b.id)
