"""The id-PNG codec: panopticapi's colour rule, every PNG form, the id range, the size limit first."""
import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from core.errors import AnnotationError
from core.idpng import (MAX_ID_PNG_PIXELS, MAX_SEGMENT_ID, check_png_size, decode_ids, decode_png, encode_ids,
                        id2rgb, read_ids, read_png_header, rgb2id)
from core.imageio import MAX_PIXELS

panopticapi_utils = pytest.importorskip("panopticapi.utils")

id_maps = arrays(np.int32, st.tuples(st.integers(1, 9), st.integers(1, 9)),
                 elements=st.integers(0, MAX_SEGMENT_ID))


def _pil_png(array: np.ndarray, mode: str | None = None, **save) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG", **save)
    return buf.getvalue()


@settings(max_examples=60, deadline=None)
@given(id_maps)
def test_round_trip_and_panopticapi_semantics(ids):
    # Our colours are panopticapi's, and its rgb2id reads our PNGs back through PIL, as pq_compute does.
    np.testing.assert_array_equal(id2rgb(ids), panopticapi_utils.id2rgb(ids))
    np.testing.assert_array_equal(rgb2id(id2rgb(ids)), ids)
    png = encode_ids(ids)
    np.testing.assert_array_equal(decode_ids(png), ids)
    np.testing.assert_array_equal(panopticapi_utils.rgb2id(np.array(Image.open(io.BytesIO(png)), np.uint32)), ids)
    # And PNGs written the panopticapi way (PIL, its default filters) decode to the same ids.
    np.testing.assert_array_equal(decode_ids(_pil_png(panopticapi_utils.id2rgb(ids))), ids)


@settings(max_examples=40, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 6), st.sampled_from([3, 4]))))
def test_rgb2id_equals_panopticapi_on_any_colours(rgb):
    np.testing.assert_array_equal(rgb2id(rgb), panopticapi_utils.rgb2id(rgb))
    assert rgb2id(rgb).dtype == np.int32


def test_every_png_form_decodes():
    ids = np.array([[0, 1, 255, 256], [65535, 65536, MAX_SEGMENT_ID, 123456]], np.int32)
    rgba = np.dstack([id2rgb(ids), np.full(ids.shape, 77, np.uint8)])
    np.testing.assert_array_equal(decode_ids(_pil_png(rgba, "RGBA")), ids)           # alpha ignored
    grey = np.array([[0, 5], [7, 200]], np.uint8)
    assert decode_ids(_pil_png(grey, "L")).tolist() == grey.tolist()                 # grey: the value
    la = np.dstack([grey, np.full(grey.shape, 9, np.uint8)])
    assert decode_ids(_pil_png(la, "LA")).tolist() == grey.tolist()                  # grey + alpha
    g16 = np.array([[0, 300], [65535, 7]], np.uint16)
    assert decode_ids(cv2.imencode(".png", g16)[1].tobytes()).tolist() == g16.tolist()  # 16-bit grey
    for bits in (2, 4):                                                              # packed grey
        small = np.array([[0, 1], [2, 3]], np.uint8)
        assert decode_ids(_pil_png(small, "L", bits=bits)).tolist() == small.tolist()
    assert decode_ids(_pil_png(np.array([[0, 1]], bool))).tolist() == [[0, 1]]      # 1-bit
    pal = Image.fromarray(np.array([[0, 1], [2, 3]], np.uint8), "P")
    pal.putpalette([0, 0, 0, 1, 0, 0, 2, 1, 0, 5, 6, 7] + [0] * 756)
    buf = io.BytesIO()
    pal.save(buf, format="PNG")
    # palette: the colours are the ids (what any RGB reader, panopticapi's too, sees)
    assert decode_ids(buf.getvalue()).tolist() == [[0, 1], [2 + 256, 5 + 6 * 256 + 7 * 65536]]


def test_sixteen_bit_colour_is_refused_not_guessed():
    png = cv2.imencode(".png", np.zeros((2, 2, 3), np.uint16))[1].tobytes()
    with pytest.raises(AnnotationError, match="16-bit colour PNG"):
        decode_ids(png, "x.png")


def test_ids_outside_the_rgb_range_are_refused_not_wrapped():
    for bad in (MAX_SEGMENT_ID + 1, -1):
        with pytest.raises(AnnotationError, match="0..16777215"):
            encode_ids(np.array([[0, bad]], np.int64))
    with pytest.raises(AnnotationError, match=r"\[H, W\]"):
        encode_ids(np.zeros((2, 2, 3), np.int32))
    np.testing.assert_array_equal(decode_ids(encode_ids(np.array([[3, 4]], np.uint8))), [[3, 4]])


def _bomb(width: int, height: int) -> bytes:
    """A valid-looking PNG whose header claims ``width x height`` and whose data is tiny."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_size_is_checked_from_the_header_before_decoding(tmp_path, monkeypatch):
    assert MAX_ID_PNG_PIXELS == MAX_PIXELS  # one limit for photos and their id maps
    bomb = _bomb(60000, 60000)
    decoded = []
    monkeypatch.setattr(cv2, "imdecode", lambda *a: decoded.append(a))  # must never be reached
    with pytest.raises(AnnotationError, match="above the limit") as err:
        decode_ids(bomb, "bomb.png")
    assert "bomb.png" in str(err.value) and "3,600,000,000 pixels" in str(err.value)
    (tmp_path / "bomb.png").write_bytes(bomb)
    with pytest.raises(AnnotationError, match="above the limit"):
        read_ids(tmp_path / "bomb.png")
    with pytest.raises(AnnotationError, match="above the limit"):
        check_png_size(tmp_path / "bomb.png")
    assert decoded == []
    header = check_png_size(_bomb(640, 480))
    assert (header.width, header.height, header.bit_depth, header.color_type) == (640, 480, 8, 2)
    assert check_png_size(_bomb(640, 480), limit=640 * 480).pixels == 640 * 480
    with pytest.raises(AnnotationError, match="above the limit"):
        check_png_size(_bomb(640, 480), limit=640 * 480 - 1)


def test_bad_files_raise_a_typed_error_naming_the_file(tmp_path):
    for data, reason in ((b"", "empty"), (b"nope", "not a PNG"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "not a PNG"),
                         (_bomb(40, 40), "corrupt or truncated"), (encode_ids(np.ones((9, 9), np.int32))[:60],
                                                                 "corrupt or truncated")):
        with pytest.raises(AnnotationError, match=reason) as err:
            decode_ids(data, "a/b.png")
        assert err.value.path == "a/b.png"
    with pytest.raises(AnnotationError, match="cannot read the PNG"):
        read_ids(tmp_path / "missing.png")
    with pytest.raises(AnnotationError, match="cannot read the PNG"):
        check_png_size(tmp_path / "missing.png")
    with pytest.raises(AnnotationError, match="not a readable PNG"):
        read_png_header(b"GIF89a" + b"\0" * 40)


def test_non_ascii_paths(tmp_path):
    ids = np.array([[0, 70000], [1, 2]], np.int32)
    path = tmp_path / "Brücke_Nord" / "Riss 1 裂缝.png"
    path.parent.mkdir()
    path.write_bytes(encode_ids(ids))
    np.testing.assert_array_equal(read_ids(path), ids)
    assert check_png_size(path).width == 2


def test_decoded_png_exposes_colour_bytes_for_counting():
    ids = np.array([[0, 1], [2, 300]], np.int32)
    dec = decode_png(encode_ids(ids))
    assert dec.is_colour8 and dec.pixels.shape == (2, 2, 3)
    np.testing.assert_array_equal(dec.pixels[..., 2], ids & 0xFF)  # OpenCV's BGR: red last
    assert not decode_png(_pil_png(np.zeros((2, 2), np.uint8), "L")).is_colour8


def test_packed_ids_may_reuse_a_buffer():
    ids = np.array([[0, 1], [70000, MAX_SEGMENT_ID]], np.int32)
    dec = decode_png(encode_ids(ids))
    scratch = np.full((2, 2, 4), 9, np.uint8)
    packed = dec.packed_ids(scratch)
    np.testing.assert_array_equal(packed, ids)
    assert np.shares_memory(packed, scratch)
    wrong = np.zeros((3, 2, 4), np.uint8)  # another size: ignored, never written
    np.testing.assert_array_equal(dec.packed_ids(wrong), ids)
    assert not wrong.any()
