"""Run panopticapi itself (when installed) and return its numbers as a ``PQResult``.

For users who want the reference implementation's numbers on record, or to cross-check ours.
panopticapi's own per-image code (``pq_compute_single_core``, on ``cpu_count()`` processes as its
``pq_compute_multi_core`` splits the work) and its own averaging (``PQStat.pq_average``) produce
every number. This module pairs the annotations as ``pq_compute`` does (``match_annotations``,
same messages), runs the processes in a pool that it closes (panopticapi leaves its pool open),
returns TP/FP/FN counts too, and turns its untyped exceptions into typed errors. Its prints go to
the debug log. There are no per-image rows: panopticapi does not keep them.
"""
from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
from pathlib import Path

from core.errors import AnnotationError, DatasetError, InspectorError
from core.evaluation.files import match_annotations, open_file_pair
from core.evaluation.result import GROUPS, PQResult, PQRow

log = logging.getLogger(__name__)


def evaluate_with_panopticapi(gt_json: str | Path, pred_json: str | Path, gt_folder: str | Path | None = None,
                              pred_folder: str | Path | None = None) -> PQResult:
    """panopticapi's PQ of a COCO panoptic prediction against ground truth.

    Raises:
        InspectorError: panopticapi is not installed.
        DatasetError / AnnotationError: what panopticapi refuses, with its message.
    """
    try:
        from panopticapi.evaluation import PQStat, pq_compute_single_core
    except ImportError as e:
        raise InspectorError("the reference evaluator panopticapi is not installed",
                             hint="pip install panopticapi-lite, or use the built-in backend") from e
    files = open_file_pair(gt_json, pred_json, gt_folder, pred_folder)
    gt_json, pred_json, gt_data, pred_data = files.gt_json, files.pred_json, files.gt_data, files.pred_data
    gt_folder, pred_folder, categories = files.gt_folder, files.pred_folder, files.categories
    pairs = match_annotations(gt_data, pred_data, gt_json, pred_json)
    cat_dicts = {c["id"]: c for c in gt_data["categories"]}

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            stat = PQStat()
            n = max(1, min(multiprocessing.cpu_count(), len(pairs)))
            size, extra = divmod(len(pairs), n)  # contiguous chunks, as its np.array_split makes
            bounds = [k * size + min(k, extra) for k in range(n + 1)]
            pool = multiprocessing.Pool(processes=n)
            try:
                jobs = [pool.apply_async(pq_compute_single_core, (k, pairs[bounds[k]:bounds[k + 1]], str(gt_folder),
                                                                  str(pred_folder), cat_dicts))
                        for k in range(n)]
                for job in jobs:
                    stat += job.get()
            finally:
                # close + join, not terminate (what ``with Pool`` does): terminate can hang while
                # a worker is still sending a result; the remaining chunks finish on their own.
                pool.close()
                pool.join()
            groups = {}
            all_per_class = None
            for name, isthing in zip(GROUPS, (None, True, False)):
                try:
                    groups[name], per_class = stat.pq_average(cat_dicts, isthing=isthing)
                except ZeroDivisionError:  # a group without any counted category
                    groups[name], per_class = None, None
                if name == "All":
                    all_per_class = per_class
    except KeyError as e:  # its inconsistency messages (PNG vs JSON ids, unknown category)
        raise AnnotationError(str(e.args[0]) if e.args else repr(e), pred_json) from e
    except (OSError, ValueError) as e:
        raise DatasetError(f"panopticapi failed: {e}", pred_json) from e
    finally:
        log.debug("panopticapi:\n%s", out.getvalue())

    per_class_rows = []
    for cat in categories:
        s = stat.pq_per_cat[cat.id]
        res = all_per_class[cat.id] if all_per_class is not None else {"pq": 0.0, "sq": 0.0, "rq": 0.0}
        counted = s.tp + s.fp + s.fn > 0
        per_class_rows.append(PQRow(cat.name, float(res["pq"]), float(res["sq"]), float(res["rq"]), int(counted),
                                    int(s.tp), int(s.fp), int(s.fn), float(s.iou), cat.id, cat.isthing))
    rows = []
    for name, isthing in zip(GROUPS, (None, True, False)):
        members = [r for r in per_class_rows if isthing is None or r.isthing == isthing]
        tp, fp, fn = (sum(getattr(r, k) for r in members) for k in ("tp", "fp", "fn"))
        iou = sum(r.iou for r in members)
        g = groups[name]
        if g is None:
            nan = float("nan")
            rows.append(PQRow(name, nan, nan, nan, 0, tp, fp, fn, iou))
        else:
            rows.append(PQRow(name, float(g["pq"]), float(g["sq"]), float(g["rq"]), int(g["n"]), tp, fp, fn, iou))
    all_, things, stuff = rows  # one row per group of GROUPS
    return PQResult(all_, things, stuff, per_class=tuple(per_class_rows), per_image=(), num_images=len(pairs))
