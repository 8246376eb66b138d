"""keep_freed_memory: a solver's per-stage buffers stop faulting in fresh pages."""

import subprocess
import sys

import pytest

from data_gen.allocator import keep_freed_memory

# The pattern that hurt: transforms whose results outlive the next call's allocations, so glibc
# mmaps and trims the same blocks again and again (~375 fresh pages per iteration by default).
LOOP = """
import resource, sys, torch
from data_gen.allocator import keep_freed_memory
torch.set_num_threads(1)
if sys.argv[1] == "keep":
    assert keep_freed_memory()
x = torch.randn(16, 2, 64, 64, dtype=torch.float64)
x_hat = torch.fft.rfft2(x)
for _ in range(5):
    kept = (torch.fft.irfft2(x_hat, s=(64, 64)), torch.fft.rfft2(x))
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    kept = (torch.fft.irfft2(x_hat, s=(64, 64)), torch.fft.rfft2(x))
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start)
"""


def page_faults(mode: str) -> int:
    run = subprocess.run([sys.executable, "-c", LOOP, mode], capture_output=True, text=True, check=True)
    return int(run.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_are_reused_instead_of_faulted_in_again():
    if not keep_freed_memory():
        pytest.skip("not glibc")
    # One iteration's buffers are ~1.6 MB (≈ 400 pages); kept memory faults in well under a tenth of that.
    assert page_faults("keep") < 50 * 40
