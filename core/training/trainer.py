"""The training engine: one ``Trainer`` for the command line, the GUI and ``torchrun``.

    trainer = Trainer(config, open_source("data/panoptic_train.json"), "runs/r1", cancel=event)
    for record in trainer.run():        # StatusRecord, StepRecord, EpochRecord, EvalRecord, ...
        ...                             # the last one is a SummaryRecord (finished/cancelled/time_limit)

Faults end the iteration with a typed error (``TrainingError``, ``CheckpointError``,
``DatasetError``) after the last good checkpoint is safely on disk. Nothing here prints or exits.
Setup (``prepare``) and the loop (``run``) are separate so callers and tests can reach the built
model, criterion and loaders in between.
"""
from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from collections.abc import Callable, Generator, Iterator

import torch

from core.atomic import atomic_write_text
from core.data import DataSource, EpochBatchSampler
from core.device import autocast_for, memory_format_for
from core.errors import CancelledError, CheckpointError, TrainingError
from core.training import faults, setup
from core.training.checkpointing import (BEST, LAST, TrainState, keep_copies, restore_rng, save_training_checkpoint,
                                         state_from)
from core.training.config import TrainConfig
from core.training.distributed import DistContext, unwrap
from core.training.evaluate import eval_record, evaluate_pq
from core.training.optim import LRSchedule, StageFreezer, build_optimizer, build_scheduler
from core.training.records import (EpochRecord, EvalRecord, MetricsFile, ProgressRecord, StatusRecord,
                                   StepRecord, SummaryRecord, write_run_file)
from core.training.save_points import SavePoints
from core.training.step import backward_and_step, forward_losses, seed_everything

log = logging.getLogger(__name__)

METRICS_FILE, RUN_FILE, SUMMARY_FILE = "metrics.jsonl", "run.json", "summary.json"


class Trainer:
    """Trains a DETR panoptic model on a ``DataSource``.

    Args:
        config: how to train (``TrainConfig``).
        train_source: training data. Without ``val_source``, ``config.val_fraction`` of it is
            held out (deterministically by ``config.seed``) when evaluation is on.
        output_dir: gets ``last.pt``, ``best.pt``, ``metrics.jsonl``, ``run.json``, ``summary.json``.
        val_source: validation data (same categories).
        model_config: overrides the preset and an initial checkpoint's config (weights load where they fit).
        resume: a checkpoint to continue from (``last.pt`` of an earlier run); the loss curve
            continues exactly where it stopped when ``config`` and data are unchanged.
        overwrite: allow a fresh run in a folder that already holds one (else ``TrainingError``).
        cancel: ``threading.Event``-like; when set, the run stops after the current step with a
            resumable checkpoint (status ``cancelled``).
        dist: the process's place in a ``torchrun`` group (default: a single process).
        evaluate_fn: replaces ``evaluate_pq`` (same signature), e.g. to evaluate differently.
        clock: seconds of a monotonic clock (``time.monotonic``); the time budget, the epoch
            limit and the time-driven learning rate read it (tests pass a fake one).
    """

    def __init__(self, config: TrainConfig, train_source: DataSource, output_dir: str | Path, *,
                 val_source: DataSource | None = None, model_config=None, resume: str | Path | None = None,
                 overwrite: bool = False, cancel=None, dist: DistContext | None = None,
                 evaluate_fn: Callable | None = None, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.train_source, self.val_source = train_source, val_source
        self.output_dir = Path(output_dir)
        self.model_config = model_config
        self.resume_path = Path(resume) if resume else None
        self.overwrite = overwrite
        self.cancel = cancel
        self.dist = dist or DistContext()
        self.evaluate_fn = evaluate_fn or evaluate_pq
        self._clock = clock
        self.prepared = False
        self.metrics: MetricsFile | None = None
        self._pending: list[ProgressRecord] = []  # records from before the metrics file opened
        self.last_checkpoint: str | None = None
        self.train_loader: torch.utils.data.DataLoader | None = None
        self.val_loader: torch.utils.data.DataLoader | None = None
        self.state = TrainState()
        self.device = torch.device("cpu")
        self.amp_dtype: torch.dtype | None = None  # mixed precision's dtype; None: float32
        self._t0, self._elapsed_before = clock(), 0.0
        self._last_epoch_losses: dict[str, float] = {}
        self._evaluated_step = -1  # the step of the last evaluation

    # --- setup ------------------------------------------------------------------------------------
    def prepare(self) -> Iterator[StatusRecord]:
        """Build everything: data split, model and initial weights, cached datasets, loaders,
        optimizer; restore a resumed run. Yields status records (photo decoding counts too)."""
        from core.device import amp_dtype_for, resolve_device

        cfg, main, out = self.config, self.dist.is_main, self.output_dir
        if cfg.cpu_threads > 0:
            torch.set_num_threads(cfg.cpu_threads)
        self.device = torch.device(self.dist.device_for(resolve_device(cfg.device)))
        self.amp_dtype = amp_dtype_for(self.device) if cfg.amp else None
        procs = f", {self.dist.world_size} processes" if self.dist.enabled else ""
        yield StatusRecord("prepare", f"training on {self._device_words()}{procs}")
        if self.resume_path is None and (out / LAST).exists() and not self.overwrite:
            raise TrainingError("the output folder already holds a training run", out,
                                hint="resume it (--resume) or choose another output folder (--out)")
        seed_everything(cfg.seed)
        train_src, val_src = setup.split_data(cfg, self.train_source, self.val_source)
        self.categories = train_src.categories

        choice = setup.choose_model(cfg, self.categories, self.resume_path, self.model_config)
        self.model_config = choice.config
        model, criterion, self.postprocessor, messages = setup.build_initialised_model(
            choice, self.categories, cfg, self.resume_path)
        for message in messages:
            yield StatusRecord("init", message)
        self.memory_format = memory_format_for(self.device)
        self.model = model.to(self.device).to(memory_format=self.memory_format)
        self.criterion = criterion.to(self.device)
        self.freezer = StageFreezer(self.model)

        self.train_ds, self.val_ds = setup.build_datasets(cfg, train_src, val_src, with_val=main)
        budget = cfg.cache_max_mb * 2**20
        yield from setup.preload(self.train_ds, "training", budget, self.cancel)
        if self.val_ds is not None:
            yield from setup.preload(self.val_ds, "validation", max(0, budget - self.train_ds.cached_bytes),
                                     self.cancel)
        workers, pin = setup.auto_workers(cfg, self.device), self.device.type == "cuda"
        self.train_sampler = EpochBatchSampler(len(self.train_ds), cfg.batch_size, seed=cfg.seed,
                                               rank=self.dist.rank, world_size=self.dist.world_size)
        self.train_loader = setup.make_loader(self.train_ds, self.train_sampler, workers, pin, cfg.seed)
        self.steps_per_epoch = self.train_sampler.num_batches()
        self.val_loader = None
        if self.val_ds is not None:
            self.val_loader = setup.make_loader(self.val_ds, EpochBatchSampler(
                len(self.val_ds), cfg.batch_size, seed=cfg.seed, shuffle=False, drop_last=False), workers, pin,
                cfg.seed)

        part = choice.resume_part
        self.state = state_from(part) if part is not None else TrainState(stage=cfg.stage_of_epoch(0))
        if self.state.epoch >= cfg.epoch_limit:
            raise TrainingError(f"the run already completed its {cfg.epochs} epochs", self.resume_path,
                                hint="raise --epochs to train longer")
        self._enter_stage(cfg.stage_of_epoch(self.state.epoch), self.state.epoch)
        if part is not None:
            yield from self._restore(part)
        elif self.dist.rank:
            torch.manual_seed(cfg.seed * 7919 + self.dist.rank * 104729)
        if main:
            self._open_output(resumed=part is not None, train_src=train_src, val_src=val_src)
        self.prepared = True

    def _restore(self, part: dict) -> Iterator[StatusRecord]:
        """Optimizer, scheduler, scaler and RNG of a resumed run (the weights are already in)."""
        stored_spe = part.get("train_config", {}).get("_steps_per_epoch")
        if stored_spe not in (None, self.steps_per_epoch):
            yield StatusRecord("warning", f"the data changed since the checkpoint ({stored_spe} -> "
                               f"{self.steps_per_epoch} steps per epoch): the loss curve will not continue exactly")
        # The optimizer saved belongs to the stage it trained (``state.stage``); when the run
        # stopped right at a stage change, the new stage starts with a fresh one, as it would have.
        if self.state.stage == self.stage:
            try:
                self.optimizer.load_state_dict(part["optimizer"])
                self.scheduler.load_state_dict(part["scheduler"])
                if part.get("scaler") and self.scaler.is_enabled():
                    self.scaler.load_state_dict(part["scaler"])
            except (ValueError, KeyError, RuntimeError) as e:
                raise CheckpointError(f"the optimizer state does not fit this run: {e}", self.resume_path) from e
        restore_rng(part["rng"])
        if self.dist.rank:  # each process its own dropout stream (rank 0 has the saved one)
            torch.manual_seed(self.config.seed * 7919 + self.dist.rank * 104729 + self.state.step)
        self.last_checkpoint = str(self.resume_path)
        yield StatusRecord("resume", f"resumed from {self.resume_path}: epoch {self.state.epoch + 1}, "
                           f"step {self.state.step}")

    def _open_output(self, resumed: bool, train_src: DataSource, val_src: DataSource | None) -> None:
        """metrics.jsonl (cut back to the checkpoint's step on resume) and run.json."""
        from core.safety import remove_stale_temp_files

        out = self.output_dir
        out.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(out)  # half-written checkpoints of a killed run
        metrics = MetricsFile(out / METRICS_FILE)
        if resumed:
            metrics.truncate_after(self.state.step)
        elif metrics.path.exists():
            metrics.path.unlink()
        for rec in self._pending:
            metrics.append(rec)
        self._pending.clear()
        self.metrics = metrics
        write_run_file(out / RUN_FILE, self.config, self.model_config, self.categories, (train_src, self.train_ds),
                       (val_src, self.val_ds), self._device_words(), self.dist.world_size, self.resume_path)

    def _device_words(self) -> str:
        return setup.describe_device(self.device, self.amp_dtype)

    def _enter_stage(self, stage: str, epoch: int) -> None:
        cfg = self.config
        self.freezer.apply(stage)
        self.criterion.set_stage(stage)
        if not self.freezer.trained_parameters():
            raise TrainingError(f"nothing to train in stage {stage!r}: every parameter is frozen")
        # The box detector alone in the detection stage: the mask head's work would be thrown away.
        detr = getattr(self.model, "detr", None)
        module = detr if stage == "detection" and isinstance(detr, torch.nn.Module) else self.model
        self.train_module = self.dist.wrap(module, self.device)
        self.optimizer = build_optimizer(self.model, cfg.lr, cfg.lr_backbone, cfg.weight_decay)
        first, end = cfg.stage_span(epoch)
        total = (end - first) * self.steps_per_epoch
        drop_epoch = cfg.lr_drop_epoch if first < cfg.lr_drop_epoch < end else first + (end - first) * 2 // 3
        schedule = LRSchedule(cfg.lr_schedule, total, (drop_epoch - first) * self.steps_per_epoch,
                              cfg.lr_drop_factor, cfg.warmup_steps, by_time=cfg.follow_budget)
        self.scheduler = build_scheduler(self.optimizer, schedule)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.stage = stage

    # --- the loop ---------------------------------------------------------------------------------
    def run(self) -> Iterator[ProgressRecord]:
        """Train; yields progress records, the last a ``SummaryRecord``. See the class docstring."""
        try:
            if not self.prepared:
                for rec in self.prepare():
                    yield self._log(rec)
            yield from self._loop()
        except (TrainingError, CancelledError) as e:
            if isinstance(e, CancelledError):
                yield self._log(self._summary("cancelled"))
                return
            self._log(StatusRecord("error", e.message()))
            raise
        except Exception as e:
            err = faults.translate(e, device=str(getattr(self, "device", "cpu")), batch_size=self.config.batch_size,
                                   max_size=self.config.max_size, last_checkpoint=self.last_checkpoint)
            if err is None:
                raise
            self._log(StatusRecord("error", err.message()))
            raise err from e
        finally:
            if self.metrics is not None:
                self.metrics.close()
            # Persistent data-loader workers end with their loaders, not with the Trainer object.
            self.train_loader = self.val_loader = None

    def _log(self, rec: ProgressRecord) -> ProgressRecord:
        """Append ``rec`` to the metrics file (process 0 only); a summary also to summary.json."""
        if not self.dist.is_main:
            return rec
        if self.metrics is not None:
            self.metrics.append(rec)
        else:
            self._pending.append(rec)
        if isinstance(rec, SummaryRecord) and self.output_dir.is_dir():
            from core.training.records import record_to_dict

            atomic_write_text(self.output_dir / SUMMARY_FILE, json.dumps(record_to_dict(rec), indent=2))
        return rec

    def _elapsed(self) -> float:
        return self._elapsed_before + (self._clock() - self._t0)

    def _loop(self) -> Iterator[ProgressRecord]:
        cfg, st = self.config, self.state
        self._t0, self._elapsed_before = self._clock(), st.elapsed_s
        self._step_time: float | None = None
        self._session_steps = 0
        self.save_points = SavePoints(cfg.max_minutes * 60, cfg.follow_budget, cfg.eval_every, cfg.keep_every, st.epoch)
        while st.epoch < cfg.epoch_limit:
            stage = cfg.stage_of_epoch(st.epoch)
            if stage != self.stage:
                self._enter_stage(stage, st.epoch)
                yield self._log(StatusRecord("stage", f"stage {stage} from epoch {st.epoch + 1}"))
            outcome = yield from self._train_epoch()
            if outcome == "budget":  # a run that follows its budget ends there as a finished one
                break
            if outcome != "done":
                path = self._save_checkpoint(best=False)
                yield self._log(StatusRecord("checkpoint", f"stopped ({outcome}); resumable checkpoint {path}"))
                yield self._log(self._summary(outcome))
                return
        yield self._log(self._summary("finished"))

    def _stop_flags(self, epoch_start: float) -> tuple[bool, bool, bool, float]:
        """(cancel, run time limit, epoch time limit, share of the time budget spent), agreed by
        every process (so the time-driven learning rate is the same everywhere)."""
        cfg = self.config
        budget = cfg.max_minutes * 60
        flags = torch.tensor([
            float(self.cancel is not None and self.cancel.is_set()),
            float(budget > 0 and self._elapsed() >= budget),
            float(cfg.epoch_max_minutes > 0 and self._clock() - epoch_start >= cfg.epoch_max_minutes * 60),
            min(self._elapsed() / budget, 1.0) if budget > 0 else 0.0])
        if self.dist.enabled:  # NCCL reduces CUDA tensors only
            flags = self.dist.all_reduce_max(flags.to(self.device)).cpu()
        return bool(flags[0]), bool(flags[1]), bool(flags[2]), float(flags[3])

    def _train_epoch(self) -> Generator[ProgressRecord, None, str]:
        """Generator returning ``"done"``, ``"cancelled"``, ``"time_limit"`` or, when the run
        follows its time budget, ``"budget"`` (the budget is spent; this epoch was the last)."""
        assert self.train_loader is not None  # prepare() built it; run() drops it only when it ends
        cfg, st = self.config, self.state
        epoch = st.epoch
        self.train_sampler.epoch, self.train_sampler.start_batch = epoch, st.epoch_step
        self.freezer.train_mode()
        sums: dict[str, float] = {}
        n_steps, images, truncated, final = 0, 0, False, False
        epoch_start = self._clock()
        tick = self._clock()
        params = [p for _, p in self.freezer.trained_parameters()]
        for batch in self.train_loader:
            cancel, out_of_time, epoch_over, spent = self._stop_flags(epoch_start)
            if cancel:
                return "cancelled"
            if out_of_time and self._session_steps > 0:  # a resumed run always makes some progress
                if not cfg.follow_budget:
                    return "time_limit"
                truncated = final = True
                break
            if epoch_over and n_steps > 0:  # at least one step per epoch, so every epoch moves on
                truncated = True
                break
            skip = batch is None
            if self.dist.enabled:  # every process skips together, or DDP's gradient sync would hang
                skip = bool(self.dist.all_reduce_max(torch.tensor([float(skip)], device=self.device))[0])
            if skip:
                st.epoch_step += 1  # every photo of the batch unreadable (logged): skip it everywhere
                continue
            b = batch.to(self.device, non_blocking=True)
            losses = forward_losses(self.train_module, self.criterion, b, self.device.type, self.amp_dtype,
                                    self.memory_format)
            keys = sorted(losses)
            values = self.dist.all_reduce_mean(torch.stack([losses[k].detach().float() for k in keys]))
            loss_values = dict(zip(keys, values.tolist()))
            if not math.isfinite(loss_values["loss"]):
                raise faults.non_finite_loss(st.step + 1, epoch + 1, loss_values, self.last_checkpoint)
            grad_norm = backward_and_step(losses["loss"], self.optimizer, self.scaler, params, cfg.clip_grad_norm)
            if not math.isfinite(grad_norm) and not self.scaler.is_enabled():
                raise faults.non_finite_gradients(st.step + 1, epoch + 1, self.last_checkpoint)
            for schedule in self.scheduler.lr_lambdas:
                assert isinstance(schedule, LRSchedule)  # build_scheduler's LambdaLR holds only these
                schedule.progress_floor = spent
            self.scheduler.step()
            st.step += 1
            st.epoch_step += 1
            n_steps += 1
            self._session_steps += 1
            n_img = len(b) * self.dist.world_size
            images += n_img
            for k, v in loss_values.items():
                sums[k] = sums.get(k, 0.0) + v
            now = self._clock()
            dt, tick = now - tick, now
            self._step_time = dt if self._step_time is None else 0.9 * self._step_time + 0.1 * dt
            if st.step % cfg.log_every == 0 or st.epoch_step == self.steps_per_epoch:
                lrs = {g["name"]: (g["lr"] if g["params"] else 0.0) for g in self.optimizer.param_groups}
                elapsed = self._elapsed()
                yield self._log(StepRecord(
                    epoch + 1, st.epoch_step, self.steps_per_epoch, st.step, self.stage, loss_values,
                    lrs["main"], lrs["backbone"], grad_norm, n_img / self._step_time if self._step_time else 0.0,
                    elapsed, setup.eta_seconds(cfg, st, self.steps_per_epoch, self._step_time, elapsed)))
        _, spent_all, _, share = self._stop_flags(epoch_start)
        final = final or (cfg.follow_budget and spent_all)
        if n_steps == 0 and final:
            # The budget ran out between two epochs: the last one stands as it was saved, and is
            # evaluated now unless that was done at its end.
            best = False
            if cfg.eval_every > 0 and self.val_loader is not None and self._evaluated_step != st.step:
                rec = self._evaluate(st.epoch)
                best = rec.best
                yield self._log(rec)
            self.dist.barrier()
            self._save_checkpoint(best=best)  # every process: it ends in a barrier
            return "budget"
        means = {k: v / max(n_steps, 1) for k, v in sums.items()}
        self._last_epoch_losses = means
        st.epoch += 1
        st.epoch_step = 0
        last = final or st.epoch == cfg.epoch_limit
        save = self.save_points.is_save_point(st.epoch, last, share)
        due = self.save_points.evaluates(st.epoch, last, save, self._elapsed())
        yield self._log(EpochRecord(epoch + 1, st.step, self.stage, means, images, self._clock() - epoch_start,
                                    str(self.output_dir / LAST) if self.dist.is_main and save else "", truncated))
        best = False
        if due and self.val_loader is not None and self.val_ds is not None:  # one comes with the other
            yield self._log(StatusRecord("eval", f"evaluating {len(self.val_ds)} photos"))
            try:
                rec = self._evaluate(epoch + 1)
            except CancelledError:
                return "cancelled"  # the epoch is complete: its checkpoint, without evaluation
            best = rec.best
            yield self._log(rec)
        self.dist.barrier()  # processes other than 0 wait for the evaluation
        if save:
            self._save_checkpoint(best=best)
        return "budget" if final else "done"

    def _evaluate(self, epoch: int) -> EvalRecord:
        t0 = self._clock()
        self._evaluated_step = self.state.step
        result = self.evaluate_fn(unwrap(self.model), self.postprocessor, self.val_loader, self.categories,
                                  self.device, threshold=self.config.eval_threshold, cancel=self.cancel,
                                  autocast=lambda: autocast_for(self.device.type, self.amp_dtype))
        self.freezer.train_mode()
        pq = float(result.all.pq)
        st = self.state
        best = math.isfinite(pq) and (not math.isfinite(st.best_pq) or pq > st.best_pq)
        if best:
            st.best_pq, st.best_epoch = pq, epoch
        seconds = self._clock() - t0
        self.save_points.evaluated(seconds)
        return eval_record(result, epoch, st.step, best, seconds)

    # --- checkpoints ------------------------------------------------------------------------------
    def _save_checkpoint(self, best: bool) -> str:
        """Write ``last.pt`` (and ``best.pt`` / ``epoch_NNN.pt``) on process 0; all wait for it."""
        path = self.output_dir / LAST
        if self.dist.is_main:
            model = unwrap(self.model)
            # Only trained tensors can have gone bad; checking 11M frozen weights costs time.
            if not all(torch.isfinite(p).all() for _, p in self.freezer.trained_parameters()):
                raise TrainingError(f"the weights became NaN or infinite; {path} was not overwritten"
                                    if self.last_checkpoint else "the weights became NaN or infinite",
                                    hint="lower the learning rate (--lr)")
            self.state.elapsed_s = self._elapsed()
            self.state.stage = self.stage  # the stage the saved optimizer belongs to
            cfg_dict = {**self.config.to_dict(), "_steps_per_epoch": self.steps_per_epoch}
            save_training_checkpoint(path, model, self.model_config, self.categories, cfg_dict, self.state,
                                     self.optimizer, self.scheduler, self.scaler,
                                     metrics={"best_pq": self.state.best_pq, "best_epoch": self.state.best_epoch})
            keep_copies(path, best, self.config.keep_every, self.state.epoch, self.state.epoch_step)
            self.last_checkpoint = str(path)
        self.dist.barrier()
        return str(path)

    def _summary(self, status: str) -> SummaryRecord:
        st, best = self.state, self.output_dir / BEST
        return SummaryRecord(status, st.epoch, st.step, self._elapsed(), self.last_checkpoint or "",
                             str(best) if best.exists() else "", st.best_pq, st.best_epoch,
                             dict(self._last_epoch_losses), str(self.output_dir), self._device_words())


def train(config: TrainConfig, train_source: DataSource, output_dir: str | Path, **kwargs) -> Iterator[ProgressRecord]:
    """``Trainer(config, train_source, output_dir, **kwargs).run()``."""
    return Trainer(config, train_source, output_dir, **kwargs).run()
