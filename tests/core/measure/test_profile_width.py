"""Sub-pixel crack width from the grey profile, on rendered cracks of known width."""
import numpy as np
import pytest

from core.measure.cracks import measure_linear
from core.measure.photo_cracks import measure_photo_cracks
from core.measure.profile_width import (
    METHOD_MASK,
    METHOD_PROFILE,
    METHOD_RANGE,
    METHOD_REFERENCE,
    crack_width_px,
    measure_crack_width,
)
from core.synthetic.thin_crack import render_crack


def _photo_with_reference(width, blur, noise, contrast, *, wider=0.0, shift=0.0, kind="straight", shading=0.0,
                          seed=0):
    """A photo holding the crack under test beside a 6 px crack of the same interior, as cracks of
    one photo are; returns the test crack's width figures."""
    a = render_crack(width, blur_sigma=blur, noise_sigma=noise, contrast=contrast, kind=kind, shading=shading,
                     seed=seed)
    b = render_crack(6.0, blur_sigma=blur, noise_sigma=noise, contrast=contrast, angle_deg=-60, seed=seed + 1,
                     shading=shading)
    rows = measure_photo_cracks(np.hstack([a.image, b.image]), np.hstack([a.mask(wider, shift), b.mask()]))
    assert len(rows) == 2
    return next(r for r in rows if r.bbox_px[0] < a.image.shape[1]).width


@pytest.mark.parametrize("width", [0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("blur,noise,contrast", [(0.7, 3.0, 30.0), (0.4, 2.0, 45.0)])
def test_known_widths_within_0_15_px(width, blur, noise, contrast):
    w = _photo_with_reference(width, blur, noise, contrast, seed=int(width * 10))
    assert abs(w.median - width) <= 0.15, (w.median, w.method)
    assert abs(w.mean - width) <= 0.15, (w.mean, w.method)
    assert w.method in (METHOD_PROFILE, METHOD_REFERENCE)


@pytest.mark.parametrize("width", [0.5, 1.5, 3.0])
def test_curved_crack_with_shading(width):
    w = _photo_with_reference(width, 0.6, 3.0, 40.0, kind="curved", shading=0.3, seed=3)
    assert abs(w.median - width) <= 0.15, (w.median, w.method)


@pytest.mark.parametrize("width", [0.5, 1.0, 2.0, 3.0])
def test_mask_two_px_too_wide_or_shifted(width):
    scene = render_crack(width, blur_sigma=0.6, noise_sigma=2.0, contrast=40.0, seed=5)
    too_wide = scene.mask(wider=2.0)
    mask_count = measure_linear(too_wide).mean_width
    assert mask_count > width + 3.0  # the mask count follows the mask
    w_wide = _photo_with_reference(width, 0.6, 2.0, 40.0, wider=2.0, seed=5)
    w_shift = _photo_with_reference(width, 0.6, 2.0, 40.0, shift=1.5, seed=5)
    assert abs(w_wide.median - width) <= 0.2, w_wide.median
    assert abs(w_shift.median - width) <= 0.15, w_shift.median


@pytest.mark.parametrize("width", [4.0, 8.0])
def test_wide_crack_reads_its_own_contrast(width):
    scene = render_crack(width, blur_sigma=0.7, noise_sigma=3.0, contrast=30.0, size=(160, 160), seed=2)
    w = measure_crack_width(scene.image, scene.mask(wider=1.0))
    assert w.method == METHOD_PROFILE and w.contrast_identified
    assert w.contrast == pytest.approx(30.0 / 160.0, rel=0.05)
    assert abs(w.median - width) <= 0.04 * width
    assert w.max >= w.median and w.iqr < 0.5


def test_flat_photo_falls_back_to_the_mask():
    scene = render_crack(2.0, contrast=0.0, noise_sigma=2.0)
    mask = scene.mask()
    w = measure_crack_width(scene.image, mask)
    assert w.method == METHOD_MASK and w.profile_fraction == 0.0
    assert w.median == pytest.approx(measure_linear(mask).mean_width, abs=0.5)
    assert crack_width_px(scene.image, mask) is None


def test_clipped_profile_falls_back_to_the_mask():
    # A crack black inside on a white surface: the dip is cut at 0, its area cannot be read.
    scene = render_crack(3.0, background=250.0, contrast=250.0, noise_sigma=0.0, blur_sigma=0.3)
    w = measure_crack_width(scene.image, scene.mask())
    assert w.method == METHOD_MASK


def test_crack_width_px_for_a_traced_crack():
    scene = render_crack(3.0, blur_sigma=0.5, noise_sigma=2.0, contrast=50.0)
    got = crack_width_px(scene.image, scene.mask(wider=1.0))
    assert got == pytest.approx(3.0, abs=0.15)
    assert crack_width_px(scene.image, np.zeros_like(scene.mask())) is None


def test_size_mismatch_and_empty_mask_are_refused():
    scene = render_crack(2.0)
    with pytest.raises(ValueError, match="px"):
        measure_crack_width(scene.image[:-1], scene.mask())
    with pytest.raises(ValueError, match="empty"):
        measure_crack_width(scene.image, np.zeros_like(scene.mask()))


def test_rgb_photo_and_reading_order():
    a, b = render_crack(1.0, seed=1), render_crack(6.0, seed=2, angle_deg=-60)
    img = np.vstack([a.image, b.image])
    rows = measure_photo_cracks(np.repeat(img[..., None], 3, 2), np.vstack([a.mask(), b.mask()]))
    assert [r.index for r in rows] == [1, 2]
    assert rows[0].bbox_px[1] < rows[1].bbox_px[1]
    assert rows[0].width.median == pytest.approx(1.0, abs=0.15)
    assert rows[1].length_px == pytest.approx(0.7 * 128, rel=0.1)


def test_a_mask_on_shading_or_along_an_edge_without_a_crack_keeps_the_mask_width():
    # Smooth shading with a dark block: no crack anywhere under the mask, only curvature and an edge.
    h, w = 200, 600
    y, x = np.mgrid[0:h, 0:w]
    img = (120 + 40 * np.sin(x / 9) + 20 * np.cos(y / 7)).astype(np.uint8)
    img[60:130, 100:300] = 30
    mask = np.zeros((h, w), bool)
    rows = (np.arange(w) * 0.1 + 50).astype(int)
    for d in range(3):
        mask[rows + d, np.arange(w)] = True
    result = measure_crack_width(img, mask)
    assert result.method == METHOD_MASK and result.max < 4


@pytest.mark.parametrize("width,contrast", [(0.5, 60.0), (1.0, 100.0), (2.0, 60.0)])
def test_a_lone_thin_crack_gets_the_range_of_widths_its_profiles_allow(width, contrast):
    # Alone in its photo and thinner than about two blur sigmas: only width x darkness shows.
    scene = render_crack(width, blur_sigma=0.6, noise_sigma=2.0, contrast=contrast, seed=3)
    w = measure_crack_width(scene.image, scene.mask(wider=1.0))
    assert w.method == METHOD_RANGE and not w.contrast_identified
    lo, hi = w.width_range
    assert lo < width < hi and lo <= w.median <= hi
    assert hi / lo < 12
    # The middle of the range is nearer the truth than the dip's own depth would put it (~2 px).
    assert abs(w.median - width) < 0.7


def test_any_grey_range_reads_the_same_and_an_empty_side_warns_nothing(recwarn):
    # 8-bit, 16-bit, floats 0..255 and 0..1: one crack, one width; a crack along the photo's
    # edge has no surface on one side (NaN medians there are expected, not warned about).
    scene = render_crack(2.0, blur_sigma=0.5, noise_sigma=2.0, contrast=50.0, seed=9)
    img, mask = scene.image, scene.mask(wider=1.0)
    results = [measure_crack_width(a, mask) for a in
               (img, img.astype(np.uint16) * 257, img.astype(np.float64), img / 255.0)]
    got = [r.median for r in results]
    assert max(got) - min(got) < 0.02 and {r.method for r in results} == {METHOD_RANGE}
    lo, hi = results[0].width_range
    assert lo < 2.0 < hi
    edge = np.zeros_like(mask)
    edge[:, 0] = True
    assert measure_crack_width(img, edge).method == METHOD_MASK
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
