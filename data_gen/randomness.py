"""Per-sample random streams: sample ``i`` of a split depends only on ``(split seed, i)``.

Noise is drawn on the CPU in float64 and only then moved to the simulation device and precision,
so a sample is the same whatever the batch size, sharding, device order or device kind.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch


def sample_seed(split_seed: int, index: int) -> int:
    """A 63-bit seed for sample ``index`` of the split seeded ``split_seed``."""
    return int(np.random.SeedSequence([int(split_seed), int(index)]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def white_noise(
    split_seed: int, indices: Iterable[int], n: int, *, channels: int = 1, dtype=torch.float64, device="cpu"
) -> torch.Tensor:
    """Independent standard normal fields ``(len(indices), channels, n, n)``, one stream per sample."""
    fields = []
    for index in indices:
        generator = torch.Generator(device="cpu").manual_seed(sample_seed(split_seed, index))
        fields.append(torch.randn(channels, n, n, generator=generator, dtype=torch.float64))
    return torch.stack(fields).to(dtype=dtype, device=device)
