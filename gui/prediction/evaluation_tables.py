"""Table models of an evaluation result (``core.evaluation.project_eval.ProjectEvaluation``).

* ``PQTableModel`` - All / Things / Stuff, then one row per class: PQ, SQ, RQ (x100, as
  panopticapi prints them), TP, FP, FN.
* ``CocoTableModel`` - COCOeval's twelve numbers for boxes and masks of things.
* ``ThinTableModel`` - thin classes (cracks, rebar, flagged ones): centreline precision, recall,
  F1 and clIoU within a tolerance (x100), truth and predicted centreline length, then all of them.
* ``PhotoTableModel`` - one row per photo (PQ, SQ, RQ, TP, FP, FN); through ``SORT_ROLE`` a
  ``QSortFilterProxyModel`` sorts the numbers as numbers, photos without any segment last.

Displayed text and the numbers behind it come from the result object unchanged (``VALUE_ROLE``),
so what the table says is exactly what the core evaluator computed.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from core.evaluation.coco_ap import STAT_NAMES

VALUE_ROLE = Qt.ItemDataRole.UserRole + 1   # the raw number (fractions, not x100)
SORT_ROLE = Qt.ItemDataRole.UserRole + 2    # what the proxy sorts by
ID_ROLE = Qt.ItemDataRole.UserRole + 3      # image id of a photo row

_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invalid index: a table's rows hang under it


def percent(x: float) -> str:
    """A fraction as panopticapi prints it (x100, one decimal); "–" when there is no value."""
    return "–" if x is None or math.isnan(x) else f"{100 * x:.1f}"


class _Table(QAbstractTableModel):
    headers: tuple[str, ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple] = []  # (label, values..., extras) per subclass

    def rowCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None

    def value(self, row: int, column: int):
        """The raw value behind a cell (tests compare it with the core result)."""
        return self.index(row, column).data(VALUE_ROLE)


class PQTableModel(_Table):
    headers = ("", "PQ", "SQ", "RQ", "TP", "FP", "FN", "Kind")

    def set_result(self, pq) -> None:
        self.beginResetModel()
        self.rows = [(row, True) for row in pq.groups] + [(row, False) for row in pq.per_class]
        self.endResetModel()

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, group = self.rows[index.row()]
        col = index.column()
        raw = (row.name, row.pq, row.sq, row.rq, row.tp, row.fp, row.fn,
               "" if group else ("thing" if row.isthing else "stuff"))[col]
        if role == VALUE_ROLE:
            return raw
        if role == Qt.ItemDataRole.DisplayRole:
            if 1 <= col <= 3:
                return "–" if (not group and row.n == 0) else percent(raw)
            return str(raw)
        if role == Qt.ItemDataRole.TextAlignmentRole and 1 <= col <= 6:
            return _RIGHT
        if role == Qt.ItemDataRole.FontRole and group:
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole and not group and row.n == 0:
            return "No segment of this class in the photos or the predictions"
        return None


class CocoTableModel(_Table):
    headers = ("", "Boxes", "Masks")
    _LABELS = {"AP": "AP @ IoU 0.50:0.95", "AP50": "AP @ IoU 0.50", "AP75": "AP @ IoU 0.75", "APs": "AP small",
               "APm": "AP medium", "APl": "AP large", "AR1": "AR, 1 detection", "AR10": "AR, 10 detections",
               "AR100": "AR, 100 detections", "ARs": "AR small", "ARm": "AR medium", "ARl": "AR large"}

    def set_result(self, coco) -> None:
        self.beginResetModel()
        self.rows = [] if coco is None else [(name, coco.bbox[i], coco.segm[i]) for i, name in enumerate(STAT_NAMES)]
        self.endResetModel()

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        name, box, mask = self.rows[index.row()]
        col = index.column()
        if role == VALUE_ROLE:
            return (name, box, mask)[col]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return self._LABELS.get(name, name)
            v = (box, mask)[col - 1]
            return "–" if v < 0 else f"{v:.3f}"  # COCOeval's -1: nothing of that kind to average
        if role == Qt.ItemDataRole.TextAlignmentRole and col:
            return _RIGHT
        return None


class ThinTableModel(_Table):
    headers = ("", "Precision", "Recall", "F1", "clIoU", "Truth length (px)", "Predicted length (px)")

    def set_result(self, thin) -> None:
        """``core.evaluation.thin.ThinResult`` (None: no table)."""
        self.beginResetModel()
        self.rows = [] if thin is None or not thin.per_class else [*thin.per_class, thin.overall]
        self.endResetModel()

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        raw = (row.name, row.precision, row.recall, row.f1, row.cliou, row.gt_length, row.pred_length)[col]
        if role == VALUE_ROLE:
            return raw
        if role == Qt.ItemDataRole.DisplayRole:
            if 1 <= col <= 4:
                return percent(raw)
            return raw if col == 0 else f"{raw:,.0f}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col:
            return _RIGHT
        if role == Qt.ItemDataRole.FontRole and row.category_id is None:
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ToolTipRole and not row.counted:
            return "No centreline of this class in the photos or the predictions"
        return None


class PhotoTableModel(_Table):
    headers = ("Photo", "PQ", "SQ", "RQ", "TP", "FP", "FN")

    def set_result(self, photos) -> None:
        self.beginResetModel()
        self.rows = list(photos)
        self.endResetModel()

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        photo = self.rows[index.row()]
        r = photo.pq
        col = index.column()
        raw = (photo.name, r.pq, r.sq, r.rq, r.tp, r.fp, r.fn)[col]
        if role == VALUE_ROLE:
            return raw
        if role == ID_ROLE:
            return photo.image_id
        if role == SORT_ROLE:
            if col == 0:
                return photo.name.lower()
            # Photos with no segment at all have no PQ: they sort after every number.
            return math.inf if isinstance(raw, float) and math.isnan(raw) else float(raw)
        if role == Qt.ItemDataRole.DisplayRole:
            return percent(raw) if 1 <= col <= 3 else str(raw)
        if role == Qt.ItemDataRole.TextAlignmentRole and col:
            return _RIGHT
        if role == Qt.ItemDataRole.ToolTipRole:
            return "Double-click to open this photo"
        return None
