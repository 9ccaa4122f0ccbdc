"""The ``markerless`` command line: the same verbs as the Python API, for clusters.

Each sub-command is a thin wrapper over one API function, registered by the
modules in :data:`VERB_MODULES` (one per workflow stage); heavy imports happen
inside the handlers so ``markerless --help`` is instant. Arguments are checked
where they are parsed (:mod:`markerless.cli._args`), and every verb ends in one
last handler (:func:`main`) that prints a one-line message and a hint instead of a
traceback; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int]
_COMMANDS: list[tuple[str, str, Callable[[argparse.ArgumentParser], None], Handler]] = []

#: modules under ``markerless.cli`` that register verbs, in ``--help`` order. A new stage
#: adds its module here.
VERB_MODULES = ("project", "training", "analysis", "refine", "multianimal", "pose3d",
                "doctor")

#: exit codes: 2 = the user's input or environment (a clear message), 3 = a bug in markerless.
EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 3


def command(name: str, help: str, args: Callable[[argparse.ArgumentParser], None]):
    """Register a sub-command: ``args`` adds its arguments, the decorated function runs it."""

    def deco(fn: Handler) -> Handler:
        if any(name == existing for existing, *_ in _COMMANDS):
            raise RuntimeError(f"CLI verb {name!r} registered twice")
        _COMMANDS.append((name, help, args, fn))
        return fn

    return deco


def _load_verbs() -> None:
    for module in VERB_MODULES:
        importlib.import_module(f"markerless.cli.{module}")


def verbs() -> list[str]:
    """Every verb's name (for tests and shell completion)."""
    _load_verbs()
    return [name for name, *_ in _COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    from markerless import __version__

    _load_verbs()
    parser = argparse.ArgumentParser(
        prog="markerless", description="markerless: animal pose estimation (DeepLabCut-compatible "
        "projects), the same verbs as the Python API.")
    parser.add_argument("--version", action="version", version=f"markerless {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (also MARKERLESS_DEBUG=1)")
    # the same flag after the verb; SUPPRESS keeps the sub-parser from resetting it
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_, add_args, fn in _COMMANDS:
        p = sub.add_parser(name, help=help_, description=help_, parents=[after])
        add_args(p)
        p.set_defaults(_handler=fn)
    return parser


def _hint(err: BaseException) -> str:
    from markerless.errors import is_internal

    if is_internal(err):
        return ("this is a bug in markerless: rerun with --debug for the traceback and report "
                "it together with the output of 'markerless doctor'")
    return "rerun with --debug to see where it happened"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"markerless: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    debug = ns.debug or os.environ.get("MARKERLESS_DEBUG", "") not in {"", "0"}
    from markerless.errors import MarkerlessError, is_internal, user_message

    try:
        with warnings.catch_warnings():
            # a warning is a line for the user, not a pointer into our source
            warnings.showwarning = _show_warning
            return ns._handler(ns)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except BaseException as err:  # noqa: BLE001 - the one last handler of every verb
        if debug:
            raise
        print(f"markerless {ns.command}: error: {user_message(err)}", file=sys.stderr)
        if not isinstance(err, MarkerlessError):
            print(f"hint: {_hint(err)}", file=sys.stderr)
        return EXIT_INTERNAL_ERROR if is_internal(err) else EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
