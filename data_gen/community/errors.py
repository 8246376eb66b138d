"""The one-line error every unreadable, foreign or inconsistent source file is reported with."""

from __future__ import annotations

from ..errors import ParameterError


class SourceError(ParameterError):
    """A source file (or the import config) cannot be imported; the message names the file or key."""


def missing_library(module: str, purpose: str) -> SourceError:
    return SourceError(f"{purpose} needs the Python package '{module}', which is not installed; "
                       f"install it with: pip install 'pdesurrogate[community]'")


def require_module(module: str, purpose: str):
    """Import an optional dependency, or raise one line saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise missing_library(module, purpose) from None
