"""``ExpandedAnnotation``: a re-thresholded prediction whose full-size id map is made on first use.

A confidence slider move changes a prediction whose full-size map is a nearest-neighbour
expansion of a small model-size map (``core.inference.result.expand_nearest``): writing the
12-megapixel int32 map takes ~30 ms, more than everything else a move needs. The canvas does not
need it (its tiles sample the small map, see ``AnnotationItem``), nor do the segment list and
the counts (areas are counted on the small map). So the annotation is shown at once and its
``id_map`` is expanded when first read (accepting the prediction, measuring, storing: a worker
reads it right after the move, so it is ready before anyone else asks).
"""
from __future__ import annotations

import threading

import numpy as np

from core.inference.label_maps import expand_nearest
from core.panoptic import PanopticAnnotation, Segment


class ExpandedAnnotation(PanopticAnnotation):
    """``PanopticAnnotation(expand_nearest(small, *shape), segments)``, the map made on first read
    (thread-safe: made once).

    Args:
        small: ``[h, w]`` integer segment ids at the model's size.
        segments: ``{id: Segment}`` present in the expanded map.
        shape: ``(H, W)`` of the photo.
    """

    def __init__(self, small: np.ndarray, segments: dict[int, Segment], shape: tuple[int, int]):
        # No dataclass __init__: it would assign (and so expand) id_map now.
        self.small = small
        self.segments = segments
        self._shape = (int(shape[0]), int(shape[1]))
        self._full: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def id_map(self) -> np.ndarray:
        if self._full is None:
            with self._lock:
                if self._full is None:
                    self._full = expand_nearest(self.small, *self._shape)
        return self._full

    @id_map.setter
    def id_map(self, value: np.ndarray) -> None:
        with self._lock:
            self._full = np.asarray(value, np.int32)
            self._shape = (int(self._full.shape[0]), int(self._full.shape[1]))

    @property
    def expanded(self) -> bool:
        """Whether the full-size map has been made."""
        return self._full is not None

    @property
    def shape(self) -> tuple[int, int]:
        return self._shape
