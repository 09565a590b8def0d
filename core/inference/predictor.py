"""From a checkpoint and a photo to a re-thresholdable panoptic prediction.

    predictor = Predictor.from_checkpoint("runs/best.pt")            # device "auto"
    prediction = predictor.predict("IMG_0042.jpg")                    # network once
    annotation = prediction.panoptic(0.7)                             # any threshold >= 0.3, no network
    for item in predictor.predict_many(paths, progress=bar, cancel=event):
        ...                                                           # item.prediction or item.error

Photos are decoded already downscaled (JPEG draft mode) to the model's input size, so memory does
not grow with the photo's size; results come back in the photo's EXIF-upright frame at full size.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np
import torch

from core.categories import CategorySet
from core.device import autocast_for
from core.errors import BadImageError, CheckpointError, InspectorError
from core.imageio import load_image, read_image_info
from core.inference.result import DEFAULT_MIN_THRESHOLD, PanopticPrediction, PredictionMeta
from core.model.config import ModelConfig
from core.model.thing_merge import DEFAULT_MERGE_OVERLAP
from core.native_scale import native_size_of

if TYPE_CHECKING:
    from core.inference.batch import BatchItem
    from core.progress import CancelFlag

log = logging.getLogger(__name__)

#: Input size (longer side, pixels) when the checkpoint does not say what it was trained at: the
#: published DETR-R50 resolution for ResNet-50/101 models, 512 for the small CPU presets.
DEFAULT_INPUT_SIZE = {"resnet50": 800, "resnet101": 800, "resnet18": 512, "resnet34": 512, "narrow_resnet18": 384}


@dataclass(frozen=True)
class DecodedPhoto:
    """A photo ready for the network: ``rgb`` ``[h, w, 3]`` uint8, upright, longer side at most
    the input size; ``image_size`` ``(H, W)`` the photo's full upright size; ``path`` or None."""

    rgb: np.ndarray
    image_size: tuple[int, int]
    path: Path | None
    decode_s: float = 0.0


def input_size_of(config: ModelConfig, checkpoint: Mapping) -> int:
    """The longer side the model was evaluated at during training (``eval_size``, else
    ``max_size`` of the stored training config), else ``DEFAULT_INPUT_SIZE`` for its backbone."""
    train = checkpoint.get("training")
    cfg = train.get("train_config") if isinstance(train, Mapping) else None
    if isinstance(cfg, Mapping):
        for key in ("eval_size", "max_size"):
            value = cfg.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 32:
                return value
    return DEFAULT_INPUT_SIZE.get(config.backbone, 512)


class Predictor:
    """A loaded panoptic model with its categories and preprocessing.

    Args:
        model: ``DETRPanoptic`` (eval mode is set here).
        categories: class index i <-> ``categories.categories[i]``.
        input_size: longer side of the network input in pixels.
        min_threshold: predictions keep every query above it; re-thresholding works from here up.
        min_area: the post-processor's small-segment limit (input pixels).
        merge_overlap: mask containment at which same-class thing queries are one instance
            (``core.model.thing_merge``); None gives every query its own segment.
        device: torch device the model is on.
        description: plain-JSON facts about the model, stored with each prediction.
        config: the model's configuration, when known (recorded when registering the model in a project).
        mixed_precision: run the network under autocast where it pays (``core.device.amp_dtype_for``:
            bfloat16 on a CPU that has it natively, a CUDA GPU's half precision); the results are
            float32 either way. False: float32 throughout.
        native_size: for a model with a thin head trained on native windows, the longer side it
            saw photos at their own scale up to (``core.native_scale.native_size_of``). A photo
            larger than the input but at most this size is also read by the thin head alone at its
            own size: the crack head learnt cracks at their own width, and on a photo shown
            downscaled they are thinner than it ever saw (generated 512 x 384 close-ups: crack PQ
            29.9 in one pass at 384 px, 41.9 with this second look; README, "Cracks read at the
            scale the model learnt them"). Larger photos keep the
            input size (a 640-px pass would cost a 12-MP photo's first result 2.5x); their cracks
            come from the full-resolution refinement. 0: never.
    """

    def __init__(self, model: torch.nn.Module, categories: CategorySet, *, input_size: int,
                 min_threshold: float = DEFAULT_MIN_THRESHOLD, min_area: int = 4, device: str = "cpu",
                 description: dict | None = None, config: ModelConfig | None = None,
                 merge_overlap: float | None = DEFAULT_MERGE_OVERLAP, native_size: int = 0,
                 mixed_precision: bool = True):
        from core.data.transforms import build_eval_transforms

        if not callable(getattr(model, "predict", None)):
            raise ValueError("the model has no predict() method (see core.model.detr.DETRPanoptic.predict)")
        if not 0.0 < min_threshold < 1.0:
            raise ValueError(f"min_threshold must be in (0, 1), got {min_threshold}")
        if input_size < 32:
            raise ValueError(f"input_size must be >= 32, got {input_size}")
        from core.device import amp_dtype_for, memory_format_for

        self.model = model.eval().to(memory_format=memory_format_for(torch.device(device)))
        #: The autocast dtype of the network's passes; None: float32.
        self.amp_dtype = amp_dtype_for(torch.device(device)) if mixed_precision else None
        self.categories = categories
        self.input_size = int(input_size)
        self.min_threshold = float(min_threshold)
        self.min_area = int(min_area)
        if merge_overlap is not None and not 0.0 < merge_overlap <= 1.0:
            raise ValueError(f"merge_overlap must be in (0, 1] or None, got {merge_overlap}")
        self.merge_overlap = merge_overlap
        self.device = device
        self.description = dict(description or {}, input_size=self.input_size)
        self.config = config
        self._transform = build_eval_transforms(self.input_size)
        # A second, thin-head-only look at photos up to ``native_size`` at their own scale.
        has_head = getattr(model, "thin_head", None) is not None and callable(getattr(model, "predict_thin", None))
        self.native_size = int(native_size) if has_head and int(native_size) > self.input_size else 0

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "auto", *, input_size: int | None = None,
                        min_threshold: float = DEFAULT_MIN_THRESHOLD,
                        merge_overlap: float | None = DEFAULT_MERGE_OVERLAP, mixed_precision: bool = True) -> Predictor:
        """Load one of our checkpoints (``core.model.checkpoint``): model, categories, and the input
        size it was trained at (``input_size_of``) unless ``input_size`` is given.

        Public DETR checkpoints carry no category table for this application (their classes are
        COCO's): they are refused here with a ``CheckpointError`` saying to fine-tune them first,
        as the model loader decides. ``device``: "auto" (CUDA when present), "cpu", "cuda[:N]".
        Raises ``CheckpointError`` for missing, damaged, unsafe, foreign or box-only checkpoints.
        """
        from core.device import describe_device, resolve_device
        from core.model.checkpoint import load_model_from_checkpoint

        path = Path(path)
        device = resolve_device(device)
        loaded = load_model_from_checkpoint(path, device=device)
        if not loaded.config.with_masks:
            raise CheckpointError("the model has no mask head (a box detector); panoptic prediction needs one",
                                  path, hint="train the masks stage first")
        size = int(input_size) if input_size else input_size_of(loaded.config, loaded.checkpoint)
        training = loaded.checkpoint.get("training")
        epoch = training.get("state", {}).get("epoch") if isinstance(training, Mapping) else None
        description = {"checkpoint": str(path.resolve()), "name": path.name, "backbone": loaded.config.backbone,
                       "num_queries": loaded.config.num_queries, "hidden_dim": loaded.config.hidden_dim}
        if isinstance(epoch, int):
            description["epoch"] = epoch
        log.info("loaded %s (%s, %d categories) for %d px input; %s", path.name, loaded.config.backbone,
                 len(loaded.categories), size, describe_device() if device == "cpu" else f"device {device}")
        min_area = int(getattr(loaded.postprocessor, "min_area", 4))
        native = native_size_of(training.get("train_config") if isinstance(training, Mapping) else None)
        return cls(loaded.model, loaded.categories, input_size=size, min_threshold=min_threshold,
                   min_area=min_area, device=device, description=description, config=loaded.config,
                   merge_overlap=merge_overlap, native_size=native, mixed_precision=mixed_precision)

    # --- one photo -------------------------------------------------------------------------------
    def decode(self, image: str | Path | np.ndarray) -> DecodedPhoto:
        """Read (or take) a photo, upright, downscaled to at most the input size (or kept at its
        own size when the thin head reads it so, see ``native_size``).

        ``image``: a path, or an upright ``[H, W, 3]`` uint8 RGB array. Raises ``BadImageError``.
        """
        t0 = time.perf_counter()
        if isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 1:
                raise BadImageError(f"expected an [H, W, 3] uint8 RGB array, got {image.dtype} {image.shape}")
            size = (int(image.shape[0]), int(image.shape[1]))
            rgb = _downscale(image, self.decode_side(max(size)))
            return DecodedPhoto(rgb, size, None, time.perf_counter() - t0)
        path = Path(image)
        info = read_image_info(path)
        rgb = load_image(path, max_side=self.decode_side(max(info.height, info.width)))
        return DecodedPhoto(rgb, (info.height, info.width), path, time.perf_counter() - t0)

    def decode_side(self, photo_side: int) -> int:
        """The longer side a photo whose longer side is ``photo_side`` is decoded at: its own when
        the thin head reads it at its own size (``native_size``), else the input size."""
        return photo_side if self.input_size < photo_side <= self.native_size else self.input_size

    def predict(self, image: str | Path | np.ndarray | DecodedPhoto) -> PanopticPrediction:
        """Run the network once on a photo (path, upright RGB array, or ``decode``'s result).

        Returns a ``PanopticPrediction`` in the photo's upright frame at full size, kept for every
        threshold >= ``min_threshold``. Raises ``BadImageError`` for unreadable photos and
        ``InspectorError`` when the device runs out of memory.
        """
        photo = image if isinstance(image, DecodedPhoto) else self.decode(image)
        t0 = time.perf_counter()
        x = self._transform(torch.from_numpy(np.require(photo.rgb, requirements=["C", "W"])).permute(2, 0, 1))
        h, w = int(x.shape[-2]), int(x.shape[-1])
        # torch types a Module's attributes as Tensor | Module; __init__ checked predict() is callable
        out = self._guarded(lambda: self.model.predict(x[None].to(self.device), None,  # type: ignore[operator]
                                                       min_score=self.min_threshold), photo, w, h)
        if "pred_masks" not in out:
            raise InspectorError("the model predicts boxes only, not panoptic masks", photo.path)
        logits = out["pred_logits"][0].float().cpu()
        hc = min(out["pred_masks"].shape[-2], math.ceil(h / 4) + 1)
        wc = min(out["pred_masks"].shape[-1], math.ceil(w / 4) + 1)
        # The rows the model computed masks for, re-checked on the CPU copy of the logits so the
        # result's own score rule (float32 softmax on the CPU) agrees for borderline queries.
        probs, labels = logits.softmax(-1).max(-1)
        computed = out["mask_keep"][0].cpu() if "mask_keep" in out else torch.ones_like(labels, dtype=torch.bool)
        keep = computed & (labels != logits.shape[-1] - 1) & (probs > self.min_threshold)
        idx = keep.nonzero().squeeze(1)
        masks = out["pred_masks"][0, idx.to(out["pred_masks"].device), :hc, :wc].to(torch.float16).cpu()
        network_s = time.perf_counter() - t0
        meta = PredictionMeta(photo.image_size, (h, w), self.min_threshold, self.min_area, self.description,
                              {"decode_s": photo.decode_s, "network_s": network_s}, self.merge_overlap)
        classes = self._thin_classes()
        thin_probs, thin_ids = None, []
        if "pred_thin" in out and classes:
            thin_ids = [self.categories.categories[i].id for i in classes]
            if max(photo.rgb.shape[:2]) > max(h, w):  # decoded larger: the head reads it at its own size
                from core.data.transforms import build_eval_transforms

                t1 = time.perf_counter()
                xn = build_eval_transforms(max(photo.rgb.shape[:2]))(  # normalised, not resized
                    torch.from_numpy(np.require(photo.rgb, requirements=["C", "W"])).permute(2, 0, 1))
                thin = self._guarded(lambda: self.model.predict_thin(xn[None].to(self.device)),  # type: ignore[operator]
                                     photo, int(xn.shape[-1]), int(xn.shape[-2]))[0]
                meta.timings["thin_s"] = time.perf_counter() - t1
            else:
                thin = out["pred_thin"][0, :, :h, :w]
            thin_probs = (thin[classes].float().sigmoid() * 255).round().to(torch.uint8).cpu().numpy()
        return PanopticPrediction(logits[idx].numpy(), masks.numpy(), self.categories, meta, idx.numpy(),
                                  thin_probs, thin_ids)

    def _thin_classes(self) -> list[int]:
        """Class indices of the thin categories (the thin head's maps kept in a prediction)."""
        from core.measure.roles import is_thin

        return [i for i, c in enumerate(self.categories) if is_thin(c)]

    def _guarded(self, run: Callable[[], Any], photo: DecodedPhoto, w: int, h: int) -> Any:
        """``run()`` (the network on a ``w`` x ``h`` input), its failures said plainly: out of
        memory, or a GPU that fails or disappears mid-run, as ``InspectorError`` instead of a trace."""
        try:
            with autocast_for(torch.device(self.device).type, self.amp_dtype):
                return run()
        except (torch.OutOfMemoryError, MemoryError) as e:
            raise InspectorError(f"out of memory running the model at {w}x{h} px on {self.device}", photo.path,
                                 hint="use a smaller input size, or the CPU") from e
        except RuntimeError as e:
            if not str(self.device).startswith("cuda"):
                raise
            raise InspectorError(f"the GPU failed while predicting: {str(e).splitlines()[0]}", photo.path,
                                 hint="predict on the CPU (--device cpu)") from e

    def predict_many(self, paths: Iterable[str | Path], *, progress: Callable[[int, int, str], None] | None = None,
                     cancel: CancelFlag | None = None) -> Iterator[BatchItem]:
        """Predict photos one after another (the next one decodes while the network runs).

        Yields a ``BatchItem`` per path, in order: ``prediction`` or, for a file that cannot be
        read, ``error`` (the batch goes on). Stops early when ``cancel.is_set()``. Memory stays
        bounded whatever the photo sizes and the batch length: results are not accumulated.
        """
        from core.inference.batch import iter_predictions

        return iter_predictions(self, paths, progress=progress, cancel=cancel)


def _downscale(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale an upright RGB array as ``load_image(max_side=...)`` does (PIL bilinear thumbnail),
    so an array and the same pixels read from a lossless file give the same prediction."""
    if max(rgb.shape[:2]) <= max_side:
        return rgb
    from PIL import Image

    img = Image.fromarray(rgb)
    img.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)
