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
