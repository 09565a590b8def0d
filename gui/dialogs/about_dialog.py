"""Help › About: version, the software it runs on (Python, Qt, torch and whether a GPU is used)
and the licences of the main components.

torch takes seconds to import, so its status is found on a worker thread once the dialog is open
(the row says "checking…" until then); nothing here imports torch when the app starts.
"""
from __future__ import annotations

import logging
import os
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import shiboken6
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from core import __version__
from gui.workers.base import TaskRunner

log = logging.getLogger(__name__)

#: The components named in the licence table, as their distributions are called.
COMPONENTS = ("torch", "torchvision", "numpy", "scipy", "pillow", "opencv-python-headless", "pycocotools",
              "PySide6-Essentials", "PySide6-Addons", "shiboken6", "qtawesome")
APP_LICENCE = "Apache-2.0"
README = Path(__file__).resolve().parent.parent.parent / "README.md"  # the checkout's, or the bundle's copy


@dataclass(frozen=True)
class ComponentLicence:
    name: str
    version: str   # "" when not installed
    licence: str


@dataclass(frozen=True)
class TorchStatus:
    """What torch can run on here, in words; ``error`` is set when torch could not be loaded."""

    version: str = ""
    cuda_build: str = ""   # the CUDA version torch was built for, "" for a CPU build
    device: str = ""       # "NVIDIA RTX A4000 (16.0 GiB)" or "CPU only (8 threads)"
    error: str = ""


def _header(meta: metadata.PackageMetadata, name: str) -> str | None:
    """The first ``name`` header of the metadata, None when there is none."""
    values = meta.get_all(name)
    return str(values[0]) if values else None


def licence_of(dist: metadata.Distribution) -> str:
    """A short licence name from the package's metadata: the SPDX expression when there is one,
    else a one-line License field, else the trove classifiers."""
    meta = dist.metadata
    expression = (_header(meta, "License-Expression") or "").strip()
    if expression:
        return expression
    field = (_header(meta, "License") or "").strip()
    if field and "\n" not in field and len(field) <= 80:  # some packages paste the whole text here
        return field
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    if classifiers:
        return ", ".join(classifiers)
    return "see the licence file it ships" if field else "not stated"


def component_licences(names: tuple[str, ...] = COMPONENTS) -> list[ComponentLicence]:
    out = []
    for name in names:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            out.append(ComponentLicence(name, "", "not installed"))
            continue
        out.append(ComponentLicence(_header(dist.metadata, "Name") or name, dist.version, licence_of(dist)))
    return out


def torch_status() -> TorchStatus:
    """Imports torch (slow: call it on a worker thread). A torch that fails to load is reported
    in ``error``, since the About dialog is where a user looks when training will not start."""
    try:
        import torch

        if torch.cuda.is_available():
            p = torch.cuda.get_device_properties(0)
            more = f", and {torch.cuda.device_count() - 1} more" if torch.cuda.device_count() > 1 else ""
            device = f"{p.name} ({p.total_memory / 2**30:.1f} GiB){more}"
        else:
            device = f"CPU only ({torch.get_num_threads()} threads)"
        return TorchStatus(torch.__version__, torch.version.cuda or "", device)
    except Exception as e:
        log.warning("torch could not be loaded: %s", e, exc_info=True)
        return TorchStatus(error=f"{type(e).__name__}: {e}")


def bundle_note() -> str:
    """Which standalone bundle this is (set by its runtime hook), "" when run from Python."""
    variant = os.environ.get("PANOPTIC_INSPECTOR_BUNDLE", "") if getattr(sys, "frozen", False) else ""
    return {"cpu": "standalone, CPU build (GPUs are not used)", "gpu": "standalone, GPU build"}.get(variant, "")


class AboutDialog(QDialog):
    """``AboutDialog(window.runner, window).open()``. ``self.torch`` stays None until the worker
    that imports torch has answered (``self.task``)."""

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("About Panoptic Inspector")
        self.torch: TorchStatus | None = None
        self.licences = component_licences()

        header = QHBoxLayout()
        logo = QLabel()
        icon = QGuiApplication.windowIcon()
        if not icon.isNull():
            logo.setPixmap(icon.pixmap(96, 96))
        header.addWidget(logo)
        title = QLabel(f"<h2 style='margin-bottom:2px'>Panoptic Inspector {__version__}</h2>"
                       "Panoptic segmentation of concrete defects: annotate photos, train a DETR model, "
                       "predict, measure and export COCO panoptic.")
        title.setWordWrap(True)
        header.addWidget(title, 1)

        tabs = QTabWidget()
        tabs.addTab(self._system_tab(), "System")
        tabs.addTab(self._licence_tab(), "Licences")

        self.readme = QLabel()
        self.readme.setObjectName("readmeLink")
        self.readme.setOpenExternalLinks(True)
        if README.is_file():
            self.readme.setText(f"<a href='{QUrl.fromLocalFile(str(README)).toString()}'>Read me</a>: "
                                "how to use it, the command line, and where your data goes.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Copy the versions above, for a bug report")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(tabs, 1)
        layout.addWidget(self.readme)
        layout.addWidget(buttons)
        self.resize(620, 460)

        self.task = runner.start(lambda progress, cancel: torch_status(), "check torch",
                                 on_finished=self._torch_ready, report_errors=False)

    # --- tabs ---------------------------------------------------------------------------------------
    def _system_tab(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.rows: dict[str, QLabel] = {}
        rows = [
            ("Version", __version__),
            ("Python", f"{platform.python_version()} ({platform.python_implementation()})"),
            ("Qt", f"{qVersion()}, PySide6 {pyside_version}"),
            ("System", f"{platform.system()} {platform.release()} ({platform.machine()})"),
            ("torch", "checking…"),
            ("CUDA", "checking…"),
            ("Runs on", "checking…"),
        ]
        if bundle_note():
            rows.insert(1, ("Build", bundle_note()))
        for key, value in rows:
            label = QLabel(value)
            label.setObjectName(f"about_{key.lower().replace(' ', '_')}")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            form.addRow(f"{key}:", label)
            self.rows[key] = label
        return page

    def _licence_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        intro = QLabel(f"Panoptic Inspector is licensed under {APP_LICENCE}. It is built on these components; "
                       "each keeps its own licence, whose full text ships with it. Qt for Python (PySide6) "
                       "is used under the LGPL-3.0 as separate libraries, which you may replace.")
        intro.setWordWrap(True)
        table = QTableWidget(len(self.licences), 3)
        table.setObjectName("licenceTable")
        table.setHorizontalHeaderLabels(["Component", "Version", "Licence"])
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, c in enumerate(self.licences):
            for col, text in enumerate((c.name, c.version or "—", c.licence)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                table.setItem(row, col, item)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.licence_table = table
        layout.addWidget(intro)
        layout.addWidget(table, 1)
        return page

    # --- torch --------------------------------------------------------------------------------------
    def _torch_ready(self, status: TorchStatus) -> None:
        if not shiboken6.isValid(self):  # closed before torch answered
            return
        self.torch = status
        if status.error:
            self.rows["torch"].setText(f"could not be loaded: {status.error}")
            self.rows["CUDA"].setText("unknown")
            self.rows["Runs on"].setText("training and prediction are not available")
            return
        self.rows["torch"].setText(status.version)
        self.rows["CUDA"].setText(f"built for CUDA {status.cuda_build}" if status.cuda_build else "CPU build of torch")
        self.rows["Runs on"].setText(status.device)

    def details(self) -> str:
        """The System tab and the component versions as plain text."""
        lines = [f"{key}: {label.text()}" for key, label in self.rows.items()]
        lines += [f"{c.name} {c.version or '(not installed)'}: {c.licence}" for c in self.licences]
        return "\n".join(lines)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details())
        self.copy_button.setText("Copied")
