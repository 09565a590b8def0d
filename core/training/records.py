"""Progress records a training run yields, and the metrics file they are written to.

The GUI plots these; the CLI turns them into a progress bar; ``metrics.jsonl`` in the output
folder holds one JSON object per line, ``record.to_dict()``, whose ``"kind"`` says which record
it is. Epochs in records are 1-based ("epoch 3 of 10"); ``step`` counts optimizer steps from 1
over the whole run (it keeps counting across a resume).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterable

from core.atomic import atomic_write_text


@dataclass(frozen=True)
class StatusRecord:
    """Something happened that is no step: "reading photos", "resumed from ...", "stage masks".

    Fields: ``phase`` (``prepare`` | ``cache`` | ``init`` | ``resume`` | ``stage`` | ``eval`` |
    ``checkpoint`` | ``warning``), ``message`` (one line for people), ``done``/``total`` (for
    phases that count, e.g. photos decoded; 0 otherwise).
    """

    phase: str
    message: str
    done: int = 0
    total: int = 0
    kind: str = "status"


@dataclass(frozen=True)
class StepRecord:
    """One optimizer step.

    Fields:
        epoch: 1-based epoch; epoch_step / steps_per_epoch: 1-based position in it.
        step: optimizer steps so far in the whole run.
        stage: ``detection`` | ``masks`` | ``joint``.
        losses: every loss term the criterion returned, weighted as they enter ``"loss"``
            (``loss_ce``, ``loss_bbox``, ``loss_giou``, ``loss_mask``, ``loss_dice``, ``..._<i>``
            auxiliary terms, ``cardinality_error`` unweighted) and ``"loss"`` itself, averaged over
            processes under DDP.
        lr, lr_backbone: learning rates after this step's scheduler update (``lr_backbone`` is
            0 when the backbone is frozen in this stage).
        grad_norm: gradient norm before clipping.
        images_per_s: training throughput (all processes together), smoothed over recent steps.
        elapsed_s: since the run (or the resumed part of it) started; eta_s: estimate to the end.
    """

    epoch: int
    epoch_step: int
    steps_per_epoch: int
    step: int
    stage: str
    losses: dict[str, float]
    lr: float
    lr_backbone: float
    grad_norm: float
    images_per_s: float
    elapsed_s: float
    eta_s: float
    kind: str = "step"


@dataclass(frozen=True)
class EpochRecord:
    """End of an epoch: mean losses, time, where its checkpoint went.

    Fields: ``epoch``, ``step``, ``stage``, ``losses`` (means over the epoch's steps), ``images``
    (trained on in this epoch, all processes), ``seconds``, ``checkpoint`` (path of
    ``last.pt``; "" when this process writes none), ``truncated`` (ended early by
    ``epoch_max_minutes``).
    """

    epoch: int
    step: int
    stage: str
    losses: dict[str, float]
    images: int
    seconds: float
    checkpoint: str = ""
    truncated: bool = False
    kind: str = "epoch"


@dataclass(frozen=True)
class EvalRecord:
    """Validation after an epoch (``core.evaluation``'s PQ accumulator, panopticapi's numbers).

    Fields: ``epoch``, ``step``, ``pq``/``sq``/``rq`` (all categories), ``pq_things``,
    ``pq_stuff`` — fractions in [0, 1] like panopticapi's ``pq_compute`` returns them (its table
    prints them x100), NaN for a group without any category seen —, ``per_class``
    (``{category name: {"pq", "sq", "rq", "tp", "fp", "fn"}}``; thin classes seen in the photos
    add ``cl_precision``, ``cl_recall``, ``cl_f1``, ``cl_iou``: their centreline measures at the
    evaluation size, ``core.evaluation.thin``), ``images`` evaluated,
    ``seconds``, ``best`` (the best PQ so far: ``best.pt`` holds these weights).
    """

    epoch: int
    step: int
    pq: float
    sq: float
    rq: float
    pq_things: float
    pq_stuff: float
    per_class: dict[str, dict[str, float]]
    images: int
    seconds: float
    best: bool = False
    kind: str = "eval"


@dataclass(frozen=True)
class SummaryRecord:
    """The last record of every run that was not stopped by an error.

    Fields: ``status`` (``finished`` | ``cancelled`` | ``time_limit``), ``epochs_done`` (complete
    epochs), ``steps``, ``elapsed_s``, ``last_checkpoint`` (resumable), ``best_checkpoint`` and
    ``best_pq`` / ``best_epoch`` ("" / NaN / 0 without evaluation), ``final_losses`` (means of the
    last epoch), ``output_dir``, ``device``.
    """

    # Alike in shape only to the other records' field lists (name: type): each is the schema of
    # its own kind of line in ``metrics.jsonl``.
    status: str
    epochs_done: int
    steps: int
    elapsed_s: float
    last_checkpoint: str
    best_checkpoint: str
    best_pq: float
    best_epoch: int
    final_losses: dict[str, float]
    output_dir: str
    device: str
    kind: str = "summary"


ProgressRecord = StatusRecord | StepRecord | EpochRecord | EvalRecord | SummaryRecord
RECORD_TYPES = {c.__dataclass_fields__["kind"].default: c
                for c in (StatusRecord, StepRecord, EpochRecord, EvalRecord, SummaryRecord)}


def _plain(v: Any) -> Any:
    """JSON-safe: NaN/inf become None (JSON has no NaN), nested dicts converted."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def record_to_dict(rec: ProgressRecord) -> dict[str, Any]:
    d = _plain(asdict(rec))
    return {"kind": d.pop("kind"), **d}


def record_from_dict(d: dict[str, Any]) -> ProgressRecord:
    """Inverse of ``record_to_dict`` (None read back as NaN for float fields)."""
    d = dict(d)
    cls = RECORD_TYPES[d.pop("kind")]
    for name, f in cls.__dataclass_fields__.items():
        if f.type == "float" and d.get(name) is None:
            d[name] = math.nan
        elif isinstance(d.get(name), dict):
            d[name] = _nan_back(d[name])
    return cls(**d)


def _nan_back(x: Any) -> Any:
    """None inside the loss / per-class dicts was a NaN."""
    if isinstance(x, dict):
        return {k: _nan_back(v) for k, v in x.items()}
    return math.nan if x is None else x


@dataclass
class MetricsFile:
    """``metrics.jsonl``: appended one line per record, flushed at once (a crash loses at most
    the line being written; ``read`` skips a half-written last line)."""

    path: Path
    _fh: Any = field(default=None, repr=False)

    def append(self, rec: ProgressRecord) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(json.dumps(record_to_dict(rec), ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    @staticmethod
    def read(path: str | Path) -> list[ProgressRecord]:
        out: list[ProgressRecord] = []
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            try:
                out.append(record_from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                continue  # a line cut by a crash
        return out

    def truncate_after(self, step: int) -> None:
        """Keep only records up to optimizer step ``step`` (resuming from a checkpoint taken
        there: the steps run after it will be logged again). Atomic rewrite."""
        self.close()
        kept = [r for r in self.read(self.path) if getattr(r, "step", 0) <= step and r.kind != "summary"]
        atomic_write_text(self.path, "".join(json.dumps(record_to_dict(r), ensure_ascii=False) + "\n"
                                             for r in kept))


def iter_kind(records: Iterable[ProgressRecord], kind: str) -> list[ProgressRecord]:
    return [r for r in records if r.kind == kind]


def write_run_file(path: Path, train_config, model_config, categories, train: tuple, val: tuple, device: str,
                   processes: int, resumed_from: Path | None) -> None:
    """``run.json``: what a run trains (configs, categories), on what (``train`` and ``val`` as
    (source, dataset) pairs; ``val`` may be (None, None)), where, and the photos left out."""
    (train_src, train_ds), (val_src, val_ds) = train, val
    atomic_write_text(path, json.dumps({
        "train_config": train_config.to_dict(), "model_config": model_config.to_dict(),
        "categories": categories.to_json(), "train_data": train_src.name,
        "train_images": len(train_ds), "val_data": val_src.name if val_src is not None else "",
        "val_images": len(val_ds) if val_ds is not None else 0,
        "left_out": {**train_ds.failures, **(val_ds.failures if val_ds else {})},
        "device": device, "processes": processes, "resumed_from": str(resumed_from or "")},
        indent=2, ensure_ascii=False))
