"""Annotation aids: tools that turn a few clicks into a mask, without any model weights.

* ``trace_crack`` / ``CrackTracer`` (trace.py): a crack as the darkest path through the clicks,
  at the width the photo shows (cost.py, band.py, width.py);
* ``grow_region`` / ``RegionGrower`` / ``grabcut_box`` (region.py): a spall or a stain from one
  click, or from a dragged box.

Qt-free; the GUI's tracer and region tools call these, and so can scripts.
"""
from core.assist.region import DEFAULT_TOLERANCE, RegionGrower, grabcut_box, grow_region
from core.assist.trace import CrackTracer, TracedCrack, trace_crack

__all__ = ["CrackTracer", "DEFAULT_TOLERANCE", "RegionGrower", "TracedCrack", "grabcut_box", "grow_region",
           "trace_crack"]
