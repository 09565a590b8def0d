"""``run_demo``: the whole product headless, on synthetic photos, in one folder.

    result = run_demo(workdir, minutes=3, n_train=120, n_val=30)

Stages, each an ordinary library call (nothing here re-implements one of them):

1. **data**: ``write_coco_dataset`` makes ``n_train + n_val`` photos with their truth, the held-out
   ones in a ``val`` split (``workdir/data``).
2. **import**: ``dataset_to_project`` makes a project of them (``workdir/demo.pinspect``); the
   split comes along, so the held-out photos are the project's validation photos.
3. **train**: the ``cpu_fast`` preset on the project's training photos with ``Trainer`` for
   ``minutes`` (the cosine schedule follows that budget), registered in the project as the
   application registers a run (``register_run`` / ``follow_record``), then set active.
4. **predict + evaluate**: ``evaluate_project`` runs the trained model once over the held-out photos,
   stores each prediction in the project (what ``predict_images`` stores, re-thresholdable in the
   application) and measures PQ / SQ / RQ and COCO AP against their truth.
5. **export**: ``export_project`` writes the project as COCO panoptic (``workdir/export``).

Progress: ``say(text)`` once at the start of each stage (``"<stage>: what it does"``) and
``progress(done, total, message)`` within it; training reports seconds of its budget. ``cancel``
(``is_set()``) stops the stage in progress; ``CancelledError`` then names the stage, and what was
written so far stays in ``workdir``. Nothing here prints.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from collections.abc import Callable, Iterator

from core.atomic import atomic_write_text
from core.errors import CancelledError, DatasetError, TrainingError
from core.progress import CancelFlag, ProgressFn
from core.synthetic.writer import SizeRange, SizeSpec

if TYPE_CHECKING:
    from core.evaluation.project_eval import ProjectEvaluation
    from core.training.config import TrainConfig
    from core.training.records import SummaryRecord

log = logging.getLogger(__name__)

SayFn = Callable[[str], None]




#: Photo size of the demo data: the range the ``cpu_fast`` preset trains at (longer side, px).
DEFAULT_SIZE = SizeRange(256, 320)
#: The training preset and the threshold the held-out photos are predicted and evaluated at (the
#: application's default slider position).
PRESET, THRESHOLD = "cpu_fast", 0.5
PROJECT_NAME, FIGURES_FILE = "demo.pinspect", "figures.json"
#: Epochs never end a demo run: the time budget does, so the cosine schedule spans the budget.
_EPOCHS = 10_000


@dataclass(frozen=True)
class StageTime:
    """Wall time of one stage, with one line of what it did."""

    name: str
    seconds: float
    detail: str


@dataclass
class DemoResult:
    """What ``run_demo`` made and measured. ``evaluation`` holds every figure (``pq``: All /
    Things / Stuff / per class; ``coco``: box and mask AP); the paths say where things are."""

    workdir: Path
    dataset_dir: Path
    project_path: Path
    run_dir: Path
    checkpoint: Path
    export_dir: Path
    figures_path: Path
    model_id: int
    n_train: int
    n_val: int
    size: SizeSpec
    training: SummaryRecord
    evaluation: ProjectEvaluation
    stages: list[StageTime] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.stages)

    def to_json(self) -> dict:
        """Every figure and path, plain JSON (what ``figures.json`` holds)."""
        t = self.training
        return {"photos": {"train": self.n_train, "held_out": self.n_val, "size": _size_words(self.size)},
                "training": {"preset": PRESET, "status": t.status, "epochs": t.epochs_done, "steps": t.steps,
                             "seconds": round(t.elapsed_s, 1), "device": t.device},
                "evaluation": self.evaluation.to_json(),
                "stages": [{"name": s.name, "seconds": round(s.seconds, 2), "detail": s.detail} for s in self.stages],
                "total_seconds": round(self.total_seconds, 2),
                "paths": {k: str(getattr(self, k)) for k in ("workdir", "dataset_dir", "project_path", "run_dir",
                                                            "checkpoint", "export_dir", "figures_path")}}

    def lines(self) -> list[str]:
        """The figures for people: the PQ table (panopticapi's layout, per class), COCO AP, the
        time of each stage and where everything was written."""
        from core.evaluation.tables import format_pq_table

        ev, t = self.evaluation, self.training
        out = [f"trained {PRESET} on {self.n_train} synthetic photos ({_size_words(self.size)} px) for "
               f"{t.elapsed_s / 60:.1f} min on {t.device}: {t.epochs_done} epochs, {t.steps} steps",
               f"held-out photos: {len(ev.photos)}, predicted at confidence {ev.threshold:.2f}", "",
               format_pq_table(ev.pq, per_class=True)]
        if ev.coco is not None:
            box, mask = ev.coco.stats("bbox"), ev.coco.stats("segm")
            out += ["", f"things, COCO AP: boxes {100 * box['AP']:.1f} (AP50 {100 * box['AP50']:.1f}), "
                        f"masks {100 * mask['AP']:.1f} (AP50 {100 * mask['AP50']:.1f})"]
        for _id, name, why in ev.skipped:
            out.append(f"skipped {name}: {why}")
        out += ["", "wall time of each stage:"]
        out += [f"  {s.name:<18s} {s.seconds:7.1f} s   {s.detail}" for s in self.stages]
        out += [f"  {'total':<18s} {self.total_seconds:7.1f} s", "", "written:",
                f"  photos and truth   {self.dataset_dir}",
                f"  project            {self.project_path}",
                f"  model              {self.checkpoint}",
                f"  COCO panoptic      {self.export_dir}",
                f"  figures (JSON)     {self.figures_path}"]
        return out


def _size_words(size: SizeSpec) -> str:
    if isinstance(size, SizeRange):
        return f"{size.min_side}-{size.max_side}"
    if isinstance(size, tuple):
        return f"{size[0]}x{size[1]}"
    return str(size)


def demo_train_config(minutes: float, *, seed: int = 0, threads: int = 0) -> TrainConfig:
    """The ``cpu_fast`` preset for ``minutes`` of training: no evaluation during the run (the demo
    evaluates afterwards, on the held-out photos) and predictions at the size it trained at."""
    from core.training.config import get_train_preset

    base = get_train_preset(PRESET)
    return base.replace(epochs=_EPOCHS, max_minutes=float(minutes), eval_every=0, eval_size=base.max_size,
                        eval_threshold=THRESHOLD, seed=seed, cpu_threads=threads)


class _Stages:
    """Times the stages and turns a cancel inside one into a ``CancelledError`` naming it."""

    def __init__(self, workdir: Path, say: SayFn):
        self.workdir, self.say = workdir, say
        self.times: list[StageTime] = []

    def run(self, name: str, words: str, fn: Callable[[], tuple[object, str]]):
        self.say(f"{name}: {words}")
        start = time.monotonic()
        try:
            value, detail = fn()
        except CancelledError as e:
            raise CancelledError(f"the demo was cancelled while it was at '{name}' ({e.reason})", self.workdir) from e
        self.times.append(StageTime(name, time.monotonic() - start, detail))
        log.info("demo stage %s: %.1f s (%s)", name, self.times[-1].seconds, detail)
        return value


def run_demo(workdir: str | Path, *, minutes: float = 3.0, n_train: int = 120, n_val: int = 30,
             size: SizeSpec = DEFAULT_SIZE, seed: int = 0, threads: int = 0, threshold: float = THRESHOLD,
             progress: ProgressFn | None = None, say: SayFn | None = None,
             cancel: CancelFlag | None = None) -> DemoResult:
    """Run the demo pipeline (module docstring) in ``workdir`` and return its figures.

    Args:
        workdir: a new or empty folder; everything is written under it.
        minutes: the training budget.
        n_train, n_val: training and held-out photos.
        size: photo size (``core.synthetic.writer.SizeSpec``).
        seed: of the data and the training.
        threads: torch CPU threads for training and prediction (0: ``core.demo.threads.idle_cores()``).
        threshold: confidence threshold of the stored predictions and of the evaluation.
    Raises:
        DatasetError: ``workdir`` holds files already (nothing is touched).
        CancelledError: ``cancel`` was set; the message names the stage.
        TrainingError: the training saved no checkpoint.
        ValueError: a budget or count out of range.
    """
    if not minutes > 0 or not math.isfinite(minutes):
        raise ValueError(f"minutes must be positive, got {minutes}")
    if n_train < 1 or n_val < 1:
        raise ValueError(f"the demo needs training and held-out photos, got {n_train} and {n_val}")
    from core.inference.result import DEFAULT_MIN_THRESHOLD

    if not DEFAULT_MIN_THRESHOLD <= threshold < 1:  # checked now, not after minutes of training
        raise ValueError(f"threshold {threshold} is outside [{DEFAULT_MIN_THRESHOLD}, 1)")
    workdir = Path(workdir)
    if workdir.exists() and (not workdir.is_dir() or any(workdir.iterdir())):
        raise DatasetError("the demo's folder must be new or empty; it was left as it is", workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    progress = progress or (lambda done, total, message: None)
    stages = _Stages(workdir, say or (lambda text: None))
    n = n_train + n_val
    data_dir, project_path, export_dir = workdir / "data", workdir / PROJECT_NAME, workdir / "export"

    def make_data():
        from core.synthetic.writer import write_coco_dataset

        summary = write_coco_dataset(data_dir, n, seed, size, progress, cancel, val_fraction=n_val / n, workers=2)
        return summary, f"{summary.images} photos, {sum(summary.segments.values())} segments"

    stages.run("make data", f"{n} synthetic photos ({_size_words(size)} px) with their truth", make_data)

    def make_project():
        from core.demo.sample_project import dataset_to_project

        dataset_to_project(project_path, data_dir, progress, cancel)
        return None, f"{n} photos annotated, {n_val} in the val split"

    stages.run("import", "a project of them (the held-out photos are its val split)", make_project)
    from core.demo.threads import torch_threads
    from core.project import Project

    with Project.open(project_path) as project, torch_threads(threads) as n_threads:
        config = demo_train_config(minutes, seed=seed, threads=n_threads)
        model_id, run_dir, summary = stages.run(
            "train", f"{PRESET} for {minutes:g} min on the {n_train} training photos",
            lambda: _train(project, config, progress, cancel))
        ev = stages.run("predict + evaluate", f"the trained model on the {n_val} held-out photos",
                        lambda: _predict_and_evaluate(project, model_id, threshold, progress, cancel))
        stages.run("export", "the project as COCO panoptic", lambda: _export(project, export_dir, progress, cancel))
        checkpoint = project.models.get(model_id).checkpoint
    assert checkpoint is not None  # _train raised TrainingError when the training saved none
    result = DemoResult(workdir, data_dir, project_path, run_dir, checkpoint, export_dir, workdir / FIGURES_FILE,
                        model_id, n_train, n_val, size, summary, ev, stages.times)
    atomic_write_text(result.figures_path, json.dumps(result.to_json(), indent=1, allow_nan=False))
    return result


def _train(project, config: TrainConfig, progress: ProgressFn, cancel: CancelFlag | None):
    """Train on the project as the application does (registered run, records followed); the
    model becomes the project's active one. Returns ``(model id, run folder, summary record)``."""
    from core.project.active_model import set_active_model
    from core.training import project_models as pm

    run_dir = pm.new_run_dir(project)
    model_id = pm.register_run(project, run_dir, config, PRESET, name=f"demo {PRESET}")
    try:
        summary = _drive(_trainer_records(project.path, config, run_dir, cancel), project, model_id,
                         config.max_minutes * 60, progress)
    except BaseException as e:
        pm.mark_failed(project, model_id, getattr(e, "reason", None) or str(e) or type(e).__name__)
        raise
    if summary.status == "cancelled":
        kept = f"its checkpoint {summary.last_checkpoint} can be resumed" if summary.last_checkpoint else \
            "before its first checkpoint"
        raise CancelledError(f"training stopped after {summary.steps} steps, {kept}")
    if project.models.get(model_id).checkpoint is None:
        raise TrainingError("the training saved no checkpoint", run_dir, hint="give it more minutes")
    set_active_model(project, model_id)
    detail = f"{summary.epochs_done} epochs, {summary.steps} steps on {summary.device}"
    return (model_id, run_dir, summary), detail


def _trainer_records(project_path: Path, config: TrainConfig, run_dir: Path, cancel) -> Iterator:
    """The ``Trainer``'s records on the project's training photos; its read-only handle on the
    project is closed afterwards. No validation source: the demo evaluates after training."""
    from core.data.project_source import release_handles
    from core.data.sources import open_sources
    from core.training import Trainer

    train_src, _val = open_sources(project_path)
    try:
        yield from Trainer(config, train_src, run_dir, cancel=cancel).run()
    finally:
        release_handles()


def _drive(records: Iterator, project, model_id: int, budget_s: float, progress: ProgressFn) -> SummaryRecord:
    from core.training import project_models as pm

    total = max(1, int(round(budget_s)))
    summary = None
    for rec in records:
        pm.follow_record(project, model_id, rec)  # epochs, checkpoint, end: as the application's registry
        if rec.kind == "status" and rec.phase == "cache" and rec.total:
            progress(rec.done, rec.total, rec.message)
        elif rec.kind == "step":
            progress(min(int(rec.elapsed_s), total), total,
                     f"epoch {rec.epoch}, step {rec.step}, loss {rec.losses['loss']:.2f}")
        elif rec.kind == "summary":
            summary = rec
    if summary is None:
        raise TrainingError("the training ended without a summary")
    progress(total, total, f"{summary.steps} steps")
    return summary


def _predict_and_evaluate(project, model_id: int, threshold: float, progress: ProgressFn,
                          cancel: CancelFlag | None):
    """One pass of the network over the held-out photos: each prediction is stored in the project
    (``model_id``) and compared with the truth. Predicting first and evaluating after would run
    the network twice for the same numbers."""
    from core.evaluation.project_eval import evaluate_project, evaluation_photos
    from core.inference.project_model import load_project_predictor

    predictor = load_project_predictor(project, model_id)
    photos = evaluation_photos(project, "val")
    ev = evaluate_project(project, predictor, [p.id for p in photos], threshold=threshold, model_id=model_id,
                          coco_ap=True, progress=progress, cancel=cancel)
    return ev, f"{len(ev.photos)} photos predicted and stored, PQ {100 * ev.pq.all.pq:.1f}"


def _export(project, dest: Path, progress: ProgressFn, cancel: CancelFlag | None):
    from core.formats.project_io import export_project

    summary = export_project(project, "coco-panoptic", dest, project_splits=True, progress=progress, cancel=cancel)
    words = ", ".join(f"{split} {k}" for split, k in summary.splits.items())
    return summary, f"{words} photos, {sum(summary.segments.values())} segments"
