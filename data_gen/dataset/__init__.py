"""Datasets on disk: YAML config → validated plan → sharded CF netCDF files + manifest, and their check.

``generate`` and ``verify`` are what the ``pdesurrogate generate`` / ``verify`` commands call.
"""

from .config import ConfigError, DatasetConfig, load_config, parse_config, parse_settings
from .generate import GenerationResult, UnderResolvedWarning, generate
from .resolution import UNDER_RESOLVED_THRESHOLD
from .verify import VerificationReport, verify

__all__ = [
    "ConfigError", "DatasetConfig", "GenerationResult", "UNDER_RESOLVED_THRESHOLD", "UnderResolvedWarning",
    "VerificationReport", "generate", "load_config", "parse_config", "parse_settings", "verify",
]
