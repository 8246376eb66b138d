"""The whole pipeline in one command: solver sweep, dataset, training, OOD benchmark, design, report."""

from .pipeline import quickstart

__all__ = ["quickstart"]
