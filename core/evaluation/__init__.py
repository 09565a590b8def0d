"""Evaluation: panoptic quality (PQ/SQ/RQ, panopticapi semantics) and COCO box/mask AP.

* ``PQAccumulator`` - in memory, ``reset / process(gt, pred) / evaluate``; what training and the
  GUI use.
* ``evaluate_files`` - COCO panoptic JSON + PNG folders, a faster drop-in for panopticapi's
  ``pq_compute`` (same numbers, same error messages).
* ``CocoAPAccumulator`` - box AP/AR and mask AP of things through pycocotools' COCOeval.
* ``format_pq_table`` / ``format_coco_table`` - the tables panopticapi and COCOeval print.
"""
from core.evaluation.coco_ap import STAT_NAMES, CocoAPAccumulator, CocoAPResult, thing_instances
from core.evaluation.files import FileEvaluation, evaluate_files, evaluate_pq_files
from core.evaluation.pq import PQAccumulator, image_stats
from core.evaluation.result import ImagePQ, PQResult, PQRow, PQStats
from core.evaluation.tables import format_coco_table, format_pq_table

__all__ = ["CocoAPAccumulator", "CocoAPResult", "FileEvaluation", "ImagePQ", "PQAccumulator", "PQResult",
           "PQRow", "PQStats", "STAT_NAMES", "evaluate_files", "evaluate_pq_files", "format_coco_table",
           "format_pq_table", "image_stats", "thing_instances"]
