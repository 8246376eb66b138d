"""Recover the Navier–Stokes vorticity at t = 0 from a noisy observation at t = 2, under a smoothness
prior.

Runs configs/design/ns_initial_state.yaml through `pdesurrogate.design`: generates the dataset and
trains the surrogate into runs/cache on first use (reused after), optimises along every route,
re-simulates each answer with the solver and prints the routes side by side. Takes about 40 seconds
on a 2-core CPU once ns_viscosity.yaml has trained the surrogate (measured on a shared CPU).

    python examples/initial_state_recovery.py [--out DIR]
"""

from pdesurrogate.design.examples import run_example

if __name__ == "__main__":
    run_example("ns_initial_state", __doc__)
