"""Importers and exporters: mask folders, COCO instances, COCO panoptic, labelme, semantic PNGs.

Importers return an ``ImportRun`` (categories up front, then per-item ``ImportItem`` /
``ImportProblem`` results while iterating, and an ``ImportReport``); exporters take
``ExportRecord`` objects and write a folder atomically. See each module for its rules.
"""
from collections.abc import Callable

from core.formats.class_mapping import ClassMapping, load_class_mapping, parse_class_option
from core.formats.coco_instances import export_coco_instances, import_coco_instances
from core.formats.coco_panoptic import export_coco_panoptic, import_coco_panoptic
from core.formats.records import ExportRecord, ImportItem, ImportProblem, ImportReport, records_from_import
from core.formats.import_run import ImportRun
from core.formats.export import AtomicFolder, ExportSummary, split_ids
from core.formats.labelme import import_labelme
from core.formats.mask_folder import MaskFolderOptions, import_mask_folder
from core.formats.semantic import export_semantic

# the exporters share (records, categories, dest, *, progress, cancel, total, ...) but differ in options
EXPORTERS: dict[str, Callable[..., ExportSummary]] = {
    "coco-panoptic": export_coco_panoptic, "coco-instances": export_coco_instances, "semantic": export_semantic}

__all__ = ["ClassMapping", "load_class_mapping", "parse_class_option", "import_coco_instances",
           "export_coco_instances", "import_coco_panoptic", "export_coco_panoptic", "ExportRecord", "ImportItem",
           "ImportProblem", "ImportReport", "ImportRun", "records_from_import", "AtomicFolder", "ExportSummary",
           "split_ids", "import_labelme", "MaskFolderOptions", "import_mask_folder", "export_semantic", "EXPORTERS"]
