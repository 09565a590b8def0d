"""Runtime hook of the CPU bundle: hide any GPU from torch.

The CPU bundle keeps the CUDA libraries torch links against (it cannot start without them) but
leaves out the ones torch only loads while working on a GPU (cuDNN's kernels, the CUDA linear
algebra library). On a machine with a GPU, torch would then pick the GPU and fail at the first
convolution; hiding the GPUs makes it say plainly that work runs on the CPU. The GPU bundle has
no such hook.
"""
import os

os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["PANOPTIC_INSPECTOR_BUNDLE"] = "cpu"
