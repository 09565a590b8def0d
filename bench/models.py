"""The model a benchmark measures: a checkpoint named on its command line, else the shipped one."""
from __future__ import annotations


def predictor_for(model: str | None, threads: int = 1):
    """``(Predictor, path)`` on the CPU with ``threads`` torch threads for ``model`` (None: the
    shipped demo model), or ``(None, None)`` when no model was named and none is shipped."""
    import torch

    from core.demo.sample_model import demo_model_path
    from core.inference.predictor import Predictor

    torch.set_num_threads(threads)
    path = model or demo_model_path()
    if path is None:
        print("no model: the shipped demo model is missing and --model was not given")
        return None, None
    return Predictor.from_checkpoint(path, device="cpu"), path
