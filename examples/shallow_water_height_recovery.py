"""Recover the shallow-water height at t = 0 from the velocities of the next four frames.

Runs configs/design/swe_initial_height.yaml through `pdesurrogate.design`: generates the dataset and
trains the surrogate into runs/cache on first use (reused after), optimises along every route,
re-simulates each answer with the solver and prints the routes side by side. Takes about 3 minutes
the first time on a shared 2-core CPU (dataset and training included).

    python examples/shallow_water_height_recovery.py [--out DIR]
"""

from pdesurrogate.design.examples import run_example

if __name__ == "__main__":
    run_example("swe_initial_height", __doc__)
