"""Checkpoints: our own (config + categories + format version, checked on load) and the public DETR ones.

Every read goes through ``torch.load(..., weights_only=True)``: a file that needs arbitrary
pickled objects or code to load is refused with a ``CheckpointError``, never executed.
"""
from __future__ import annotations

import argparse
import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Mapping

import torch
from torch import nn

from core.atomic import atomic_open
from core.categories import CategorySet
from core.errors import CategoryError, CheckpointError
from core.model.config import ModelConfig

log = logging.getLogger(__name__)

FORMAT_NAME = "panoptic-inspector-detr"
FORMAT_VERSION = 1
_RESERVED = ("format", "format_version", "config", "categories", "model")
_PLAIN = (type(None), bool, int, float, str, bytes, torch.Tensor, torch.Size, torch.dtype, torch.device)


def safe_torch_load(path: str | Path, allow: tuple[type, ...] = ()) -> Any:
    """``torch.load(path, map_location="cpu", weights_only=True)`` with typed errors.

    ``allow``: extra plain-data classes the weights-only unpickler may rebuild (never code).
    """
    from core.safety import special_file_reason

    path = Path(path)
    special = special_file_reason(path)
    if special is not None:  # opening a FIFO would block forever
        raise CheckpointError(f"{special}, not a checkpoint", path)
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except FileNotFoundError as e:
        raise CheckpointError("the checkpoint file does not exist", path) from e
    except OSError as e:
        raise CheckpointError(f"cannot read the checkpoint: {e.strerror or e}", path) from e
    # torch writes a zip archive (or, before 1.6, a pickle stream: protocol byte 0x80); anything
    # else is not a checkpoint at all, whatever torch's unpickler says about it
    if not magic:
        raise CheckpointError("not a PyTorch checkpoint: the file is empty (0 bytes)", path)
    if not (magic.startswith(b"PK\x03\x04") or magic.startswith(b"\x80")):
        raise CheckpointError("not a PyTorch checkpoint (neither a zip archive nor a pickle)", path,
                              hint="give the .pt file a training run wrote")
    try:
        with torch.serialization.safe_globals(list(allow)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise CheckpointError("the checkpoint file does not exist", path) from e
    except OSError as e:
        raise CheckpointError(f"cannot read the checkpoint: {e.strerror or e}", path) from e
    except pickle.UnpicklingError as e:
        if "weights only" in str(e).lower():
            raise CheckpointError("refused: the file holds pickled Python objects or code, not only "
                                  "weights, and is loaded with weights_only=True", path,
                                  hint="only load checkpoints from sources you trust; re-save the weights "
                                       "as a plain state dict") from e
        raise CheckpointError(f"not a PyTorch checkpoint ({e})", path) from e
    except Exception as e:  # truncated zip, wrong magic, broken pickle stack: torch raises many types
        raise CheckpointError(f"the checkpoint is damaged or not a PyTorch file ({e})", path) from e


# --- our own checkpoints -------------------------------------------------------------------------
def _check_plain(obj: Any, where: str) -> None:
    """Refuse at save time what ``weights_only`` loading would refuse later (numpy arrays, objects)."""
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise ValueError(f"{where}: dict key {k!r} is not a str or int")
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
    elif not isinstance(obj, _PLAIN):
        raise ValueError(f"{where} is a {type(obj).__module__}.{type(obj).__name__}; checkpoints hold only "
                         f"tensors and plain Python values (convert numpy arrays with torch.from_numpy or .tolist())")


def save_checkpoint(path: str | Path, model: nn.Module, config: ModelConfig, categories: CategorySet,
                    extra: dict | None = None) -> None:
    """Write ``{"format", "format_version", "config", "categories", "model", **extra}`` atomically.

    ``extra`` (optimizer, scheduler, epoch, RNG states, training config ...) must hold only
    tensors and plain Python values, and not use the reserved keys; ValueError otherwise.
    Raises ``CheckpointError`` when the file cannot be written (the previous file stays intact).
    """
    extra = dict(extra or {})
    clash = sorted(set(extra) & set(_RESERVED))
    if clash:
        raise ValueError(f"extra uses reserved checkpoint keys {clash}")
    _check_plain(extra, "extra")
    num_classes = _class_count(model.state_dict())
    if num_classes is not None and num_classes != len(categories):
        raise ValueError(f"the model has {num_classes} classes but {len(categories)} categories were given")
    ckpt = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "config": config.to_dict(),
            "categories": categories.to_json(),
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()}, **extra}
    try:
        with atomic_open(path, "wb") as f:
            torch.save(ckpt, f)
    except OSError as e:
        raise CheckpointError(f"cannot write the checkpoint: {e.strerror or e}", path,
                              hint="check free space and write permission") from e
    except RuntimeError as e:
        # torch's zip writer reports a failed write (a full disk) as RuntimeError, not OSError
        raise CheckpointError(f"cannot write the checkpoint ({str(e).splitlines()[0]})", path,
                              hint="the disk may be full: check free space and write permission") from e


def export_model(src: str | Path, dest: str | Path, *, half: bool = True) -> Path:
    """Write the model of checkpoint ``src`` alone to ``dest``: config, categories, weights (float16
    when ``half``: half the size; loading casts them back to float32) and the training config
    and epoch the predictor reads (input size), without the optimizer and resume state.
    Raises ``CheckpointError`` (unreadable ``src``, unwritable ``dest``)."""
    from core.model import build_model

    ckpt = load_checkpoint(src)
    config = ModelConfig.from_dict(ckpt["config"])
    categories = CategorySet.from_json(ckpt["categories"])
    model, _, _ = build_model(config, len(categories), categories=categories, backbone_weights=None)
    load_model_state(model, ckpt["model"], src)
    if half:
        model = model.half()
    training = ckpt.get("training")
    kept = {}
    if isinstance(training, Mapping):
        kept = {k: training[k] for k in ("train_config", "state", "metrics") if k in training}
        state = kept.get("state")
        if isinstance(state, Mapping):  # the epoch and step say what was trained; RNG states go
            kept["state"] = {k: v for k, v in state.items() if isinstance(v, (int, float, str, bool))}
    save_checkpoint(dest, model, config, categories, {"training": kept, "exported_from": str(Path(src).name)})
    return Path(dest)


def load_checkpoint(path: str | Path) -> dict:
    """Read and check one of our checkpoints. Returns the stored dict with plain values:
    "config" (a dict: ``ModelConfig.from_dict`` it), "categories" (a list: ``CategorySet.from_json``),
    "model" (state dict), "format_version" and whatever ``extra`` held.

    Raises ``CheckpointError``: unreadable, unsafe (pickled code), a public DETR file (use
    ``load_public_detr``), a newer format, or a config / category table that does not validate.
    """
    obj = safe_torch_load(path)
    if not isinstance(obj, dict):
        raise CheckpointError(f"not a Panoptic Inspector checkpoint (holds a {type(obj).__name__})", path)
    if obj.get("format") != FORMAT_NAME or "format_version" not in obj:
        if "model" in obj and isinstance(obj["model"], Mapping):
            raise CheckpointError("this is a plain DETR checkpoint without config and categories", path,
                                  hint="load it as public DETR weights (fine-tuning with a new class head)")
        raise CheckpointError("not a Panoptic Inspector checkpoint (no format marker)", path)
    version = obj["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise CheckpointError(f"checkpoint format version {version!r} is not supported (this program reads "
                              f"up to {FORMAT_VERSION})", path, hint="update Panoptic Inspector")
    try:
        ModelConfig.from_dict(obj["config"])
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"the stored model config is invalid: {e}", path) from e
    try:
        categories = CategorySet.from_json(obj["categories"])
    except (KeyError, CategoryError) as e:
        raise CheckpointError(f"the stored categories are invalid: {e}", path) from e
    state = obj.get("model")
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("the checkpoint has no state dict of tensors", path)
    num_classes = _class_count(state)
    if num_classes is not None and num_classes != len(categories):
        raise CheckpointError(f"the class head has {num_classes} classes but the checkpoint lists "
                              f"{len(categories)} categories", path)
    return obj


def check_finite_state(state: Mapping[str, torch.Tensor], path: str | Path | None = None) -> None:
    """Raise ``CheckpointError`` when a floating-point tensor of ``state`` holds NaN or infinity.

    A model trained into NaN predicts nothing at all, which looks like a model that sees no
    defects; every way a model is loaded (prediction, evaluation, resuming, fine-tuning) checks.
    """
    with torch.no_grad():
        for name, tensor in state.items():
            if (isinstance(tensor, torch.Tensor) and tensor.is_floating_point()
                    and not bool(torch.isfinite(tensor).all())):
                raise CheckpointError(f"the model's weights contain NaN or infinite values ({name}); its training "
                                      "diverged", path, hint="use an earlier checkpoint, or train again with a lower "
                                                             "learning rate")


def load_model_state(model: nn.Module, state: Mapping[str, torch.Tensor], path: str | Path | None = None) -> None:
    """``model.load_state_dict(state, strict=True)``, a mismatch raised as ``CheckpointError``;
    non-finite weights are refused (``check_finite_state``)."""
    check_finite_state(state, path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"the weights do not fit this model: {str(e).splitlines()[0]} "
                              f"{_mismatch_summary(model, state)}", path) from e


@dataclass
class LoadedModel:
    model: nn.Module
    criterion: nn.Module
    postprocessor: Any
    config: ModelConfig
    categories: CategorySet
    checkpoint: dict = field(repr=False)


def load_model_from_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Build the model a checkpoint describes and load its weights (the rest of the dict, e.g. the
    optimizer state, stays in ``.checkpoint`` for resuming)."""
    from core.model import build_model

    ckpt = load_checkpoint(path)
    config = ModelConfig.from_dict(ckpt["config"])
    categories = CategorySet.from_json(ckpt["categories"])
    model, criterion, post = build_model(config, len(categories), categories=categories, backbone_weights=None)
    load_model_state(model, ckpt["model"], path)
    return LoadedModel(model.to(device), criterion.to(device), post, config, categories, ckpt)


def _class_count(state: Mapping[str, torch.Tensor]) -> int | None:
    for key in ("class_embed.bias", "detr.class_embed.bias"):
        if key in state:
            return int(state[key].shape[0]) - 1
    return None


def _mismatch_summary(model: nn.Module, state: Mapping[str, torch.Tensor]) -> str:
    own = model.state_dict()
    shapes = [f"{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in state.items()
              if k in own and own[k].shape != v.shape]
    return f"(shape differences: {shapes[:5]})" if shapes else ""


# --- public DETR checkpoints ---------------------------------------------------------------------
@dataclass(frozen=True)
class PublicLoadReport:
    """What ``load_public_detr`` did. Names are the model's state-dict keys.

    loaded: copied from the file; reinitialised: the class head, when the class count differs;
    kept: the model's tensors the file lacks (e.g. the mask head when a detection checkpoint goes
    into a panoptic model), left as initialised; unused: tensors of the file the model has no place for.
    """

    source: str
    loaded: tuple[str, ...]
    reinitialised: tuple[str, ...]
    kept: tuple[str, ...]
    unused: tuple[str, ...]

    def summary(self) -> str:
        text = f"{self.source}: {len(self.loaded)} tensors loaded"
        if self.reinitialised:
            text += f"; re-initialised (new classes): {', '.join(self.reinitialised)}"
        if self.kept:
            text += f"; {len(self.kept)} not in the file, kept as initialised ({_prefixes(self.kept)})"
        if self.unused:
            text += f"; {len(self.unused)} in the file not used ({_prefixes(self.unused)})"
        return text


def _prefixes(keys: tuple[str, ...]) -> str:
    return ", ".join(sorted({k.split(".")[0] if not k.startswith("detr.") else ".".join(k.split(".")[:2])
                             for k in keys}))


_CLASS_HEAD = ("class_embed.weight", "class_embed.bias")


def load_public_detr(path_or_state: str | Path | Mapping[str, Any], model: nn.Module) -> PublicLoadReport:
    """Load a public DETR checkpoint (``{"model": state_dict}``, detection or panoptic layout, the
    detector's names optionally under ``detr.``) into ``model`` (``DETR`` or ``DETRPanoptic``).

    Every tensor whose name and shape fit is loaded. The class head is re-initialised when its
    class count differs from the model's; any other shape difference means the model was not
    built with the public hyper-parameters (preset ``detr_r50``) and raises ``CheckpointError``.
    """
    if isinstance(path_or_state, Mapping):
        obj, source = path_or_state, "state dict"
    else:
        # DETR's own training script stores its argparse.Namespace beside the weights: plain
        # data, allowed; anything else that is not weights is still refused.
        obj, source = safe_torch_load(path_or_state, allow=(argparse.Namespace,)), str(path_or_state)
    state = obj.get("model", obj) if isinstance(obj, Mapping) else None
    if not isinstance(state, Mapping) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("not a DETR checkpoint: expected {'model': state_dict}", source)

    own = model.state_dict()
    model_prefix = "detr." if any(k.startswith("detr.") for k in own) else ""
    mapped: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        det_key = key[len("detr."):] if key.startswith("detr.") else key
        is_detector = not (det_key.startswith("bbox_attention.") or det_key.startswith("mask_head."))
        mapped[(model_prefix + det_key) if is_detector else det_key] = value

    head = tuple(model_prefix + k for k in _CLASS_HEAD)
    loaded, reinit, wrong = [], [], []
    new_state = dict(own)
    for key, value in mapped.items():
        if key not in own:
            continue
        if own[key].shape == value.shape:
            new_state[key] = value
            loaded.append(key)
        elif key in head:
            reinit.append(key)
        else:
            wrong.append(f"{key}: file {tuple(value.shape)}, model {tuple(own[key].shape)}")
    if wrong:
        raise CheckpointError(f"the DETR weights do not fit this model ({len(wrong)} tensors differ: {wrong[:4]})",
                              source, hint="build the model with the detr_r50 preset to use public weights")
    if not loaded:
        raise CheckpointError("no tensor of the file matches this model's names", source)
    load_model_state(model, new_state, source if source != "state dict" else None)
    if reinit:
        class_embed = model.get_submodule(model_prefix + "class_embed")
        assert isinstance(class_embed, nn.Linear)  # DETR's class head
        class_embed.reset_parameters()
    report = PublicLoadReport(source, tuple(loaded), tuple(reinit),
                              tuple(k for k in own if k not in mapped and not k.endswith("num_batches_tracked")),
                              tuple(k for k in mapped if k not in own))
    log.info("%s", report.summary())
    return report
