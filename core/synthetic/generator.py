"""One synthetic photo of a concrete surface with defects, and its exact panoptic truth.

``generate_sample(seed, size, config)`` is a pure function of its arguments: the same seed gives
the same photo and truth, byte for byte, on the same platform. The scene is painted in layers
(concrete, background, spalls with rebar, distractors, cracks, light) on a ``Canvas`` that keeps
the id map in step with the picture; then the camera views it (perspective, applied to both) and
develops it (blur, noise, JPEG: picture only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from core.categories import CategorySet, default_categories
from core.panoptic import PanopticAnnotation
from core.synthetic import defects, distractors, texture
from core.synthetic.camera import CameraConfig, develop, perspective
from core.synthetic.canvas import Canvas

#: Smallest and largest side accepted; 8192 covers 48 MP phone photos.
MIN_SIDE, MAX_SIDE = 32, 8192


@dataclass(frozen=True)
class SynthConfig:
    """What the generated photos contain. Counts are inclusive ranges drawn per photo.

    Attributes:
        crack_count: cracks per photo.
        spall_count: spalled patches per photo.
        rebar_probability: chance that a (large enough) spall shows bars; rebar never appears
            outside a spall.
        crack_width: (min, max) crack width in px at up to 768 px (hairline to wide); larger
            photos scale it up, as the same crack covers more pixels there.
        max_things: at most this many thing segments per photo (DETR setups use 20 queries).
        background_probability: chance of a background region (sky, vegetation or soil).
        distractor_probability: chance of efflorescence / rust run-off that are not defects.
        zoom: (min, max) physical scale; larger means a closer camera and larger features.
        camera: the camera effects.
        categories: the category set; its classes are looked up by the names ``crack``,
            ``spalling``, ``exposed_rebar``, ``concrete``, ``background``. None: the default set.
    """

    crack_count: tuple[int, int] = (0, 4)
    spall_count: tuple[int, int] = (0, 3)
    rebar_probability: float = 0.5
    crack_width: tuple[int, int] = (1, 8)
    max_things: int = 20
    background_probability: float = 0.3
    distractor_probability: float = 0.5
    zoom: tuple[float, float] = (0.6, 1.6)
    camera: CameraConfig = field(default_factory=CameraConfig)
    categories: CategorySet | None = None


@dataclass(frozen=True)
class _Classes:
    crack: int
    spalling: int
    rebar: int
    concrete: int
    background: int


@lru_cache(maxsize=1)
def _default_set() -> CategorySet:
    return default_categories()


def categories_of(config: SynthConfig) -> CategorySet:
    """The category set the truth of ``config`` refers to."""
    return config.categories if config.categories is not None else _default_set()


def _classes(config: SynthConfig) -> _Classes:
    cats = categories_of(config)
    return _Classes(*(cats.by_name(n).id for n in ("crack", "spalling", "exposed_rebar", "concrete", "background")))


def parse_size(size: int | tuple[int, int]) -> tuple[int, int]:
    """``(width, height)`` from an int (a square) or a ``(width, height)`` pair; checks the range."""
    if isinstance(size, (int, np.integer)):
        w = h = int(size)
    else:
        try:
            w, h = (int(v) for v in size)
        except (TypeError, ValueError) as e:
            raise ValueError(f"size must be an int or a (width, height) pair, got {size!r}") from e
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise ValueError(f"size {w}x{h} is outside {MIN_SIDE}..{MAX_SIDE} px per side")
    return w, h


def image_seed(seed: int, index: int) -> int:
    """The seed of image ``index`` of a dataset made with ``seed``: independent of how many images
    are made, so image 7 is the same in a set of 10 and a set of 10,000."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, np.uint64)[0] >> 1)


def _light(rng: np.random.Generator) -> tuple[float, float]:
    """Unit image-plane direction towards the light: mostly from above, as outdoors."""
    a = rng.uniform(-160, -20) if rng.random() < 0.8 else rng.uniform(-180, 180)
    return math.cos(math.radians(a)), math.sin(math.radians(a))


def _random_pixel(rng: np.random.Generator, ids: np.ndarray, seg_id: int) -> tuple[float, float] | None:
    ys, xs = np.nonzero(ids == seg_id)
    if len(ys) == 0:
        return None
    k = int(rng.integers(len(ys)))
    return float(xs[k]), float(ys[k])


def generate_sample(seed: int, size: int | tuple[int, int] = 512,
                    config: SynthConfig | None = None) -> tuple[np.ndarray, PanopticAnnotation]:
    """One photo-like image of a concrete surface with defects, and its exact panoptic truth.

    Args:
        seed: any non-negative int; the same seed (and size and config) gives the same output.
        size: an int for a square photo, or ``(width, height)`` in pixels.
        config: what the photo may contain; None for the defaults.
    Returns:
        ``(rgb, annotation)``: ``rgb`` is ``[H, W, 3]`` uint8; ``annotation.id_map`` is ``[H, W]``
        int32 with every pixel labelled (no void), one segment per defect instance (things) and
        one per stuff class present; segment categories refer to ``categories_of(config)``.
    """
    config = config or SynthConfig()
    width, height = parse_size(size)
    cls = _classes(config)
    rng = np.random.default_rng(int(seed))
    shape = (height, width)
    zoom = float(rng.uniform(*config.zoom))
    light = _light(rng)

    img = texture.concrete(rng, shape, zoom, light)
    canvas = Canvas(img, np.empty(shape, np.int32), light=light, zoom=zoom)
    canvas.concrete_id = canvas.new_segment(cls.concrete, stuff=True)
    canvas.ids.fill(canvas.concrete_id)

    if rng.random() < config.background_probability:
        kind = str(rng.choice(texture.BACKGROUND_KINDS))
        where = texture.background_mask(rng, shape, kind)
        if where.any() and not where.all():
            canvas.ids[where] = canvas.new_segment(cls.background, stuff=True)
            np.copyto(img, texture.background(rng, shape, kind), where=where[..., None])

    spalls: list[int] = []
    for _ in range(int(rng.integers(config.spall_count[0], config.spall_count[1] + 1))):
        if canvas.thing_count() >= config.max_things:
            break
        new = defects.add_spall(rng, canvas, cls.spalling, cls.rebar, config.rebar_probability,
                                config.max_things)
        spalls += new[:1]

    if rng.random() < config.distractor_probability:
        for _ in range(int(rng.integers(1, 3))):
            painter = distractors.add_efflorescence if rng.random() < 0.6 else distractors.add_rust_stain
            painter(rng, canvas)

    for _ in range(int(rng.integers(config.crack_count[0], config.crack_count[1] + 1))):
        if canvas.thing_count() >= config.max_things:
            break
        start = angle = None
        if spalls and rng.random() < 0.3:  # cracks often run out of a spall
            ys, xs = np.nonzero(canvas.ids == int(rng.choice(spalls)))
            if len(ys):
                k = int(rng.integers(len(ys)))
                start = (float(xs[k]), float(ys[k]))
                angle = math.atan2(ys[k] - ys.mean(), xs[k] - xs.mean()) + rng.normal(0, 0.4)
        crack = defects.add_crack(rng, canvas, cls.crack, config.crack_width, start, angle)
        if crack is not None and rng.random() < 0.15:  # salts washed out of the crack
            distractors.add_efflorescence(rng, canvas, _random_pixel(rng, canvas.ids, crack))

    img *= texture.illumination(rng, shape)[..., None]
    ids = canvas.ids
    if rng.random() < config.camera.perspective_probability:
        crack_ids = [sid for sid, seg in canvas.segments.items() if seg.category_id == cls.crack]
        img, ids = perspective(rng, img, ids, config.camera.perspective_strength, crack_ids)
    rgb = develop(rng, img, config.camera)
    table = dict(canvas.segments)
    defects.join_crack_networks(ids, table, cls.crack)  # after the camera: its resampling can break a crack
    # The camera may have cropped a segment away entirely; keep the table to what is present.
    present = np.flatnonzero(np.bincount(ids.ravel(), minlength=max(table) + 1))
    segments = {int(k): table[int(k)] for k in present}
    return rgb, PanopticAnnotation(ids, segments)
