"""Which device work runs on, said plainly."""
from __future__ import annotations


def resolve_device(name: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a CUDA GPU is usable, else ``cpu``; other names pass through."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        from core.errors import InspectorError

        raise InspectorError("a CUDA device was asked for but none is available", hint="use --device cpu")
    return name


def describe_device() -> str:
    """One line: the GPU's name and memory, or that work runs on the CPU."""
    import torch

    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        return f"torch {torch.__version__}: CUDA GPU {p.name}, {p.total_memory / 2**30:.1f} GiB"
    return f"torch {torch.__version__}: no CUDA GPU, running on the CPU ({torch.get_num_threads()} threads)"


def memory_format_for(device):
    """The ``torch.memory_format`` a model runs in on ``device`` (a ``torch.device``), training and
    predicting: channels-last (NHWC) on a CPU, where oneDNN's convolutions run faster (one thread:
    the shipped model's training forward, loss and backward on 4 x 320 px 1.17 -> 1.06 s;
    ``bench_training`` cpu_fast@320, 30 steps, two pairs, 0.87 / 0.84 -> 0.80 / 0.82 s per step;
    ``bench_inference --threads 1 --compare M M``, first result, two runs each: 12 MP 0.162 / 0.144
    -> 0.135 / 0.134 s, 512 x 384 0.270 / 0.276 -> 0.225 / 0.257 s). Weights keep their values and
    load into any layout. Not measured on a GPU, where it stays contiguous."""
    import torch

    return torch.channels_last if device.type == "cpu" else torch.contiguous_format
