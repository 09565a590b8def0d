"""Process tuning of batch commands: it takes effect where it can and never breaks a run."""
import subprocess
import sys
import textwrap

import pytest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_stops_refaulting_image_buffers():
    """Four 3 MB buffers at a time, 100 times (an evaluation's images in flight): glibc trims the
    freed heap and faults the pages in again every round, unless told to keep them."""
    probe = textwrap.dedent("""
        import resource, sys
        import numpy as np
        from core.commands.process_tuning import keep_freed_memory
        if sys.argv[1] == "tuned":
            assert keep_freed_memory()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(100):
            buffers = [np.ones(3 << 20, np.uint8) for _ in range(4)]
            del buffers
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """)
    faults = {}
    for mode in ("plain", "tuned"):
        out = subprocess.run([sys.executable, "-c", probe, mode], capture_output=True, text=True, check=True)
        faults[mode] = int(out.stdout)
    assert faults["tuned"] < 10_000 < 100_000 < faults["plain"]  # ~3,000 against ~300,000 here


def test_single_threaded_opencv():
    import cv2

    from core.commands.process_tuning import single_threaded_opencv

    before = cv2.getNumThreads()
    try:
        single_threaded_opencv()
        assert cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(before)
