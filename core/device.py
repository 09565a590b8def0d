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


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX tiles), where oneDNN runs a
    convolution in bfloat16 about twice as fast as in float32. Elsewhere bfloat16 is emulated and
    slower, so mixed precision stays off. The checks are torch's own (``torch.cpu``); a torch
    without them counts as no."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        return torch.backends.mkldnn.is_available() and any(bool(getattr(torch.cpu, c, lambda: False)())
                                                              for c in checks)
    except RuntimeError:
        return False


def amp_dtype_for(device):
    """The ``torch.dtype`` of mixed precision on ``device`` (a ``torch.device``), or None where it
    would not pay: bfloat16 on a CUDA GPU that has it, else float16 (with gradient scaling); on a
    CPU bfloat16 where the CPU has it natively (``cpu_has_native_bf16``): training the shipped model
    on 4 x 320 px windows of UAV75, one thread, forward + loss + backward 1.03 -> 0.66 s per step,
    losses equal to 3 digits. The weights, the optimizer and the losses stay float32 (autocast
    runs convolutions and matrix products in the lower precision, the rest as they were)."""
    import torch

    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return None


def autocast_for(device_type: str, dtype):
    """``torch.autocast`` on ``device_type`` ("cpu", "cuda") in ``dtype`` (``amp_dtype_for``'s
    answer); None: a context that leaves float32 as it is."""
    import torch

    return torch.autocast(device_type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)
