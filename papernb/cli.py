"""The ``papernb`` command line: one entry point, a subcommand per job.

Every command runs through :func:`run_command`, the one place that turns a failure into a
line on stderr (``papernb feed replay: day.csv: ...``) and an exit code, so no command
prints a Python traceback unless asked to (``--debug`` or ``PAPERNB_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from .errors import ConfigError, PaperError

__all__ = ["ArgParser", "UsageError", "main", "run_command"]

_USAGE = """usage: papernb [--debug] COMMAND [ARGS]

commands:
  app [--port P] [--no-browser] [--account A] [--book F] [--feed sim|redis|replay:PATH] [--redis URL]
                            serve the trading app with Voila on 127.0.0.1 (simulated market by default)
  demo [--book F]           open a throwaway book, trade on a few quotes, print the account
  feed sim|replay|excel     run a quote source (see: papernb feed sim --help)
  quotes SYMBOL...          latest quotes from Redis
  record --to FILE          record the live tape
  serve [--book F] [--feed sim|redis|replay:PATH] [--host H] [--port 8765]
                            serve one book over HTTP (many traders, windows and scripts); see docs/service.md
  users add|list|revoke|token [NAME] [--book F | --service URL --token ADMIN]
                            users and their API tokens
  backup --service URL --token ADMIN --to FILE
                            an online copy of the book a running service holds

exit codes: 0 done; 1 the command could not do its job (an input file it cannot use, Redis
unreachable, a book in use), with one line on stderr saying why; 2 the command line is wrong
(a usage error); 130 stopped by Ctrl-C or SIGTERM.  --debug (or PAPERNB_DEBUG=1) also prints
the Python stack of a failure.
"""

EXIT_FAILED, EXIT_USAGE, EXIT_STOPPED = 1, 2, 130


class UsageError(ConfigError):
    """The command line itself is wrong (exit 2): an unknown option, a value out of range."""


class ArgParser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one :class:`UsageError` line, not usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see: {self.prog} --help)")


def debug_enabled() -> bool:
    return os.environ.get("PAPERNB_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


class _OneLine(logging.Formatter):
    """Log records as ``papernb: message``; an attached exception as ``: Type: text``, not a stack."""

    def __init__(self, debug: bool) -> None:
        super().__init__("papernb: %(message)s")
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        if self.debug or not record.exc_info:
            return super().format(record)
        exc = record.exc_info[1]
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            text = super().format(record)
        finally:
            record.exc_info, record.exc_text = saved
        return f"{text}: {type(exc).__name__}: {exc}" if exc is not None else text


def setup_logging(debug: bool) -> None:
    """Warnings from papernb on stderr, one line each (the stack only with ``--debug``)."""
    root = logging.getLogger()
    for h in root.handlers:
        if getattr(h, "_papernb_cli", False):
            h.setFormatter(_OneLine(debug))
            return
    h = logging.StreamHandler(sys.stderr)
    h._papernb_cli = True  # type: ignore[attr-defined]
    h.setFormatter(_OneLine(debug))
    root.addHandler(h)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)


def describe(e: BaseException) -> str:
    """One line for an error: its own message for papernb's and the OS's errors."""
    if isinstance(e, PaperError):
        text = str(e)
    elif isinstance(e, FileNotFoundError) and e.filename:
        text = f"{e.filename}: no such file or folder"
    elif isinstance(e, PermissionError) and e.filename:
        text = f"{e.filename}: permission denied"
    elif isinstance(e, IsADirectoryError) and e.filename:
        text = f"{e.filename} is a folder, not a file"
    elif isinstance(e, OSError) and e.filename and e.strerror:
        text = f"{e.filename}: {e.strerror}"
    elif isinstance(e, OSError) and e.strerror:
        text = e.strerror
    elif isinstance(e, OSError | MemoryError):
        text = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    else:
        text = (f"unexpected {type(e).__name__}: {e} (a bug in papernb: run again with --debug for the "
                f"stack and please report it)")
    return " ".join(text.split())  # one line, whatever the message held


def run_command(prog: str, fn: Callable[[], int], *, debug: bool | None = None) -> int:
    """Run one command: its exit code, or one line ``<prog>: <why>`` on stderr and 1 / 2 / 130."""
    debug = debug_enabled() if debug is None else debug
    try:
        return fn()
    except SystemExit as e:  # --help, or a command that exits on purpose
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_FAILED)
    except KeyboardInterrupt:
        return EXIT_STOPPED
    except BrokenPipeError:  # `papernb feed sim | head`: the reader left, which is fine
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:
        if debug:
            traceback.print_exc()
        with contextlib.suppress(OSError):
            print(f"{prog}: {describe(e)}", file=sys.stderr, flush=True)
        return EXIT_USAGE if isinstance(e, UsageError) else EXIT_FAILED


def _dispatch(cmd: str, rest: list[str]) -> int:
    if cmd == "app":
        from .app import main as app_main

        return app_main(rest)
    if cmd == "demo":
        from .demo import main as demo_main

        return demo_main(rest)
    if cmd in ("serve", "users", "backup"):
        from .service import cli as service_cli

        return {"serve": service_cli.serve_main, "users": service_cli.users_main,
                "backup": service_cli.backup_main}[cmd](rest)
    from .feed.cli import main as feed_main

    return feed_main([cmd, *rest])


def _prog(cmd: str, rest: Sequence[str]) -> str:
    if cmd == "feed" and rest and not rest[0].startswith("-"):
        return f"papernb feed {rest[0]}"
    return f"papernb {cmd}"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or debug_enabled()
    args = [a for a in args if a != "--debug"]
    if not args or args[0] in ("-h", "--help", "help"):
        print(_USAGE)
        return 0
    cmd, rest = args[0], args[1:]
    setup_logging(debug)
    if cmd not in ("app", "demo", "feed", "quotes", "record", "serve", "users", "backup"):
        print(f"papernb: unknown command {cmd!r}; commands: app, demo, feed, quotes, record, serve, users, backup "
              f"(see: papernb --help)", file=sys.stderr)
        return EXIT_USAGE
    code = run_command(_prog(cmd, rest), lambda: _dispatch(cmd, rest), debug=debug)
    try:  # what is still buffered: a reader that left must not make the interpreter print a stack at exit
        sys.stdout.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return code


if __name__ == "__main__":
    # `python -m papernb.cli`: run the module the rest of papernb imports, so that its error
    # classes (UsageError) are the ones the commands raise
    from papernb.cli import main as _main

    sys.exit(_main())
