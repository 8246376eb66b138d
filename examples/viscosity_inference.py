"""Recover the viscosity of a Navier–Stokes trajectory that no training sample had (inside the training
range), from 8 observed frames.

Runs configs/design/ns_viscosity.yaml through `pdesurrogate.design`: generates the dataset and
trains the surrogate into runs/cache on first use (reused after), optimises along every route,
re-simulates each answer with the solver and prints the routes side by side. Takes about 22 minutes
the first time on a 2-core CPU shared with two other heavy jobs (18 of them training the surrogate,
30 epochs), about 2.5 minutes of routes after.

    python examples/viscosity_inference.py [--out DIR]
"""

from pdesurrogate.design.examples import run_example

if __name__ == "__main__":
    run_example("ns_viscosity", __doc__)
