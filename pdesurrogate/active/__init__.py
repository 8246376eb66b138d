"""Deep ensembles and active learning: calibrated uncertainty of surrogate rollouts, and choosing
which viscosities to simulate next from where an ensemble disagrees per unit of solver cost."""
