"""The ``sahel-sim`` command: parses arguments, calls run()/experiments, writes through io/.

Each subcommand lives in its own module exposing ``register(subparsers)``; the module list
below is the whole command surface. Bad input (:class:`~sahel_sim.config.ConfigError`) is
printed as one message with exit status 2 and no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from typing import Any, NoReturn

from sahel_sim.config.errors import ConfigError, cap_message

SUBCOMMAND_MODULES = (
    "sahel_sim.cli.run_cmd",
    "sahel_sim.cli.map_cmd",
    "sahel_sim.cli.sweep_cmd",
    "sahel_sim.cli.viz_cmd",
    "sahel_sim.cli.calibrate_cmd",
    "sahel_sim.cli.export_cmd",
)


def _version() -> str:
    from importlib.metadata import (  # only for --version: it costs ~50 ms
        PackageNotFoundError,
        version,
    )

    try:
        return version("sahel-sim")
    except PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


class _VersionAction(argparse.Action):
    """``--version``, looking the version up only when asked."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the program's version number and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"sahel-sim {_version()}")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse with short errors: one line naming the argument, then where to get help
    (argparse would print the whole usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {cap_message(message)}\n(see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sahel-sim",
        description="Agent-based simulation of the conflict in Mali (scenarios, sweeps, "
        "counterfactuals, calibration, maps and a classroom app).",
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # subcommand not shipped in this build
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command line. Exit status: 0 done, 1 some runs failed or a file could not be
    written, 2 bad input (one short message, nothing written), 130 interrupted."""
    parser = build_parser()
    previous = _sigterm_interrupts()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(cap_message(f"sahel-sim: error: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sahel-sim: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a disk full, a folder not writable: say which file, no traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(cap_message(f"sahel-sim: error: cannot write or read{where}: {exc.strerror or exc}"), file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _sigterm_interrupts() -> Any:
    """SIGTERM (``kill``, a batch system's time limit) stops the command like Ctrl-C: workers
    are stopped, finished runs kept, temporary files removed. Returns the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


def entry() -> None:
    """The console command (``sahel-sim``, ``python -m sahel_sim``): :func:`main` in a process
    of its own (see :mod:`sahel_sim.cli.process`)."""
    from sahel_sim.cli import process

    process.own_process()
    code = main()
    process.before_exit()
    sys.exit(code)
