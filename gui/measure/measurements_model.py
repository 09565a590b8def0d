"""``MeasurementsModel``: the rows of the measurements table, one per segment of the photo.

Columns are ``core.measure.TABLE_COLUMNS`` (label, category, crack length and widths, the
width's spread and how it was read, orientation, area, share, equivalent diameter, score) with the unit in the titles
(``Length (mm)`` or ``Length (px)``). The text is ``format_number``'s; ``SORT_ROLE`` holds the
raw number so sorting is numeric, with empty cells (not applicable) last in either order.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from core.categories import CategorySet
from core.measure import (TABLE_COLUMNS, UNIT_PX, Measurement, column_titles, format_measurement, format_number,
                          table_row)
from core.measure.exposure import WidthLimit, compare_measurement, verdict_text
from core.measure.present import WIDTH_METHOD_SHORT
from gui.dialogs.category_dialogs import swatch

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
SEGMENT_ROLE = Qt.ItemDataRole.UserRole + 2
_ROOT = QModelIndex()  # the invalid index: a table's rows hang under it
#: The core's columns, a crack's width against the project's limit, then the segment's id (what
#: the Segments panel shows as "crack #2").
KEYS = [key for key, _t, _k in TABLE_COLUMNS] + ["width_limit", "segment_id"]
COL_LABEL, COL_CATEGORY, COL_SCORE = KEYS.index("label"), KEYS.index("category"), KEYS.index("score")
COL_SEGMENT = KEYS.index("segment_id")


def cell_text(key: str, value) -> str:
    if value is None:
        return ""
    if key == "label":
        return str(value)
    if key == "segment_id":
        return f"#{value}"
    if key == "category":
        return str(value)
    if key == "orientation_deg":
        return f"{value:.0f}"
    if key == "area_share_percent":
        return f"{value:.2f}"
    if key == "score":
        return f"{value:.2f}"
    if key == "width_method":
        return WIDTH_METHOD_SHORT.get(value, str(value))
    if key == "width_limit":
        return str(value)
    return format_number(value)


class MeasurementsModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[Measurement] = []
        self._values: list[list] = []
        self.unit = UNIT_PX
        self._categories = CategorySet()
        self.limit: WidthLimit | None = None

    def set_rows(self, measurements: Sequence[Measurement], unit: str, categories: CategorySet) -> None:
        self.beginResetModel()
        self.rows = list(measurements)
        self._values = [table_row(m) + [verdict_text(compare_measurement(m, self.limit), self.limit) or None,
                                        m.segment_id] for m in self.rows]
        self.unit = unit
        self._categories = categories
        self.endResetModel()
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(KEYS) - 1)

    def measurement(self, row: int) -> Measurement:
        return self.rows[row]

    def row_of(self, segment_id: int) -> int:
        return next((r for r, m in enumerate(self.rows) if m.segment_id == segment_id), -1)

    # --- Qt model --------------------------------------------------------------------------------
    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(KEYS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(KEYS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return (column_titles(self.unit) + ["vs limit", "Segment"])[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS.get(KEYS[section])
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        m, value, key = self.rows[r], self._values[r][c], KEYS[c]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(key, value)
        if role == SORT_ROLE:
            return value
        if role == SEGMENT_ROLE:
            return m.segment_id
        if role == Qt.ItemDataRole.TextAlignmentRole and key != "category":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.DecorationRole and key == "category":
            cats = self._categories
            return swatch(cats.by_id(m.category_id).color if m.category_id in cats else (128, 128, 128), 12)
        if role == Qt.ItemDataRole.ToolTipRole:
            return format_measurement(m, self.limit) + f"\nsegment #{m.segment_id}"
        if role == Qt.ItemDataRole.ForegroundRole and key == "width_limit" and value and value.startswith("above"):
            return QColor(200, 40, 40)
        return None


_HEADER_TIPS = {
    "label": "The defect's number, as drawn in the report (surfaces have none)",
    "length": "Cracks and exposed rebar: centreline length, branches summed",
    "max_width": "Cracks: widest opening along the centreline (away from the ends), read from the photo "
                 "when it can be",
    "mean_width": "Cracks: mean width along the centreline, read from the photo when it can be; exposed rebar: "
                  "visible diameter",
    "width": "Cracks: median width along the crack, read from the photo's grey profile across it (below a pixel)",
    "width_spread": "Cracks: interquartile range (IQR) of the width along the crack: the width's uncertainty",
    "width_method": "How the width was read: photo (the crack's own profile), photo (ref.) (interior contrast "
                    "from the photo's wider cracks), photo (est.) (thin and blurred: the interior's contrast "
                    "estimated, uncertain), mask (counted from the mask: the profile was unusable)",
    "orientation_deg": "Cracks: direction of the centreline, 0° horizontal, counter-clockwise",
    "area_share_percent": "Share of the photo's pixels",
    "equivalent_diameter": "Diameter of a disc with the same area",
    "score": "The model's confidence (predictions only)",
    "width_limit": "Cracks: width against the project's tolerable width (Measure › Crack width limit); "
                   "near = the limit lies within the width's IQR. Guidance, not an acceptance limit",
    "segment_id": "The segment's id, as in the Segments panel",
}


class MeasurementsSortProxy(QSortFilterProxyModel):
    """Numeric sort on ``SORT_ROLE``; cells without a figure stay below the figures."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)

    def lessThan(self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        a_none = a is None or (isinstance(a, float) and math.isnan(a))
        b_none = b is None or (isinstance(b, float) and math.isnan(b))
        if a_none or b_none:
            # Empty last whatever the direction: the comparison is flipped for descending order.
            descending = self.sortOrder() == Qt.SortOrder.DescendingOrder
            return (not a_none and b_none) != descending if a_none != b_none else False
        if isinstance(a, str) or isinstance(b, str):
            return str(a).casefold() < str(b).casefold()
        return a < b
