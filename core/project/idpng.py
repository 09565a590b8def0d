"""Fast lossless PNG coding of id maps, in the COCO panoptic RGB encoding.

The output is an ordinary 8-bit RGB PNG with ``id = R + 256 G + 256² B``, readable by
``core.panoptic.decode_id_png``, panopticapi and any PNG reader, so exports can copy it as is.
It differs from ``core.panoptic.encode_id_png`` only in speed, measured on a 6000 x 4000 map
(see bench/bench_project.py):

* int32 <-> BGR goes through ``cv2.cvtColor`` on the map's little-endian bytes (one vectorised
  pass, ~25 ms) instead of masks and shifts (~700 ms);
* the PNG "Up" filter instead of libpng's adaptive choice: ~3x faster to write, and smaller,
  because consecutive rows of an id map are mostly equal.
"""
from __future__ import annotations

import sys

import numpy as np

from core.errors import AnnotationError
from core.panoptic import MAX_SEGMENT_ID, decode_id_png, encode_id_png

_LITTLE = sys.byteorder == "little"


def encode_ids(id_map: np.ndarray) -> bytes:
    """``[H, W]`` int32 ids in 0..16777215 -> PNG bytes."""
    import cv2

    ids = np.ascontiguousarray(id_map, dtype=np.int32)
    if not _LITTLE or ids.ndim != 2 or ids.size == 0:
        return encode_id_png(ids)
    if int(ids.max()) > MAX_SEGMENT_ID:  # would not fit in RGB; refuse rather than wrap
        raise AnnotationError("segment ids must lie in 0..16777215")
    rgba = ids.view(np.uint8).reshape(ids.shape + (4,))  # little-endian: bytes are R, G, B, 0
    bgr = cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR)
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1]
    if hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV >= 4.11
        params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]
    ok, buf = cv2.imencode(".png", bgr, params)
    if not ok:
        raise AnnotationError("could not encode the id map as PNG")
    return buf.tobytes()


def decode_ids(data: bytes, path: object = None) -> np.ndarray:
    """PNG bytes -> ``[H, W]`` int32 ids (any PNG ``core.panoptic.decode_id_png`` accepts)."""
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise AnnotationError("not a readable PNG", path)
    if not (_LITTLE and arr.ndim == 3 and arr.shape[2] == 3 and arr.dtype == np.uint8):
        return decode_id_png(data, path)  # gray, alpha or 16-bit PNGs: the general path
    rgba = cv2.cvtColor(arr, cv2.COLOR_BGR2RGBA)  # alpha = 255: cleared below
    ids = rgba.view(np.int32).reshape(arr.shape[:2])
    ids &= 0x00FFFFFF
    return ids
