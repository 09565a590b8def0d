"""Text tables of evaluation results, laid out as panopticapi and pycocotools print them.

So numbers can be put side by side with published ones (and with a panopticapi log) line by line.
"""
from __future__ import annotations

from core.evaluation.coco_ap import CocoAPResult
from core.evaluation.result import GROUPS, PQResult

# COCOeval.summarize(): (AP or AR, IoU label, area range, max detections) of each of the 12 stats.
_COCO_LINES = (
    (1, "0.50:0.95", "all", 100), (1, "0.50", "all", 100), (1, "0.75", "all", 100),
    (1, "0.50:0.95", "small", 100), (1, "0.50:0.95", "medium", 100), (1, "0.50:0.95", "large", 100),
    (0, "0.50:0.95", "all", 1), (0, "0.50:0.95", "all", 10), (0, "0.50:0.95", "all", 100),
    (0, "0.50:0.95", "small", 100), (0, "0.50:0.95", "medium", 100), (0, "0.50:0.95", "large", 100),
)


def format_pq_table(result: PQResult, per_class: bool = False) -> str:
    """panopticapi's table (PQ, SQ, RQ x100 and N for All / Things / Stuff).

    With ``per_class``, a second block lists every category with PQ, SQ, RQ and TP / FP / FN;
    categories without any segment show ``-``.
    """
    lines = [f"{'':10s}| {'PQ':>5s}  {'SQ':>5s}  {'RQ':>5s} {'N':>5s}", "-" * (10 + 7 * 4)]
    for name, row in zip(GROUPS, result.groups):
        lines.append(f"{name:10s}| {100 * row.pq:5.1f}  {100 * row.sq:5.1f}  {100 * row.rq:5.1f} {row.n:5d}")
    if per_class:
        width = max([10] + [len(r.name) + 1 for r in result.per_class])
        header = "{:{w}s}| {:>5s}  {:>5s}  {:>5s} {:>6s} {:>6s} {:>6s}  {}".format(
            "", "PQ", "SQ", "RQ", "TP", "FP", "FN", "kind", w=width)
        lines += ["", header, "-" * len(header)]
        for r in result.per_class:
            kind = "thing" if r.isthing else "stuff"
            if r.n == 0:
                lines.append("{:{w}s}| {:>5s}  {:>5s}  {:>5s} {:6d} {:6d} {:6d}  {}".format(
                    r.name, "-", "-", "-", r.tp, r.fp, r.fn, kind, w=width))
            else:
                lines.append("{:{w}s}| {:5.1f}  {:5.1f}  {:5.1f} {:6d} {:6d} {:6d}  {}".format(
                    r.name, 100 * r.pq, 100 * r.sq, 100 * r.rq, r.tp, r.fp, r.fn, kind, w=width))
    return "\n".join(lines)


def format_coco_table(result: CocoAPResult) -> str:
    """The 12 lines ``COCOeval.summarize()`` prints, for boxes then masks."""
    lines = []
    for iou_type, title in (("bbox", "Boxes (things)"), ("segm", "Masks (things)")):
        lines.append(f"{title}:")
        for (ap, iou, area, dets), value in zip(_COCO_LINES, getattr(result, iou_type)):
            lines.append(" {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}".format(
                "Average Precision" if ap else "Average Recall", "(AP)" if ap else "(AR)", iou, area, dets, value))
    return "\n".join(lines)
