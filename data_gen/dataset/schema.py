"""The key-path checks that every part of a dataset config goes through.

Each check either returns the value (converted where YAML is lax: ``1e-3`` read as a string) or
raises one :class:`ConfigError` line that starts with the key path and says what is accepted,
with a did-you-mean hint for a misspelt key or choice.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

from ..errors import ParameterError
from .builders import SampledParameter, Setting
from .distributions import RANGE_LAWS, Constant, Uniform


class ConfigError(ParameterError):
    """A dataset config value is missing, misspelt, of the wrong type or out of range."""


def fail(path: str, message: str):
    raise ConfigError(f"{path}: {message}")


def join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def type_name(value) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )


def suggest(word: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"accepted: {', '.join(choices)}"


def mapping(value, path: str, accepted: Iterable[str], required: Iterable[str] = ()) -> dict:
    accepted = list(accepted)
    if not isinstance(value, dict):
        fail(path or "config", f"must be a mapping with keys {', '.join(accepted)} (got {type_name(value)})")
    for key in value:
        if key not in accepted:
            fail(join(path, key), f"unknown key; {suggest(key, accepted)}")
    for key in required:
        if value.get(key) is None:
            fail(join(path, key), "is required")
    return value


def choice(value, path: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        hint = suggest(value, choices) if isinstance(value, str) else f"accepted: {', '.join(choices)}"
        fail(path, f"must be one of {', '.join(choices)} (got {value!r}); {hint}")
    return value


def number(value, path: str, *, integer: bool = False, minimum: float | None = None, exclusive: bool = False,
           maximum: float | None = None) -> float | int:
    """The one number rule of every config: a YAML number (configs are read with YAML 1.2 floats,
    so ``1e-3`` is one; a quoted ``"1e-3"`` is a string and refused), finite, within the range."""
    what = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        hint = " (a number, not a quoted string)" if isinstance(value, str) else ""
        fail(path, f"must be {what}{hint} (got {value!r})")
    if not math.isfinite(value):
        fail(path, f"must be a finite number (got {value!r})")
    if minimum is not None and (value <= minimum if exclusive else value < minimum):
        fail(path, f"must be {'>' if exclusive else '>='} {minimum:g} (got {value!r})")
    if maximum is not None and value > maximum:
        fail(path, f"must be <= {maximum:g} (got {value!r})")
    return value if integer else float(value)


def resolution(value, path: str) -> int:
    value = number(value, path, integer=True, minimum=8)
    if value % 2:
        fail(path, f"must be an even integer >= 8 (got {value})")
    return value


def value_range(value: dict, path: str, minimum: float | None, exclusive: bool) -> Uniform:
    """``{uniform: [low, high]}`` or ``{log_uniform: [low, high]}``."""
    mapping(value, path, RANGE_LAWS)
    if len(value) != 1:
        fail(path, f"must hold exactly one of {', '.join(RANGE_LAWS)} (got {', '.join(value)})")
    (law, bounds), = value.items()
    law_path = join(path, law)
    if not isinstance(bounds, list) or len(bounds) != 2:
        fail(law_path, f"must be a list [low, high] (got {bounds!r})")
    if law == "log_uniform" and (minimum is None or minimum < 0):
        minimum = 0.0  # a logarithm needs positive bounds
    low = number(bounds[0], f"{law_path}[0]", minimum=minimum, exclusive=exclusive or law == "log_uniform")
    high = number(bounds[1], f"{law_path}[1]", minimum=minimum, exclusive=exclusive)
    if not low < high:
        fail(law_path, f"needs low < high (got [{low!r}, {high!r}])")
    return Uniform(low, high, log=law == "log_uniform")


def sampled_law(value, path: str, parameter: SampledParameter) -> Constant | Uniform:
    """A per-sample parameter: a number, or a range to draw each sample's value from."""
    if isinstance(value, dict):
        return value_range(value, path, parameter.minimum, parameter.exclusive)
    return Constant(number(value, path, minimum=parameter.minimum, exclusive=parameter.exclusive))


def setting_value(value, path: str, setting: Setting):
    if value is None:
        return setting.default
    if setting.type is str:
        return choice(value, path, setting.choices)
    return number(value, path, integer=setting.type is int, minimum=setting.minimum, exclusive=setting.exclusive)
