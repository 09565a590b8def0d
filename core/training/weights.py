"""Initial weights of a training run: none, an ImageNet backbone file, a public DETR checkpoint, or
one of our checkpoints, and the category check:
a checkpoint whose categories differ from the project's is fine-tuned with a new class head or
refused, never silently mislabelling (docs/faults.md).

Nothing here downloads: every file is one the user gave (or torchvision's cache, read only).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.categories import CategorySet
from core.errors import CheckpointError
from core.training.start import class_rows_by_name

log = logging.getLogger(__name__)


@dataclass
class InitPlan:
    """What ``init_weights`` turned out to be, read once.

    kind: ``none`` | ``imagenet`` | ``detr`` | ``checkpoint``; obj: the loaded file (``detr`` and
    ``checkpoint``); backbone_weights: what ``build_model`` gets for the backbone.
    """

    kind: str
    path: str = ""
    obj: Any = field(default=None, repr=False)
    backbone_weights: str | None = None


def detect_kind(obj: Any) -> str:
    """``checkpoint`` (ours), ``detr`` (public DETR layout) or ``imagenet`` (a ResNet or an
    EfficientNet-Lite state dict)."""
    from core.model.checkpoint import FORMAT_NAME

    if isinstance(obj, dict) and obj.get("format") == FORMAT_NAME:
        return "checkpoint"
    state = obj.get("model", obj) if isinstance(obj, dict) else None
    if isinstance(state, dict):
        keys = [str(k) for k in state]
        if any("transformer." in k or k.endswith("class_embed.weight") for k in keys):
            return "detr"
        if any(k.startswith("layer1.") for k in keys) and any(k.startswith("conv1.") for k in keys):
            return "imagenet"
        if any(k.startswith("_conv_stem.") for k in keys) and any(k.startswith("_blocks.") for k in keys):
            return "imagenet"  # EfficientNet(-Lite) in the lukemelas layout
    return "unknown"


def plan_init(init_weights: str, init_kind: str) -> InitPlan:
    """Read ``init_weights`` (when given) and decide what it is.

    With no file, ``auto`` lets the backbone take torchvision's cached ImageNet weights when they
    are on disk (never downloaded), ``none`` starts from random weights and ``imagenet`` asks for
    the backbone's built-in ImageNet weights (EfficientNet-Lite0's package).
    Raises ``CheckpointError`` for unreadable, unsafe or unrecognised files.
    """
    from core.model.checkpoint import load_checkpoint, safe_torch_load

    if not init_weights:
        if init_kind == "imagenet":  # the backbone's built-in weights (setup refuses backbones without)
            return InitPlan("imagenet", backbone_weights="imagenet")
        if init_kind not in ("auto", "none"):
            raise CheckpointError(f"initial weights of kind {init_kind!r} need a file")
        return InitPlan("none", backbone_weights="auto" if init_kind == "auto" else None)
    path = Path(init_weights)
    if init_kind == "none":
        return InitPlan("none")
    if init_kind == "imagenet":
        return InitPlan("imagenet", str(path), backbone_weights=str(path))
    if init_kind == "checkpoint":
        return InitPlan("checkpoint", str(path), load_checkpoint(path))
    obj = safe_torch_load(path)
    kind = detect_kind(obj) if init_kind == "auto" else init_kind
    if kind == "checkpoint":
        return InitPlan("checkpoint", str(path), load_checkpoint(path))
    if kind == "detr":
        return InitPlan("detr", str(path), obj)
    if kind == "imagenet":
        return InitPlan("imagenet", str(path), backbone_weights=str(path))
    raise CheckpointError("not a file of weights this program knows (our checkpoint, a public DETR "
                          "checkpoint or an ImageNet ResNet state dict)", path)


def category_key(categories: CategorySet) -> list[tuple[int, bool]]:
    """What decides whether a class head fits: ids and thing/stuff, in class-index order (names
    and colours may change: masks refer to ids, docs/design.md)."""
    return [(c.id, bool(c.isthing)) for c in categories]


def compare_categories(stored: CategorySet, data: CategorySet) -> tuple[str, list[int] | None]:
    """``("same", None)``, ``("reordered", perm)`` where data class i = stored class ``perm[i]``, or
    ``("different", None)``."""
    a, b = category_key(stored), category_key(data)
    if a == b:
        return "same", None
    if sorted(a) == sorted(b):
        pos = {key: i for i, key in enumerate(a)}
        return "reordered", [pos[key] for key in b]
    return "different", None


def describe_difference(stored: CategorySet, data: CategorySet) -> str:
    s, d = {c.id: c for c in stored}, {c.id: c for c in data}
    parts = []
    if set(d) - set(s):
        parts.append("new in the data: " + ", ".join(f"{d[i].name} ({i})" for i in sorted(set(d) - set(s))))
    if set(s) - set(d):
        parts.append("only in the checkpoint: " + ", ".join(f"{s[i].name} ({i})" for i in sorted(set(s) - set(d))))
    flipped = [d[i].name for i in set(s) & set(d) if s[i].isthing != d[i].isthing]
    if flipped:
        parts.append("thing/stuff changed: " + ", ".join(sorted(flipped)))
    return "; ".join(parts) or "the same categories"


def class_head_keys(state: dict) -> list[str]:
    """Tensors with a row per class and a last "no object" row."""
    return [k for k in state if k.startswith(("class_embed.", "detr.class_embed."))]


#: Tensors of the dense thin head with one row per class (no "no object" row).
THIN_CLASS_KEYS = ("thin_head.logits2.weight", "thin_head.logits2.bias", "thin_head.detail.weight",
                   "thin_head.detail.bias")


def _with_fresh_thin_head(model: torch.nn.Module, state: dict) -> list[str]:
    """Adds the model's freshly initialised thin-head tensors that ``state`` lacks (a checkpoint
    made before the head existed, or without it); returns their names."""
    own = model.state_dict()
    missing = [k for k in own if k.startswith("thin_head.") and k not in state]
    for k in missing:
        state[k] = own[k]
    return missing


def load_our_checkpoint(model: torch.nn.Module, ckpt: dict, data_categories: CategorySet, *,
                        new_class_head: bool, path: str) -> str:
    """Load one of our checkpoints into ``model`` (built for ``data_categories``).

    Same categories: every tensor. Same categories in another order: the class head's rows are
    permuted to the data's order. Different categories: refused with ``CheckpointError`` unless
    ``new_class_head``, then everything, with a class head for the data's categories whose rows
    are the checkpoint's for categories of the same name and kind (what the model learnt of
    them) and freshly initialised for new ones; "no object" keeps its row. Returns a one-line
    description of what was done.
    """
    from core.model.checkpoint import load_model_state

    stored = CategorySet.from_json(ckpt["categories"])
    verdict, perm = compare_categories(stored, data_categories)
    state = dict(ckpt["model"])
    head = class_head_keys(state)
    thin_rows = [k for k in THIN_CLASS_KEYS if k in state]
    fresh = _with_fresh_thin_head(model, state)
    whole_head = sum(1 for k in model.state_dict() if k.startswith("thin_head."))
    note = "" if not fresh else (" (the thin-crack head starts fresh: the checkpoint has none)"
                                 if len(fresh) == whole_head else f" (the thin-crack head's {len(fresh)} new tensors "
                                                                  "start fresh)")
    if verdict == "same":
        load_model_state(model, state, path)
        return f"weights from {path}{note}"
    if verdict == "reordered":
        assert perm is not None  # "reordered" always comes with its permutation
        idx = torch.tensor(perm + [len(perm)])  # "no object" stays last
        for k in head:
            state[k] = state[k][idx]
        for k in thin_rows:
            state[k] = state[k][idx[:-1]]
        load_model_state(model, state, path)
        return f"weights from {path} (class head reordered to the data's category order){note}"
    if not new_class_head:
        raise CheckpointError(
            f"the checkpoint's categories differ from the data's ({describe_difference(stored, data_categories)})",
            path, hint="fine-tune it with a new class head (option --new-class-head) or use a checkpoint "
                       "trained on these categories")
    own = model.state_dict()
    rows = class_rows_by_name(stored, data_categories)
    for k in head + thin_rows:
        rows_of_k = own[k].clone()  # the new model's initialised rows, one per data category (+ no object)
        for i, j in enumerate(rows):
            if j is not None:
                rows_of_k[i] = state[k][j]
        if k in head:
            rows_of_k[-1] = state[k][-1]
        state[k] = rows_of_k
    load_model_state(model, state, path)
    cats = list(data_categories)
    kept = [c.name for c, j in zip(cats, rows) if j is not None]
    new = [c.name for c, j in zip(cats, rows) if j is None]
    return (f"weights from {path} with a new class head for {len(cats)} categories: "
            f"{'rows kept by name for ' + ', '.join(kept) if kept else 'no category kept by name'}"
            f"{'; new rows for ' + ', '.join(new) if new else ''} "
            f"({describe_difference(stored, data_categories)}){note}")
