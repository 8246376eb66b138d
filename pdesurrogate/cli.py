"""The ``pdesurrogate`` command: one entry point, one module per subcommand.

Each subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int``; the Lightning
subcommands (fit, validate, test, predict) hand their arguments to ``LightningCLI`` untouched.
A user mistake is reported as one ``error:`` line naming the field, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from data_gen.errors import BlowUpError, ParameterError

# subcommand -> (module, one-line help). Modules are imported only when their command runs, so
# `pdesurrogate generate` does not pay for importing Lightning.
SUBCOMMANDS: dict[str, tuple[str, str]] = {}
# Subcommands whose arguments are parsed by LightningCLI rather than argparse.
LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test", "predict")


class UserError(Exception):
    """A mistake in what the user asked for (file, config value, checkpoint); shown as one line."""


USER_ERRORS = (UserError, ParameterError, BlowUpError, FileNotFoundError, FileExistsError)


def register(name: str, module: str, help: str) -> None:
    SUBCOMMANDS[name] = (module, help)


from . import commands  # noqa: E402,F401  registers the subcommands (needs register above)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pdesurrogate", description="Neural PDE surrogates: data, training, evaluation.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help) in SUBCOMMANDS.items():
        if name in LIGHTNING_SUBCOMMANDS:
            sub.add_parser(name, help=help, add_help=False)
            continue
        command_parser = sub.add_parser(name, help=help, description=help)
        importlib.import_module(module).add_arguments(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in LIGHTNING_SUBCOMMANDS and argv[0] in SUBCOMMANDS:
            return int(importlib.import_module(SUBCOMMANDS[argv[0]][0]).run_lightning(argv) or 0)
        args = _parser().parse_args(argv)
        return int(importlib.import_module(SUBCOMMANDS[args.command][0]).run(args) or 0)
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
