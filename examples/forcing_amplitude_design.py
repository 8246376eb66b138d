"""Choose the amplitude of the FNO forcing that brings the enstrophy at t = 8 to 1.5× its initial
value.

Runs configs/design/ns_forcing_amplitude.yaml through `pdesurrogate.design`: generates the dataset
and trains the surrogate into runs/cache on first use (reused after), optimises along every route,
re-simulates each answer with the solver and prints the routes side by side. Takes about 2 minutes
the first time on a shared 2-core CPU (dataset and training included).

    python examples/forcing_amplitude_design.py [--out DIR]
"""

from pdesurrogate.design.examples import run_example

if __name__ == "__main__":
    run_example("ns_forcing_amplitude", __doc__)
