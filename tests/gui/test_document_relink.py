"""``relink``: a panel or controller that follows the current photo's document hears the new
document only, also when the old one was deleted with its photo."""
from __future__ import annotations

import numpy as np
import pytest
import shiboken6

from core.categories import default_categories
from core.panoptic import PanopticAnnotation, Segment
from gui.editing.document import AnnotationDocument, relink

pytestmark = pytest.mark.timeout(30)


def _document(image_id: int) -> AnnotationDocument:
    id_map = np.ones((8, 8), np.int32)
    return AnnotationDocument.from_annotation(image_id, PanopticAnnotation(id_map, {1: Segment(1, 1)}),
                                              default_categories())


class _Follower:
    def __init__(self) -> None:
        self.heard: list[int] = []
        self.doc: AnnotationDocument | None = None

    def links(self, d: AnnotationDocument):
        return ((d.segmentsChanged, self.segments),)

    def segments(self) -> None:
        assert self.doc is not None
        self.heard.append(self.doc.image_id)

    def follow(self, doc: AnnotationDocument | None) -> None:
        relink(self.doc, doc, self.links)
        self.doc = doc


def test_the_follower_hears_only_the_document_it_follows_now(qapp):
    first, second = _document(1), _document(2)
    f = _Follower()
    f.follow(first)
    first.segmentsChanged.emit()
    f.follow(second)
    first.segmentsChanged.emit()   # the old photo's document: no longer heard
    second.segmentsChanged.emit()
    f.follow(None)
    second.segmentsChanged.emit()
    assert f.heard == [1, 2]


def test_following_on_from_a_deleted_document_does_not_raise(qapp):
    first, second = _document(1), _document(2)
    f = _Follower()
    f.follow(first)
    shiboken6.delete(first)        # closed with its photo before the next one is shown
    f.follow(second)
    second.segmentsChanged.emit()
    assert f.heard == [2]
