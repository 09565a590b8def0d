"""Training checkpoints: the model checkpoint (``core.model.checkpoint``) plus everything a resume
needs, and the RNG states, all as tensors and plain values (``weights_only`` loading).

Files in the output folder: ``last.pt`` (after every epoch, and at a cancel or time limit, mid-
epoch), ``best.pt`` (best validation PQ so far), ``epoch_NNN.pt`` (every ``keep_every`` epochs).
Each is written to a temporary file and renamed, so a kill while writing leaves the previous one.
"""
from __future__ import annotations

import os
import random
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.categories import CategorySet
from core.errors import CheckpointError

LAST, BEST = "last.pt", "best.pt"
TRAIN_KEY = "training"  # the extra entry of our checkpoints holding the resume state
TRAIN_STATE_VERSION = 1


@dataclass
class TrainState:
    """Where a run stands.

    Attributes:
        epoch: epochs completed (0-based index of the epoch in progress).
        epoch_step: batches of epoch ``epoch`` already trained (0 at an epoch boundary).
        step: optimizer steps in all.
        stage: stage of epoch ``epoch`` when saved (``detection`` | ``masks`` | ``joint``).
        best_pq: best validation PQ (fraction) so far, NaN when none; best_epoch: its 1-based epoch.
        elapsed_s: training time spent before this point (for the time budget and ETA).
    """

    epoch: int = 0
    epoch_step: int = 0
    step: int = 0
    stage: str = "joint"
    best_pq: float = float("nan")
    best_epoch: int = 0
    elapsed_s: float = 0.0


def capture_rng() -> dict[str, Any]:
    """Every RNG a run draws from, as tensors and plain values."""
    legacy = np.random.get_state()
    # the global generator is always MT19937, whose legacy state is the 5-tuple, never the dict
    assert isinstance(legacy, tuple)
    kind, keys, pos, has_gauss, gauss = legacy
    state = {"torch": torch.get_rng_state(), "numpy": [str(kind), torch.from_numpy(keys.astype(np.int64)),
                                                       int(pos), int(has_gauss), float(gauss)],
             "python": _to_lists(random.getstate())}
    if torch.cuda.is_available():
        state["cuda"] = [s for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    random.setstate(_to_tuples(state["python"]))
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _to_lists(x):
    return [_to_lists(v) for v in x] if isinstance(x, (list, tuple)) else x


def _to_tuples(x):
    return tuple(_to_tuples(v) for v in x) if isinstance(x, (list, tuple)) else x


def save_training_checkpoint(path: str | Path, model: torch.nn.Module, model_config, categories: CategorySet,
                             train_config_dict: dict, state: TrainState, optimizer, scheduler, scaler=None,
                             metrics: dict | None = None) -> Path:
    """Write a resumable checkpoint atomically (``core.model.checkpoint.save_checkpoint``)."""
    from core.model.checkpoint import save_checkpoint

    extra = {TRAIN_KEY: {
        "version": TRAIN_STATE_VERSION,
        "state": asdict(state),
        "train_config": train_config_dict,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else {},
        "rng": capture_rng(),
        "metrics": metrics or {},
    }}
    save_checkpoint(path, model, model_config, categories, extra)
    return Path(path)


def training_part(ckpt: dict, path: str | Path) -> dict:
    """The resume state of a loaded checkpoint; ``CheckpointError`` when it has none."""
    part = ckpt.get(TRAIN_KEY)
    if not isinstance(part, dict) or "state" not in part or "optimizer" not in part:
        raise CheckpointError("the checkpoint holds model weights only, nothing to resume from", path,
                              hint="use it as initial weights instead")
    if part.get("version", 0) > TRAIN_STATE_VERSION:
        raise CheckpointError(f"resume state version {part.get('version')} is newer than this program's",
                              path, hint="update Panoptic Inspector")
    return part


def stored_train_config(path: str | Path):
    """The ``TrainConfig`` a resumable checkpoint was trained with (to resume with the same
    settings; change fields with ``.replace``). Raises ``CheckpointError``."""
    from core.model.checkpoint import load_checkpoint
    from core.training.config import TrainConfig

    part = training_part(load_checkpoint(path), path)
    stored = {k: v for k, v in part.get("train_config", {}).items() if not k.startswith("_")}
    try:
        return TrainConfig.from_dict(stored)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"the stored training settings are invalid: {e}", path) from e


def state_from(part: dict) -> TrainState:
    known = TrainState.__dataclass_fields__
    return TrainState(**{k: v for k, v in part["state"].items() if k in known})


def keep_copies(last: Path, best: bool, keep_every: int, epoch: int, epoch_step: int) -> None:
    """Beside a freshly written ``last``: ``best.pt`` when it is the best so far, and
    ``epoch_NNN.pt`` at the end of every ``keep_every``-th epoch (0: none)."""
    if best:
        atomic_copy(last, last.parent / BEST)
    if keep_every and epoch_step == 0 and epoch % keep_every == 0:
        atomic_copy(last, last.parent / f"epoch_{epoch:03d}.pt")


def atomic_copy(src: str | Path, dst: str | Path) -> None:
    """Copy a checkpoint (``last.pt`` -> ``best.pt``) through a temporary file and ``os.replace``."""
    from core.atomic import temp_prefix

    dst = Path(dst)
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(dst), suffix=".tmp", dir=dst.parent)
    except OSError as e:
        raise CheckpointError(f"cannot write the checkpoint: {e.strerror or e}", dst,
                              hint="check free space and write permission") from e
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise CheckpointError(f"cannot write the checkpoint: {e.strerror or e}", dst,
                                  hint="check free space and write permission") from e
        raise
