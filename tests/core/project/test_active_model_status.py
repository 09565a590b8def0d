"""The statuses that let a run become active by itself are the training registry's own words."""
from core.project.active_model import COMPLETED_RUNS
from core.training.project_models import FINISHED, RESUMABLE, TIME_LIMIT


def test_completed_runs_are_the_registrys_finished_and_time_limit():
    assert set(COMPLETED_RUNS) == {FINISHED, TIME_LIMIT}
    assert not set(COMPLETED_RUNS) & (set(RESUMABLE) - {TIME_LIMIT})  # cancelled, failed, interrupted
