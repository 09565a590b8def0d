"""Training runs as models of a project: registering a run, following its records, and telling
afterwards whether it finished, stopped or was interrupted.

A run is registered (``project.models``) when it starts, so it is in the project even when the
program dies mid-run. Its ``training`` JSON holds what the Models panel shows and what resuming
needs (``RunInfo`` reads it back). The checkpoint the model points to is ``best.pt`` when the run
evaluated, else ``last.pt``. Nothing here imports torch.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Collection

from core.project import paths
from core.project.schema import now_iso
from core.training.config import TrainConfig

if TYPE_CHECKING:
    from core.project import ModelRecord, Project
    from core.training.records import ProgressRecord

RUNNING, FINISHED, CANCELLED, TIME_LIMIT, FAILED, INTERRUPTED = (
    "running", "finished", "cancelled", "time_limit", "failed", "interrupted")
#: Statuses a run can be resumed from (when its ``last.pt`` exists).
RESUMABLE = (CANCELLED, TIME_LIMIT, FAILED, INTERRUPTED)
STATUS_WORDS = {RUNNING: "training", FINISHED: "finished", CANCELLED: "stopped", TIME_LIMIT: "time limit",
                FAILED: "failed", INTERRUPTED: "interrupted"}
SUMMARY_FILE, RUN_FILE = "summary.json", "run.json"
#: ``core.training.checkpointing.LAST`` / ``BEST``, repeated so this module stays free of torch
#: (the window imports it; torch loads only when a model is needed).
LAST, BEST = "last.pt", "best.pt"


def runs_folder(project: Project) -> Path:
    """Where a project's training runs go by default: ``<project>_models/`` beside the file."""
    return project.folder / f"{project.path.stem}_models"


def new_run_dir(project: Project) -> Path:
    """A fresh folder name under ``runs_folder`` (date and time, numbered when taken)."""
    base = runs_folder(project) / time.strftime("%Y%m%d-%H%M%S")
    out, n = base, 2
    while out.exists():
        out, n = base.with_name(f"{base.name}-{n}"), n + 1
    return out


@dataclass(frozen=True)
class RunInfo:
    """The training part of a ``ModelRecord``, read for people and for resuming.

    ``output_dir`` is found again like photos are (relative to the project first, then absolute).
    ``pq`` is the best validation PQ as a fraction, NaN when there was no evaluation.
    ``epochs`` is the run's epoch count, 0 for a run that lasts its time budget (``follow_budget``:
    as many epochs as fit).
    """

    status: str
    preset: str
    stage: str
    epochs: int
    epochs_done: int
    pq: float
    output_dir: Path | None
    device: str
    error: str
    started_at: str

    @property
    def last_checkpoint(self) -> Path | None:
        return None if self.output_dir is None else self.output_dir / LAST

    @property
    def resumable(self) -> bool:
        last = self.last_checkpoint
        return self.status in RESUMABLE and last is not None and last.is_file()

    @property
    def status_words(self) -> str:
        return STATUS_WORDS.get(self.status, self.status or "imported")


def run_info(project: Project, model: ModelRecord) -> RunInfo:
    t = model.training or {}
    out = None
    if t.get("output_abs") or t.get("output_rel"):
        cands = paths.candidates(project.folder, t.get("output_rel"), t.get("output_abs"))
        out = next((p for p in cands if p.is_dir()), cands[0])
    elif model.checkpoint is not None:
        out = model.checkpoint.parent
    pq = t.get("best_pq")
    cfg = t.get("train_config") or {}
    return RunInfo(str(t.get("status", "")), str(t.get("preset", "")), str(cfg.get("stage", "")),
                   0 if cfg.get("follow_budget") else int(cfg.get("epochs", 0) or 0), int(t.get("epochs_done", 0) or 0),
                   float(pq) if isinstance(pq, (int, float)) else math.nan, out, str(t.get("device", "")),
                   str(t.get("error", "")), str(t.get("started_at", model.created_at)))


def register_run(project: Project, output_dir: Path, config: TrainConfig, preset: str,
                 model_config: dict | None = None, name: str | None = None) -> int:
    """Register a starting run as a model of ``project``; returns the model id.

    ``model_config``: the model's ``ModelConfig.to_dict()`` when known; by default
    ``{"model_preset": name}`` until the first epoch, when the run's exact config replaces it.
    """
    model_config = model_config or {"model_preset": config.model_preset}
    rel, absolute = paths.to_stored(project.folder, output_dir)
    training = {"status": RUNNING, "preset": preset, "train_config": config.to_dict(), "epochs_done": 0,
                "best_pq": None, "output_rel": rel, "output_abs": absolute, "started_at": now_iso(),
                "device": "", "error": ""}
    name = name or f"{preset} {time.strftime('%Y-%m-%d %H:%M')}"
    return project.models.add(name, checkpoint=None, config=model_config, categories=project.categories.get(),
                              training=training)


def _update_training(project: Project, model_id: int, **changes: Any) -> dict:
    training = dict(project.models.get(model_id).training)
    training.update(changes)
    project.models.update(model_id, training=training)
    return training


def mark_running(project: Project, model_id: int) -> None:
    """A run resumes: running again, the previous error forgotten."""
    _update_training(project, model_id, status=RUNNING, error="")


def follow_record(project: Project, model_id: int, rec: ProgressRecord) -> None:
    """Bring the registry up to date with one record of the run (epochs, PQ, checkpoint, end).

    Step records change nothing (too frequent to write); epoch and evaluation records add
    metric curves (``train/<loss term>``, ``val/PQ`` ... as percentages at each epoch).
    """
    # the classes stand for ``rec.kind`` ("epoch", "eval", "status", "summary"), one class per kind
    from core.training.records import EpochRecord, EvalRecord, StatusRecord, SummaryRecord

    if isinstance(rec, EpochRecord):
        terms = {f"train/{k}": v for k, v in rec.losses.items() if not k[-1].isdigit()}
        project.models.log_metrics(model_id, rec.epoch, terms)
        config = None
        if rec.checkpoint and "backbone" not in project.models.get(model_id).config:
            config = _model_config_of_run(Path(rec.checkpoint).parent)
        if rec.checkpoint:
            project.models.update(model_id, checkpoint=_best_or(rec.checkpoint), config=config)
        _update_training(project, model_id, epochs_done=rec.epoch)
    elif isinstance(rec, EvalRecord):
        project.models.log_metrics(model_id, rec.epoch, {"val/PQ": 100 * rec.pq, "val/SQ": 100 * rec.sq,
                                                         "val/RQ": 100 * rec.rq, "val/PQ_things": 100 * rec.pq_things,
                                                         "val/PQ_stuff": 100 * rec.pq_stuff,
                                                         "val/images": rec.images})
        if rec.best and math.isfinite(rec.pq):
            _update_training(project, model_id, best_pq=rec.pq, best_epoch=rec.epoch)
    elif isinstance(rec, StatusRecord) and rec.phase == "prepare":
        _update_training(project, model_id, device=rec.message.removeprefix("training on "))
    elif isinstance(rec, SummaryRecord):
        apply_summary(project, model_id, _summary_dict(rec))


def _summary_dict(rec) -> dict:
    from core.training.records import record_to_dict

    return record_to_dict(rec)


def _model_config_of_run(output_dir: Path) -> dict | None:
    """The exact model config the trainer wrote into ``run.json`` (None when unreadable)."""
    try:
        return json.loads((output_dir / RUN_FILE).read_text(encoding="utf-8")).get("model_config")
    except (OSError, ValueError, AttributeError):
        return None


def _best_or(last: str) -> str:
    best = Path(last).with_name(BEST)
    return str(best) if best.is_file() else last


def apply_summary(project: Project, model_id: int, summary: dict) -> None:
    """The run ended (``summary.json`` as a dict): status, best PQ, checkpoint, exact model config."""
    pq = summary.get("best_pq")
    changes = {"status": summary.get("status", FINISHED), "epochs_done": int(summary.get("epochs_done", 0)),
               "best_pq": pq if isinstance(pq, (int, float)) and math.isfinite(pq) else None,
               "best_epoch": int(summary.get("best_epoch", 0) or 0), "finished_at": now_iso()}
    if summary.get("device"):
        changes["device"] = summary["device"]
    ckpt = summary.get("best_checkpoint") or summary.get("last_checkpoint")
    config = _model_config_of_run(Path(summary.get("output_dir", "")))  # None: the registered one stays
    if ckpt and Path(ckpt).is_file():
        project.models.update(model_id, checkpoint=ckpt, config=config)
    elif config:
        project.models.update(model_id, config=config)
    _update_training(project, model_id, **changes)


def mark_failed(project: Project, model_id: int, message: str) -> None:
    """The run stopped on an error: its message kept; the last checkpoint (if any) stays resumable."""
    model = project.models.get(model_id)
    info = run_info(project, model)
    if info.last_checkpoint is not None and info.last_checkpoint.is_file() and model.checkpoint is None:
        project.models.update(model_id, checkpoint=info.last_checkpoint)
    _update_training(project, model_id, status=FAILED, error=message)


def reconcile(project: Project, live: Collection[int] = frozenset()) -> list[int]:
    """Runs registered as running that are not (``live``): the program stopped while they ran.

    A ``summary.json`` newer than the registration settles the outcome; otherwise the run is
    marked ``interrupted`` (resumable from its ``last.pt`` when one was written). Returns the ids
    changed. Call it when a project opens.
    """
    changed = []
    for model in project.models.list():
        if model.id in live or (model.training or {}).get("status") != RUNNING:
            continue
        info = run_info(project, model)
        summary = None
        summary_path = info.output_dir / SUMMARY_FILE if info.output_dir is not None else None
        if summary_path is not None:
            try:
                summary = json.loads(summary_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                summary = None
        last = info.last_checkpoint
        if summary is not None and summary_path is not None and last is not None and last.is_file() and \
                summary_path.stat().st_mtime >= last.stat().st_mtime:
            apply_summary(project, model.id, summary)
        else:
            if last is not None and last.is_file() and model.checkpoint is None:
                project.models.update(model.id, checkpoint=last)
            _update_training(project, model.id, status=INTERRUPTED)
        changed.append(model.id)
    return changed
