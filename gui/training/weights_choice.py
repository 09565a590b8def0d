"""The train dialog's choice of initial weights: the kinds, their words, and the shipped model.

Fine-tuning is the normal path, as in ``main.py train``: the dialog starts from the project's
active model, else the shipped demo model when the project shares a defect with it (by name), else
random weights (``core.training.start``); random weights, ImageNet features (EfficientNet-Lite0,
preset ``cpu_lite0``), a weights file or another model of the project are explicit choices.
"""
from __future__ import annotations

from pathlib import Path

from core.training.start import checkpoint_categories, shared_defects

INIT_NONE, INIT_IMAGENET, INIT_DETR, INIT_MODEL = "none", "imagenet", "detr", "checkpoint"
INIT_SHIPPED, INIT_FEATURES = "shipped", "imagenet_features"
#: The choices in the order offered.
INIT_WORDS = {INIT_MODEL: "A model of this project (fine-tune)", INIT_SHIPPED: "The shipped demo model (fine-tune)",
              INIT_NONE: "Random weights", INIT_FEATURES: "ImageNet features (EfficientNet-Lite0)",
              INIT_IMAGENET: "ImageNet backbone file…", INIT_DETR: "Public DETR checkpoint file…"}
#: What each choice does, shown under it.
INIT_NOTES = {INIT_NONE: "Starts from random weights.",
              INIT_SHIPPED: "Fine-tunes the demo model shipped with the program (trained on generated photos), "
                            "with its own architecture.",
              INIT_FEATURES: "The backbone starts from ImageNet features (EfficientNet-Lite0, weights installed "
                             "with the program), the rest from random weights; preset cpu_lite0.",
              INIT_IMAGENET: "A ResNet state dict trained on ImageNet, for the backbone.",
              INIT_DETR: "A public DETR checkpoint (ResNet-50): the class head is re-initialised for the "
                         "project's categories. Use the detr_r50 preset with it.",
              INIT_MODEL: "Continues from that model's weights, with its own architecture (the preset's "
                          "model is not used)."}
#: The choices that need a weights file.
FILE_KINDS = (INIT_IMAGENET, INIT_DETR)


def shipped_model(categories) -> tuple[Path, object] | None:
    """``(file, its categories)`` of the shipped demo model when this build has one and the
    project's ``categories`` share a defect with it (``shared_defects``), else None. Reads the file's header
    without torch (this runs on the GUI thread)."""
    from core.demo.sample_model import demo_model_path
    from core.errors import CheckpointError

    path = demo_model_path()
    if path is None:
        return None
    try:
        stored = checkpoint_categories(path)
    except CheckpointError:
        return None
    return (path, stored) if shared_defects(stored, categories) else None


__all__ = ["FILE_KINDS", "INIT_DETR", "INIT_FEATURES", "INIT_IMAGENET", "INIT_MODEL", "INIT_NONE", "INIT_NOTES",
           "INIT_SHIPPED", "INIT_WORDS", "shipped_model"]
