"""Reading dataset directories for training: lazy windows, normalisation, the DataModule."""

from .datamodule import PDEDataModule
from .directory import DatasetReader, SplitInfo
from .normalisation import FieldNormaliser
from .windows import TrajectoryWindows

__all__ = ["DatasetReader", "FieldNormaliser", "PDEDataModule", "SplitInfo", "TrajectoryWindows"]
