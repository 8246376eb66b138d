"""The out-of-distribution viscosity benchmark: training runs, scoring, aggregation and report."""
