"""Reading dataset directories for training: lazy windows, normalisation, the DataModule."""

from .datamodule import PDEDataModule
from .directory import DatasetDirectory, SplitInfo
from .normalisation import FieldNormaliser
from .windows import TrajectoryWindows

__all__ = ["DatasetDirectory", "FieldNormaliser", "PDEDataModule", "SplitInfo", "TrajectoryWindows"]
