"""Errors a user can act on: a bad argument, or a simulation that blew up."""

from __future__ import annotations

from collections.abc import Sequence


class ParameterError(ValueError):
    """A constructor argument is outside the range the solver accepts.

    The message always names the argument and the accepted range, so it can be shown to a user
    as one line without a traceback.
    """


class BlowUpError(RuntimeError):
    """A simulation became non-physical (NaN/Inf, negative depth, collapsing CFL step).

    Raised instead of returning garbage; ``samples`` are the batch indices that failed and
    ``time`` the simulated time at which it was detected.
    """

    def __init__(self, reason: str, samples: Sequence[int], time: float):
        self.reason = reason
        self.samples = [int(s) for s in samples]
        self.time = float(time)
        shown = self.samples[:10] + (["..."] if len(self.samples) > 10 else [])
        super().__init__(
            f"simulation blew up at t = {self.time:.6g}: {reason} in sample(s) "
            f"{', '.join(map(str, shown))}"
        )
