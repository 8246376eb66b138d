"""Recover a viscosity 2.5× below the training range from noisy observations; the surrogate's answer is
flagged outside its training distribution and re-simulated.

Runs configs/design/ns_viscosity_ood.yaml through `pdesurrogate.design`: generates the dataset and
trains the surrogate into runs/cache on first use (reused after), optimises along every route,
re-simulates each answer with the solver and prints the routes side by side. Takes about 1 minute on
a 2-core CPU once ns_viscosity.yaml has trained the surrogate (measured on a shared CPU).

    python examples/viscosity_inference_ood.py [--out DIR]
"""

from pdesurrogate.design.examples import run_example

if __name__ == "__main__":
    run_example("ns_viscosity_ood", __doc__)
