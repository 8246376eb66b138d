"""pdesurrogate: learning neural surrogates of the PDEs simulated by :mod:`data_gen`."""

__version__ = "0.1.0"
