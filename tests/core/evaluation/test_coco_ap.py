"""Box and mask AP of things: equal to a direct pycocotools run on the same data."""
import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from core.errors import AnnotationError
from core.evaluation import STAT_NAMES, CocoAPAccumulator, CocoAPResult, evaluate_files
from core.panoptic import PanopticAnnotation, Segment
from tests.core.evaluation.cases import CATS, SCENARIOS, random_pairs, write_pairs


def direct_cocoeval(pairs, tmp_path) -> dict[str, list[float]]:
    """The plain pycocotools recipe: instances JSON, results JSON, COCO(), loadRes(), COCOeval."""
    things = [c.id for c in CATS.things]
    images, gts, results = [], [], []
    for image_id, (gt, pred) in enumerate(pairs, 1):
        images.append({"id": image_id, "height": gt.shape[0], "width": gt.shape[1]})
        for ann, out in ((gt, gts), (pred, results)):
            for seg_id, seg in ann.segments.items():
                if seg.category_id not in things:
                    continue
                mask = np.asfortranarray((ann.id_map == seg_id).astype(np.uint8))
                rle = mask_utils.encode(mask)
                rle["counts"] = rle["counts"].decode()
                entry = {"image_id": image_id, "category_id": seg.category_id, "segmentation": rle,
                         "bbox": mask_utils.toBbox(rle).tolist()}
                if ann is gt:
                    entry.update(id=len(gts) + 1, area=int(mask.sum()), iscrowd=int(seg.iscrowd))
                else:
                    entry["score"] = seg.score
                out.append(entry)
    gt_file = tmp_path / "instances.json"
    gt_file.write_text(json.dumps({"images": images, "annotations": gts,
                                   "categories": [{"id": i, "name": str(i)} for i in things]}))
    stats = {}
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(gt_file))
        for iou_type in ("bbox", "segm"):
            key = "bbox" if iou_type == "bbox" else "segmentation"
            res_file = tmp_path / f"results_{iou_type}.json"
            res_file.write_text(json.dumps([{k: r[k] for k in ("image_id", "category_id", "score", key)}
                                            for r in results]))
            ev = COCOeval(coco_gt, coco_gt.loadRes(str(res_file)), iou_type)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            stats[iou_type] = ev.stats.tolist()
    return stats


def ours(pairs) -> CocoAPResult:
    acc = CocoAPAccumulator(CATS)
    for gt, pred in pairs:
        acc.process(gt, pred)
    return acc.evaluate()


@pytest.mark.parametrize("seed", [1, 2])
def test_equals_a_direct_pycocotools_run(seed, tmp_path):
    pairs = random_pairs(seed, n=8) + SCENARIOS["crowd_regions"]() + SCENARIOS["empty_images"]()
    assert any(s.iscrowd for gt, _ in pairs for s in gt.segments.values())
    expected = direct_cocoeval(pairs, tmp_path)
    result = ours(pairs)
    assert result.num_images == len(pairs)
    for iou_type in ("bbox", "segm"):
        assert list(result.stats(iou_type)) == list(STAT_NAMES)
        np.testing.assert_allclose(getattr(result, iou_type), expected[iou_type], rtol=0, atol=1e-12)
    assert result.stats("segm")["AP"] != result.stats("bbox")["AP"]  # two different evaluations


def test_perfect_things_score_ap_1_and_stuff_does_not_count():
    gt, pred = SCENARIOS["perfect"]()[0]
    pred = PanopticAnnotation(pred.id_map, {k: Segment(k, s.category_id, score=0.5) for k, s in pred.segments.items()})
    result = ours([(gt, pred)])
    for iou_type in ("bbox", "segm"):
        stats = result.stats(iou_type)
        assert stats["AP"] == pytest.approx(1.0) and stats["AR100"] == pytest.approx(1.0)
    stuff_wrong = pred.relabelled(1, 5)  # concrete called background: no effect on thing AP
    assert ours([(gt, stuff_wrong)]).bbox == result.bbox


def test_no_predictions_and_no_things():
    gt, pred = SCENARIOS["perfect"]()[0]
    nothing = PanopticAnnotation.empty(*gt.shape)
    result = ours([(gt, nothing)])
    assert result.stats("bbox")["AP"] == 0.0 and result.stats("segm")["AR100"] == 0.0
    assert ours([]).bbox == (-1.0,) * 12  # COCOeval's "nothing to average"
    stuff_gt, stuff_pred = SCENARIOS["stuff_only"]()[0]
    assert ours([(stuff_gt, pred)]).stats("bbox")["AP"] == -1.0  # no GT thing at all


def test_predictions_need_scores(tmp_path):
    gt, pred = SCENARIOS["perfect"]()[0]
    unscored = PanopticAnnotation(pred.id_map, {k: Segment(k, s.category_id) for k, s in pred.segments.items()})
    with pytest.raises(AnnotationError, match="has no score"):
        ours([(gt, unscored)])
    gt_json, pred_json = write_pairs(tmp_path, [(gt, unscored)])
    assert evaluate_files(gt_json, pred_json).coco is None  # PQ alone needs no scores
    with pytest.raises(AnnotationError, match="has no score"):
        evaluate_files(gt_json, pred_json, coco_ap=True)


def test_file_front_end_gives_the_same_ap(tmp_path):
    pairs = random_pairs(4, n=6)
    result = evaluate_files(*write_pairs(tmp_path, pairs), coco_ap=True, workers=2)
    assert result.coco == ours(pairs)
    assert json.loads(json.dumps(result.to_json()))["coco"]["bbox"]["AP50"] == result.coco.stats("bbox")["AP50"]
    assert CocoAPResult.from_json(result.coco.to_json()) == result.coco
