"""``ReportDialog``: where to write the inspection report and what goes into it.

The choices of ``python main.py report`` that make sense in the window: the folder, the title,
which figures (annotations, the model's predictions, or the annotation where there is one and
else the prediction) and, for predictions, a confidence threshold. A folder that already holds a
report is said plainly (the new one replaces it, atomically) rather than asked about afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from core.report import HTML_NAME

SOURCES = (("auto", "Annotation where there is one, else the model's prediction"),
           ("annotation", "Annotations only"),
           ("prediction", "The model's predictions only"))


@dataclass(frozen=True)
class ReportOptions:
    folder: Path
    title: str = "Inspection report"
    source: str = "auto"
    min_score: float | None = None
    open_after: bool = True
    pdf: bool = False
    page_size: str = "A4"
    structure: str = ""
    element: str = ""
    notes: str = ""

    def details(self) -> tuple[tuple[str, str], ...]:
        """Header rows for the structure / element notes that were filled in."""
        return tuple((k, v) for k, v in (("Structure", self.structure), ("Element", self.element),
                                         ("Notes", self.notes)) if v)


class ReportDialog(QDialog):
    def __init__(self, folder: Path, has_predictions: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("reportDialog")
        self.setWindowTitle("Write the inspection report")
        self.setMinimumWidth(520)
        self.folder = QLineEdit(str(folder))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        self.title = QLineEdit("Inspection report")
        self.source = QComboBox()
        for key, text in SOURCES:
            self.source.addItem(text, key)
        self.source.setEnabled(has_predictions)
        self.source.setToolTip("" if has_predictions else "The project holds no predictions: annotations are reported")
        self.use_threshold = QCheckBox("Leave out predicted segments scoring below")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(0.5)
        self.use_threshold.setEnabled(has_predictions)
        self.threshold.setEnabled(False)
        self.use_threshold.toggled.connect(self.threshold.setEnabled)
        threshold_row = QHBoxLayout()
        threshold_row.addWidget(self.use_threshold)
        threshold_row.addWidget(self.threshold)
        threshold_row.addStretch(1)
        self.structure = QLineEdit()
        self.structure.setPlaceholderText("e.g. Bridge A12, pier 3")
        self.element = QLineEdit()
        self.element.setPlaceholderText("e.g. crossbeam, north face")
        self.notes = QLineEdit()
        self.notes.setPlaceholderText("inspector, weather, access…")
        self.pdf = QCheckBox("Also write a print-ready PDF (report.pdf)")
        self.page_size = QComboBox()
        self.page_size.addItem("A4", "A4")
        self.page_size.addItem("US Letter", "Letter")
        self.page_size.setEnabled(False)
        self.pdf.toggled.connect(self.page_size.setEnabled)
        pdf_row = QHBoxLayout()
        pdf_row.addWidget(self.pdf)
        pdf_row.addWidget(self.page_size)
        pdf_row.addStretch(1)
        self.open_after = QCheckBox("Open the report when it is written")
        self.open_after.setChecked(True)
        self.note = QLabel()
        self.note.setObjectName("reportNote")
        self.note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Folder", row)
        form.addRow("Title", self.title)
        form.addRow("Figures of", self.source)
        form.addRow("", threshold_row)
        form.addRow("Structure", self.structure)
        form.addRow("Element", self.element)
        form.addRow("Notes", self.notes)
        form.addRow("", pdf_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Write")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        intro = QLabel("One HTML file that opens offline in any browser (every photo with its defects outlined "
                       "and numbered, their measurements, totals per category) and segments.csv with every "
                       "segment's figures; on request a PDF to print and file (a page or more per photo, "
                       "with its capture time and GPS position when the photo has them).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.open_after)
        layout.addWidget(self.buttons)
        self.folder.textChanged.connect(self._check)
        self._check()

    def _browse(self) -> None:
        start = Path(self.folder.text()).expanduser()
        chosen = QFileDialog.getExistingDirectory(self, "Folder for the report",
                                                  str(start if start.exists() else start.parent))
        if chosen:
            self.folder.setText(chosen)

    def _check(self) -> None:
        text = self.folder.text().strip()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(text))
        if not text:
            self.note.setText("Choose a folder for the report.")
        elif (Path(text).expanduser() / HTML_NAME).exists():
            self.note.setText(f"This folder holds a report already: {HTML_NAME} and segments.csv will be replaced.")
        elif not Path(text).expanduser().exists():
            self.note.setText("The folder will be created.")
        else:
            self.note.setText("")

    def options(self) -> ReportOptions:
        return ReportOptions(folder=Path(self.folder.text().strip()).expanduser(),
                             title=self.title.text().strip() or "Inspection report",
                             source=self.source.currentData(),
                             min_score=self.threshold.value() if self.use_threshold.isChecked() else None,
                             open_after=self.open_after.isChecked(), pdf=self.pdf.isChecked(),
                             page_size=self.page_size.currentData(), structure=self.structure.text().strip(),
                             element=self.element.text().strip(), notes=self.notes.text().strip())
