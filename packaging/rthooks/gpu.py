"""Runtime hook of the GPU bundle: only names the variant, for the About dialog."""
import os

os.environ["PANOPTIC_INSPECTOR_BUNDLE"] = "gpu"
