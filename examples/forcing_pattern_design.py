"""Choose four forcing coefficients that steer the flow to a target vorticity field at t = 8.

Runs configs/design/ns_forcing_pattern.yaml through `pdesurrogate.design`: generates the dataset and
trains the surrogate into runs/cache on first use (reused after), optimises along every route,
re-simulates each answer with the solver and prints the routes side by side. Takes about 40 seconds
on a 2-core CPU once ns_forcing_amplitude.yaml has trained the surrogate.

    python examples/forcing_pattern_design.py [--out DIR]
"""

from pdesurrogate.design.examples import run_example

if __name__ == "__main__":
    run_example("ns_forcing_pattern", __doc__)
