"""User mistakes the ``pdesurrogate`` command reports as one line, never a traceback."""

from __future__ import annotations

from data_gen.errors import BlowUpError, ParameterError


class UserError(Exception):
    """A mistake in what the user asked for (file, config value, checkpoint); shown as one line."""


USER_ERRORS = (UserError, ParameterError, BlowUpError, FileNotFoundError, FileExistsError)
