"""When a run writes its checkpoint and evaluates: the epochs that are save points.

A run counted in epochs saves after every epoch and evaluates every ``eval_every`` epochs and
after its last, as it always did. A run that lasts a time budget is counted in time instead:
its budget buys steps, and on small data an epoch is a few seconds, so a checkpoint (the weights
and the optimizer, about 50 MB for the shipped model) after every one and an evaluation every
fourth took a sixth of the budget (24 UAV75 photos with 10 to validate on, 3 minutes, 2 threads:
13 evaluations, 18 s; 49 checkpoints, about 12 s). There, an epoch end is a save point when
``max(SAVE_EVERY_MIN_S, budget / SAVE_POINTS)`` of the budget has passed since the last one,
and at the first epoch of a session, the last epoch, and every ``keep_every``-th epoch (whose
copy is kept). Evaluations happen at save points only, ``eval_every`` epochs apart at least, while
all of them together take at most ``EVAL_SHARE`` of the time spent (a large validation set would
otherwise cost a minute of every few), and after the last epoch. A run killed outright loses at
most the training since its last save point; cancelling, running out of time and faults still
write their checkpoint on the spot (``Trainer``).

Every process of a distributed run must agree (a checkpoint ends in a barrier), so the rule reads
only what they share: the epoch count and the budget's spent share, which the trainer reduces
across processes.
"""
from __future__ import annotations

#: A save point at most once per this many seconds of a time budget ...
SAVE_EVERY_MIN_S = 60.0
#: ... and at most this many in the budget (long budgets: one per twentieth).
SAVE_POINTS = 20
#: The share of a budget run's time its evaluations may take (the closing one aside).
EVAL_SHARE = 0.05


class SavePoints:
    """Args:
        budget_s: the time budget in seconds (0: none).
        follow_budget: the run lasts its budget (``TrainConfig.follow_budget``); otherwise every
            epoch is a save point.
        eval_every: evaluate every N epochs (0: never).
        keep_every: epochs whose checkpoint copy is kept (0: none); they are save points.
        start_epoch: epochs done when this session starts (a resumed run's).
    """

    def __init__(self, budget_s: float, follow_budget: bool, eval_every: int, keep_every: int, start_epoch: int):
        self.timed = follow_budget and budget_s > 0
        self.interval = max(SAVE_EVERY_MIN_S, budget_s / SAVE_POINTS) / budget_s if self.timed else 0.0
        self.eval_every, self.keep_every = int(eval_every), int(keep_every)
        self._last_share: float | None = None  # share of the budget at the last save point
        self._last_eval_epoch = int(start_epoch)
        self._eval_s, self._last_eval_s = 0.0, 0.0  # evaluation seconds in all, and the latest's

    def is_save_point(self, epoch: int, final: bool, share: float) -> bool:
        """Whether the end of ``epoch`` (1-based, just done) writes a checkpoint; ``share``: the
        budget's spent share now (agreed by every process). Remembers a yes."""
        due = (not self.timed or final or self._last_share is None
               or (self.keep_every > 0 and epoch % self.keep_every == 0)
               or share - self._last_share >= self.interval - 1e-6)  # the share is a float32
        if due:
            self._last_share = share
        return due

    def evaluates(self, epoch: int, final: bool, save_point: bool, elapsed_s: float = 0.0) -> bool:
        """Whether the end of ``epoch`` evaluates (given whether it is a save point, and the run's
        seconds so far); remembers a yes. Only the process that evaluates needs to agree with it."""
        if self.eval_every <= 0:
            return False
        if self.timed:
            affordable = self._eval_s + self._last_eval_s <= EVAL_SHARE * elapsed_s
            due = final or (save_point and affordable and epoch - self._last_eval_epoch >= self.eval_every)
        else:
            due = final or epoch % self.eval_every == 0
        if due:
            self._last_eval_epoch = epoch
        return due

    def evaluated(self, seconds: float) -> None:
        """An evaluation took ``seconds`` (the next one is expected to take as long)."""
        self._eval_s += seconds
        self._last_eval_s = seconds
