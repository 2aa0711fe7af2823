"""The ``papernb`` command line: one entry point, a subcommand per job."""

from __future__ import annotations

import sys
from collections.abc import Sequence

_USAGE = """usage: papernb COMMAND [ARGS]

commands:
  app [--port P] [--no-browser] [--account A] [--book F] [--feed sim|redis|replay:PATH] [--redis URL]
                            serve the trading app with Voila on 127.0.0.1 (simulated market by default)
  demo                      open a throwaway book, trade on a few quotes, print the account
  feed sim|replay|excel     run a quote source (see: papernb feed --help)
  quotes SYMBOL...          latest quotes from Redis
  record --to FILE          record the live tape
"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_USAGE)
        return 0
    cmd, rest = args[0], args[1:]
    if cmd == "app":
        from .app import main as app_main

        return app_main(rest)
    if cmd == "demo":
        from .demo import main as demo_main

        return demo_main(rest)
    if cmd in ("feed", "quotes", "record"):
        from .feed.cli import main as feed_main

        return feed_main([cmd, *rest])
    print(f"papernb: unknown command {cmd!r}\n\n{_USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
