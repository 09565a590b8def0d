"""Small datasets' contents shared by the format and fault tests."""
from __future__ import annotations

import numpy as np


def defect_mask(h: int = 30, w: int = 40) -> np.ndarray:
    """``[h, w]`` uint8 class-index mask: two separate cracks (1), one spalling (2), a strip of
    background along the bottom (5); 0 elsewhere."""
    m = np.zeros((h, w), np.uint8)
    m[2:5, 2:12] = 1
    m[20:23, 25:38] = 1
    m[10:18, 15:24] = 2
    m[h - 3:, :] = 5
    return m
