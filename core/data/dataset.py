"""The torch ``Dataset`` over a ``DataSource``: photo + per-segment masks, boxes and labels.

Photos are decoded once at a base size (longer side = the largest training size) and, when
caching is on, kept in memory as ``uint8`` together with the compact index map (4 bytes per
pixel in all). Decoding a phone photo costs far more than augmenting a 384-px copy, so on a CPU
the cache is what keeps the model, not the loader, the bottleneck.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from collections.abc import Callable, Generator

import cv2
import numpy as np
import torch
from torchvision import tv_tensors

from core.errors import AnnotationError, BadImageError, CancelledError, DatasetError
from core.imageio import load_image, read_image_info
from core.panoptic import PanopticAnnotation
from core.data.sampler import SampleKey
from core.data.sources import DataSource
from core.data.targets import CompactAnnotation, targets_from_index_map

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecodedItem:
    """A photo at base size with its compact annotation in the same frame.

    Attributes:
        image: ``[h, w, 3]`` uint8 RGB (upright, longer side <= base size).
        annotation: compact annotation whose ``index_map`` is ``[h, w]``.
        orig_size: ``(H, W)`` of the photo file (upright).
    """

    image: np.ndarray
    annotation: CompactAnnotation
    orig_size: tuple[int, int]

    @property
    def nbytes(self) -> int:
        return int(self.image.nbytes + self.annotation.index_map.nbytes)


@dataclass
class Sample:
    """One transformed training/evaluation sample.

    Attributes:
        image: ``[3, h, w]`` float32, ImageNet-normalised.
        masks: ``[N, h, w]`` bool, one per non-crowd segment visible after augmentation.
        boxes: ``[N, 4]`` float32 absolute ``x0, y0, x1, y1`` pixels of ``image``.
        labels: ``[N]`` int64 class index (position in the category set).
        index: position in the dataset.
        orig_size: ``(H, W)`` of the photo file.
        gt: the transformed ground truth at ``(h, w)`` (``keep_gt`` datasets only, for PQ).
    """

    image: torch.Tensor
    masks: torch.Tensor
    boxes: torch.Tensor
    labels: torch.Tensor
    index: int
    orig_size: tuple[int, int]
    gt: PanopticAnnotation | None = None


def decode_item(source: DataSource, i: int, base_size: int | None) -> DecodedItem:
    """Read photo ``i`` (longer side at most ``base_size``) and its annotation, in one frame.

    Raises ``BadImageError`` / ``AnnotationError`` naming the file; an annotation whose size
    differs from the upright photo is refused (never silently resized), with a hint about EXIF.
    """
    sample = source.samples[i]
    info = read_image_info(sample.image_path)
    image = load_image(sample.image_path, max_side=base_size)
    if not image.flags.writeable:  # PIL-backed arrays are read-only; torch wants writable memory
        image = image.copy()
    ann = sample.load_annotation()
    if ann.shape != (info.height, info.width):
        swapped = ann.shape == (info.width, info.height)
        raise AnnotationError(
            f"annotation is {ann.shape[1]}x{ann.shape[0]} but the upright photo is {info.width}x{info.height}",
            sample.image_path,
            hint="width and height are swapped: the annotation was probably made on the photo without "
                 "its EXIF rotation" if swapped else "the annotation belongs to another photo or size")
    id_map = ann.id_map
    if id_map.shape != image.shape[:2]:
        # INTER_NEAREST_EXACT samples pixel centres like the photo's resampling does.
        id_map = cv2.resize(id_map, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_NEAREST_EXACT)
    compact = CompactAnnotation.from_panoptic(PanopticAnnotation(id_map, ann.segments), source.categories,
                                              sample.key)
    return DecodedItem(image, compact, (info.height, info.width))


class PanopticDataset(torch.utils.data.Dataset):
    """Samples of a ``DataSource`` through a v2 transform.

    Args:
        source: categories and samples.
        transform: a v2 transform taking ``(Image, Mask)`` (see ``core.data.transforms``).
        base_size: longer side photos are decoded at (the largest size the transform asks for).
        cache: keep decoded items in memory (up to ``cache_max_bytes``; None: no limit). Call
            ``preload()`` before making a multi-worker ``DataLoader`` so that forked workers share
            one copy.
        keep_gt: attach the transformed ground truth (``Sample.gt``) for PQ evaluation.
        min_pixels: segments smaller than this after augmentation get no target.

    Indexing takes an ``int`` (augmentation from the global torch RNG) or a ``SampleKey``
    (augmentation seeded by the key: reproducible whatever process loads it). An item that cannot
    be read is logged and returned as ``None``; ``collate`` drops it, so one bad photo never stops
    a run.
    """

    def __init__(self, source: DataSource, transform: Callable, base_size: int | None, *, cache: bool = True,
                 keep_gt: bool = False, min_pixels: int = 4, cache_max_bytes: int | None = None):
        self.source = source
        self.transform = transform
        self.base_size = base_size
        self.cache_enabled = cache
        self.keep_gt = keep_gt
        self.min_pixels = min_pixels
        self._cache: dict[int, DecodedItem] = {}
        self._cached_nbytes = 0
        self.cache_max_bytes = cache_max_bytes
        self._order = list(range(len(source)))  # dataset position -> source index
        self.failures: dict[str, str] = {}  # sample key -> reason (this process only)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        # Data-loader workers started with ``spawn`` (Windows, macOS, the application's training
        # process) receive the dataset pickled: everything but the lock, which each makes anew.
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def categories(self):
        return self.source.categories

    def __len__(self) -> int:
        return len(self._order)

    @property
    def cached_bytes(self) -> int:
        return self._cached_nbytes

    def _remember(self, src: int, item: DecodedItem) -> bool:
        """Cache ``item`` unless that would pass ``cache_max_bytes``; True when cached."""
        with self._lock:
            if src in self._cache:
                return True
            if self.cache_max_bytes is not None and self._cached_nbytes + item.nbytes > self.cache_max_bytes:
                return False
            self._cache[src] = item
            self._cached_nbytes += item.nbytes
            return True

    def key_of(self, index: int) -> str:
        return self.source.samples[self._order[index]].key

    def _item(self, index: int) -> DecodedItem:
        src = self._order[index]
        item = self._cache.get(src)
        if item is None:
            item = decode_item(self.source, src, self.base_size)
            if self.cache_enabled:
                self._remember(src, item)
        return item

    def preload(self, progress: Callable[[int, int], None] | None = None, cancel=None,
                threads: int = 2) -> dict[str, str]:
        """Decode every item now; see ``iter_preload``. ``progress(done, total)`` after each chunk."""
        it = self.iter_preload(cancel, threads)
        while True:
            try:
                done, total = next(it)
            except StopIteration as stop:
                return stop.value
            if progress is not None:
                progress(done, total)

    def iter_preload(self, cancel=None, threads: int = 2) -> Generator[tuple[int, int], None, dict[str, str]]:
        """Decode every item now (in ``threads`` threads: decoding releases the GIL), yielding
        ``(done, total)`` as it goes; returns ``{key: reason}`` of the unreadable items, which are
        removed from the dataset.

        Past ``cache_max_bytes`` items are checked but not kept. Raises ``CancelledError`` when
        ``cancel`` is set, ``DatasetError`` when no item at all is readable.
        """
        todo = list(self._order)
        bad: dict[str, str] = {}
        done = 0
        keep = self.cache_enabled
        chunk = 4 * max(1, threads)  # small chunks: a cancel is noticed within a few photos

        def work(src: int):
            try:
                return src, decode_item(self.source, src, self.base_size), None
            except (BadImageError, AnnotationError) as e:
                return src, None, e.message()

        with ThreadPoolExecutor(max(1, threads)) as pool:
            for start in range(0, len(todo), chunk):
                if cancel is not None and cancel.is_set():
                    raise CancelledError("cancelled while reading the photos")
                for src, item, err in pool.map(work, todo[start:start + chunk]):
                    if err is not None:
                        bad[self.source.samples[src].key] = err
                        log.warning("left out of training: %s", err)
                    elif keep and not self._remember(src, item):
                        keep = False
                        log.warning("image cache is full (%.0f MB): the rest is decoded on the fly",
                                    self.cached_bytes / 2**20)
                    done += 1
                yield done, len(todo)
        bad_keys = set(bad)
        self._order = [s for s in self._order if self.source.samples[s].key not in bad_keys]
        self.failures.update(bad)
        if not self._order and todo:
            raise DatasetError(f"none of the {len(todo)} photos could be read; first problem: "
                               f"{next(iter(bad.values()))}", self.source.name or None)
        return bad

    def __getitem__(self, key: int | SampleKey) -> Sample | None:
        index, seed = (key.index, key.seed) if isinstance(key, SampleKey) else (int(key), None)
        try:
            item = self._item(index)
        except (BadImageError, AnnotationError) as e:
            name = self.key_of(index)
            if name not in self.failures:
                log.warning("left out of training: %s", e.message())
            self.failures[name] = e.message()
            return None
        image = tv_tensors.Image(torch.from_numpy(item.image).permute(2, 0, 1))
        mask = tv_tensors.Mask(torch.from_numpy(item.annotation.index_map).unsqueeze(0))
        if seed is None:
            image, mask = self.transform(image, mask)
        else:
            # The transforms draw from the global torch RNG; fork it so the seed fixes this
            # sample's augmentation without disturbing the caller's random stream.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                image, mask = self.transform(image, mask)
        imap = mask.as_subclass(torch.Tensor)[0]
        ann = item.annotation
        masks, boxes, labels = targets_from_index_map(imap, torch.from_numpy(ann.labels),
                                                      torch.from_numpy(ann.crowd), self.min_pixels)
        gt = ann.to_panoptic(imap.numpy()) if self.keep_gt else None
        return Sample(image.as_subclass(torch.Tensor), masks, boxes, labels, index, item.orig_size, gt)
