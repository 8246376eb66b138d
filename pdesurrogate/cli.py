"""The ``pdesurrogate`` command: one entry point, one module per subcommand.

Each subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int``; the Lightning
subcommands (fit, validate, test, predict) hand their arguments to ``LightningCLI`` untouched.
A user mistake is reported as one ``error:`` line naming the field, never as a traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys

from .commands import LIGHTNING_SUBCOMMANDS, SUBCOMMANDS
from .errors import USER_ERRORS, UserError  # noqa: F401  (UserError: the historical import path)


USER_ERRNOS = (errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES)


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
    except OSError as error:
        # What the user fixes on their side (a path, permissions, disk space), named by its path;
        # every other OSError is a bug and keeps its traceback.
        if not isinstance(error, (PermissionError, IsADirectoryError, NotADirectoryError)) \
                and error.errno not in USER_ERRNOS:
            raise
        print(f"error: {error.filename or 'a file'}: {error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
