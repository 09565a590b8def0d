"""``train``: train a DETR panoptic model on a project or a COCO panoptic dataset.

    python main.py train data/panoptic_train.json --max-minutes 20 --out runs/r1    # cpu_fast, on a CPU
    python main.py train data/panoptic_train.json --resume runs/r1          # continue that run
    torchrun --nproc_per_node=4 main.py train data.json --preset detr_r50 --init detr-r50.pth

A progress bar per epoch on stderr, one line per evaluation, a summary at the end. The output
folder gets last.pt / best.pt, metrics.jsonl (one JSON record per line), run.json, summary.json.
The first Ctrl-C stops after the current step with a resumable checkpoint; a second one aborts.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.commands.options import count, fraction, positive

if TYPE_CHECKING:
    from core.commands.progress import ProgressBar
    from core.data.sources import DataSource
    from core.training.config import TrainConfig
    from core.training.records import ProgressRecord, SummaryRecord
    from core.training.trainer import Trainer

Say = Callable[[str], None]


#: CLI option -> TrainConfig field, for the options that override the preset (None: not given).
_OVERRIDES = {
    "model": "model_preset", "stage": "stage", "epochs": "epochs", "mask_epochs": "mask_epochs",
    "batch_size": "batch_size", "min_size": "min_size", "max_size": "max_size", "eval_size": "eval_size",
    "lr": "lr", "lr_backbone": "lr_backbone", "weight_decay": "weight_decay", "clip": "clip_grad_norm",
    "schedule": "lr_schedule", "lr_drop_epoch": "lr_drop_epoch", "warmup": "warmup_steps",
    "eval_every": "eval_every", "threshold": "eval_threshold", "seed": "seed", "device": "device",
    "amp": "amp", "workers": "num_workers", "init": "init_weights", "init_kind": "init_kind",
    "new_class_head": "new_class_head", "max_minutes": "max_minutes", "epoch_minutes": "epoch_max_minutes",
    "val_fraction": "val_fraction", "cache": "cache_images", "keep_every": "keep_every",
    "threads": "cpu_threads",
}


def register(sub: argparse._SubParsersAction) -> None:
    from core.training.config import DEVICES_HELP, INIT_KINDS, LR_SCHEDULES, STAGES

    p = sub.add_parser("train", help="train a DETR panoptic model",
                       description="Train a DETR panoptic model on a project file or a COCO panoptic dataset.")
    p.add_argument("data", help="a project file, or a COCO panoptic JSON (or its folder)")
    p.add_argument("--val", help="validation data (same categories); default: a project's val split, "
                                 "else --val-fraction of DATA")
    p.add_argument("--images", help="folder of the photos of a COCO dataset (default: found beside the JSON)")
    p.add_argument("--out", help="output folder (default: a project's runs go beside it, "
                                 "<project>_models/<date-time>, and are registered in it; a dataset's "
                                 "into runs/<date-time>)")
    p.add_argument("--preset", default=None,
                   help="training preset: cpu_fast (default: learns on a CPU in minutes), cpu_lite0 (the "
                        "same on EfficientNet-Lite0 ImageNet features), cpu_small (the published DETR recipe, "
                        "small), detr_r50 (fine-tuning the public weights, GPU), tiny; options below override it")
    p.add_argument("--config", help="a JSON file of TrainConfig fields, instead of a preset")
    p.add_argument("--resume", nargs="?", const="", default=None, metavar="RUN",
                   help="continue a run: its folder or checkpoint (default: --out); its settings are kept "
                        "unless overridden here")
    p.add_argument("--overwrite", action="store_true", help="start afresh in an output folder that holds a run")
    g = p.add_argument_group("model and stage")
    g.add_argument("--model", help="model preset (core.model PRESETS), e.g. cpu_fast, cpu_small, detr_r50")
    g.add_argument("--stage", choices=STAGES, help="what to train (default: joint)")
    g.add_argument("--epochs", type=count(1))
    g.add_argument("--mask-epochs", type=count(0), help="with --stage detection+masks: epochs of the masks stage")
    g.add_argument("--init", metavar="FROM",
                   help="where to start: 'random' (random weights), 'imagenet' (ImageNet features: the "
                        "EfficientNet-Lite0 preset cpu_lite0 unless --preset says otherwise), or a FILE (our "
                        "checkpoint, a public DETR checkpoint, an ImageNet state dict). Default: fine-tune the "
                        "project's active model, else the shipped model when the data shares a defect with it "
                        "(a thing category of the same name, e.g. crack), else the preset's own weights; class "
                        "rows of categories with the same name are kept, a new category gets a new row. With "
                        "--model, only a model of that config is fine-tuned")
    g.add_argument("--init-kind", choices=INIT_KINDS, help="what --init is (default: told by its content)")
    g.add_argument("--new-class-head", action="store_true", default=None,
                   help="fine-tune a checkpoint whose categories differ, with a new class head")
    g = p.add_argument_group("data")
    g.add_argument("--batch-size", type=count(1))
    g.add_argument("--min-size", type=count(32), help="smallest training size (longer side, px)")
    g.add_argument("--max-size", type=count(32), help="largest training size (longer side, px)")
    g.add_argument("--eval-size", type=count(32), help="evaluation size (default: --max-size)")
    g.add_argument("--val-fraction", type=fraction())
    g.add_argument("--workers", type=count(-1), help="data-loader processes (-1: automatic)")
    g.add_argument("--no-cache", dest="cache", action="store_false", default=None,
                   help="do not keep decoded photos in memory")
    g = p.add_argument_group("optimisation")
    g.add_argument("--lr", type=positive())
    g.add_argument("--lr-backbone", type=positive(allow_zero=True))
    g.add_argument("--weight-decay", type=positive(allow_zero=True))
    g.add_argument("--clip", type=positive(allow_zero=True), help="gradient clipping norm (0: off)")
    g.add_argument("--schedule", choices=LR_SCHEDULES)
    g.add_argument("--lr-drop-epoch", type=count(0))
    g.add_argument("--warmup", type=count(0), help="warm-up steps")
    g = p.add_argument_group("running")
    g.add_argument("--device", help=DEVICES_HELP)
    g.add_argument("--threads", type=count(1), help="CPU threads for torch (default: one per core)")
    g.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="mixed precision on a CUDA GPU and on a CPU that computes bfloat16 natively "
                        "(AVX512-BF16 or AMX); elsewhere it stays off (default: on)")
    g.add_argument("--eval-every", type=count(0), help="evaluate PQ every N epochs (0: never)")
    g.add_argument("--threshold", type=fraction(lower_open=True), help="confidence threshold of the evaluation")
    g.add_argument("--seed", type=int)
    g.add_argument("--max-minutes", type=positive(),
                   help="time budget in minutes. Without --epochs the run lasts the budget: it trains as many "
                        "epochs as fit, its learning-rate schedule (warm-up, then the cosine decay) follows "
                        "the minutes instead of the preset's epochs, and it ends evaluated, with a checkpoint; "
                        "on the way it saves and evaluates about once a minute rather than every epoch. "
                        "With --epochs it stops at whichever ends first (the cosine decays over whichever is "
                        "shorter). Not with --stage detection+masks, whose stage change is counted in epochs")
    g.add_argument("--epoch-minutes", type=positive(), help="end each epoch early after this long")
    g.add_argument("--keep-every", type=count(0), help="also keep epoch_NNN.pt every N epochs")
    p.set_defaults(func=run)


def _resume_path(args: argparse.Namespace) -> Path | None:
    if args.resume is None:
        return None
    target = Path(args.resume or args.out or "")
    if not str(target):
        from core.errors import TrainingError

        raise TrainingError("--resume needs the run's folder or checkpoint (or --out)")
    return target / "last.pt" if target.is_dir() else target


def build_config(args: argparse.Namespace, resume: Path | None, recipe: str | None = None) -> TrainConfig:
    """The TrainConfig: --config file, a resumed run's own settings, or a preset (``--preset``, else
    ``recipe``, else the default); then overrides."""
    from core.errors import InspectorError
    from core.training.config import DEFAULT_PRESET, TrainConfig, get_train_preset
    from core.training.start import IMAGENET_PRESET, INIT_IMAGENET, INIT_RANDOM

    word = args.init if args.init in (INIT_RANDOM, INIT_IMAGENET) else None
    try:
        if args.config:
            base = TrainConfig.from_dict(json.loads(Path(args.config).read_text(encoding="utf-8")))
        elif resume is not None and args.preset is None:
            from core.training.checkpointing import stored_train_config

            base = stored_train_config(resume)
        else:
            base = get_train_preset(args.preset or recipe
                                    or (IMAGENET_PRESET if word == INIT_IMAGENET else DEFAULT_PRESET))
        overrides = {field: getattr(args, opt) for opt, field in _OVERRIDES.items() if getattr(args, opt) is not None}
        if word is not None:  # no file: random weights, or the backbone's built-in ImageNet weights
            overrides.update(init_weights="", init_kind="none" if word == INIT_RANDOM else "imagenet")
        if "init_weights" in overrides and "init_kind" not in overrides and base.init_kind == "none":
            overrides["init_kind"] = "auto"
        config = base.replace(**overrides)
        if _follows_budget(args, resume, config):
            config = config.replace(follow_budget=True)
        return config
    except (OSError, json.JSONDecodeError) as e:
        raise InspectorError(f"cannot read the config: {e}", args.config) from e
    except ValueError as e:
        raise InspectorError(str(e)) from e


def _follows_budget(args: argparse.Namespace, resume: Path | None, config: TrainConfig) -> bool:
    """A new run given --max-minutes and no --epochs lasts its budget (a resumed run keeps how it
    was scheduled; the two-stage recipe's stage change needs epochs)."""
    return (args.max_minutes is not None and config.max_minutes > 0 and args.epochs is None and resume is None
            and config.stage != "detection+masks")


def _starts_by_default(args: argparse.Namespace, resume: Path | None) -> bool:
    """No start named (--init, --init-kind, --config, --resume): fine-tuning is the default."""
    return args.init is None and args.init_kind is None and resume is None and not args.config


def _default_start(config: TrainConfig, args: argparse.Namespace, train_src: DataSource, say: Say) -> TrainConfig:
    """``config`` starting from the project's active model, else the shipped model when the data
    shares a defect with it, else the preset's own weights (``core.training.start``); says which."""
    from core.demo.sample_model import demo_model_path
    from core.training.start import apply_start, default_start

    # a model named by the user (--model) is what they want: only a model of that config is
    # fine-tuned (a --preset is a recipe: a checkpoint's own model wins over its model, as with --init)
    named = None
    if args.model is not None:
        from core.model.config import get_preset

        named = get_preset(config.model_preset).to_dict()
    start = default_start(args.data, train_src.categories, demo_model_path(), named)
    say(start.words + ("; --init random or --init imagenet start afresh" if start.checkpoint is not None
                       else "; --init imagenet starts from ImageNet features"))
    if start.checkpoint is not None and args.preset is None and not args.config:
        from core.model.checkpoint import load_checkpoint
        from core.training.start import recipe_of

        recipe = recipe_of(load_checkpoint(start.checkpoint)["config"])
        if recipe is not None and recipe != config.model_preset:
            say(f"fine-tuning with the {recipe} recipe the model was made with (--preset names another)")
            config = build_config(args, None, recipe)
    return apply_start(config, start)


def run(args: argparse.Namespace) -> int:
    from core.commands.exit_codes import EXIT_CANCELLED
    from core.commands.progress import ProgressBar
    from core.errors import InspectorError
    from core.data.sources import open_source, open_sources
    from core.training import Trainer
    from core.training.distributed import DistContext, shutdown

    from core.commands.train_registry import RunRegistry, default_run_dir
    from core.data.sources import is_project_file
    from core.safety import check_output_folder

    resume = _resume_path(args)
    config = build_config(args, resume)
    data = Path(args.data)
    project = data if is_project_file(data) else None
    # a project's runs go beside it, as the window's do; a dataset's into ./runs/<date-time>
    out = Path(args.out) if args.out else (resume.parent if resume is not None else
                                           default_run_dir(project) if project is not None else
                                           Path("runs") / time.strftime("%Y%m%d-%H%M%S"))
    # a run folder may be new, empty, ours, or an earlier run (resumed or --overwrite); never data
    check_output_folder(out, [data, data.parent / "images" if data.suffix == ".pinspect" else None,
                              args.val, args.images, args.init], allow=("last.pt", "run.json"), kind="train")
    dist = DistContext.from_env(config.device)
    say: Say = (lambda text: print(text, file=sys.stderr, flush=True)) if dist.is_main else (lambda text: None)
    cancel = threading.Event()
    previous = _install_sigint(cancel, say)
    registry = RunRegistry(project, say) if project is not None and dist.is_main else None
    try:
        train_src, val_src = open_sources(args.data, args.images)
        if args.val:
            val_src = open_source(args.val)
        if train_src.skipped:
            say(f"note: {len(train_src.skipped)} photos not found and left out, e.g. {train_src.skipped[0]}")
        if _starts_by_default(args, resume):
            config = _default_start(config, args, train_src, say)
        trainer = Trainer(config, train_src, out, val_source=val_src, resume=resume, overwrite=args.overwrite,
                          cancel=cancel, dist=dist)
        if dist.is_main:
            from core.safety import mark_output_folder

            mark_output_folder(out, "train")
        if registry is not None:
            registry.start(out, config, args.preset or config.model_preset, resumed=resume is not None)
        summary = _drive(trainer, config, say, ProgressBar, dist.is_main,
                         on_record=registry.record if registry is not None else None)
    except InspectorError as e:
        if registry is not None:
            registry.failed(e.message())
        raise
    finally:
        signal.signal(signal.SIGINT, previous) if previous is not None else None
        shutdown()
    if dist.is_main:
        _print_summary(summary, out)
    return EXIT_CANCELLED if summary.status == "cancelled" else 0


def _install_sigint(cancel: threading.Event, say: Say) -> Any:
    """Ctrl-C asks the run to stop at a resumable checkpoint, a second one aborts; returns the
    handler it replaced (None off the main thread, where signals cannot be handled)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: object) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        say("\nstopping after this step with a resumable checkpoint (Ctrl-C again to abort)")

    return signal.signal(signal.SIGINT, handler)


def _drive(trainer: Trainer, config: TrainConfig, say: Say, progress_bar: Callable[[str], ProgressBar], main: bool,
           on_record: Callable[[ProgressRecord], None] | None = None) -> SummaryRecord:
    """Turn the trainer's records into bars and lines (and ``on_record(rec)`` each, e.g. the
    project's registry); returns the summary record."""
    from core.errors import TrainingError
    from core.training.records import EpochRecord, EvalRecord, StatusRecord, StepRecord, SummaryRecord

    bar: ProgressBar | None = None
    cache_bar: ProgressBar | None = None
    bar_epoch = None
    summary = None
    for rec in trainer.run():
        if on_record is not None:
            on_record(rec)
        if isinstance(rec, StatusRecord):
            if rec.phase == "cache":
                if main and rec.total:
                    if rec.done == 0 or cache_bar is None:
                        cache_bar = progress_bar(rec.message)
                    cache_bar(rec.done, rec.total)
            elif rec.phase not in ("eval", "checkpoint"):
                say(rec.message)
        elif isinstance(rec, StepRecord) and main:
            if bar is None or bar_epoch != rec.epoch:
                of = "" if config.follow_budget else f"/{config.epochs}"  # a budget has no last epoch
                bar, bar_epoch = progress_bar(f"epoch {rec.epoch}{of} {rec.stage}"), rec.epoch
            bar(rec.epoch_step, rec.steps_per_epoch,
                f"loss {rec.losses['loss']:.3f}, {rec.images_per_s:.1f} img/s, run {_hms(rec.eta_s)} left")
        elif isinstance(rec, EpochRecord):
            bar = None
            if rec.truncated:
                why = "the time budget" if config.follow_budget and not config.epoch_max_minutes else "--epoch-minutes"
                say(f"epoch {rec.epoch} ended early ({why})")
        elif isinstance(rec, EvalRecord):
            say(f"epoch {rec.epoch}: PQ {100 * rec.pq:.1f} (SQ {100 * rec.sq:.1f}, RQ {100 * rec.rq:.1f}; "
                f"things {100 * rec.pq_things:.1f}, stuff {100 * rec.pq_stuff:.1f}) on {rec.images} photos"
                + "".join(f"; {name} centreline F1 {100 * m['cl_f1']:.1f}" for name, m in rec.per_class.items()
                          if "cl_f1" in m)
                + ("  best so far" if rec.best else ""))
        elif isinstance(rec, SummaryRecord):
            summary = rec
    if summary is None:  # the trainer ends every run it does not abort with an error by a summary
        raise TrainingError("the training run ended without its summary")
    return summary


def _hms(seconds: float) -> str:
    if seconds != seconds:
        return "--:--"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _print_summary(rec: SummaryRecord, out: Path) -> None:
    words = {"finished": "finished", "cancelled": "stopped on request", "time_limit": "stopped at the time limit"}
    print(f"{words.get(rec.status, rec.status)}: {rec.epochs_done} epochs, {rec.steps} steps in "
          f"{_hms(rec.elapsed_s)} on {rec.device}")
    if rec.final_losses:
        terms = ", ".join(f"{k.replace('loss_', '')} {v:.3f}" for k, v in rec.final_losses.items()
                          if k.startswith("loss_") and not k[-1].isdigit())
        print(f"last epoch's losses: {rec.final_losses.get('loss', float('nan')):.3f} ({terms})")
    if rec.best_checkpoint:
        print(f"best model: {rec.best_checkpoint} (PQ {100 * rec.best_pq:.1f} at epoch {rec.best_epoch})")
    if rec.last_checkpoint:
        print(f"last checkpoint: {rec.last_checkpoint}"
              + ("" if rec.status == "finished" else f"  (continue with: --resume {out})"))
    print(f"metrics: {out / 'metrics.jsonl'}")
