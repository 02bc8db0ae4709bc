"""``python -m desktop_app`` and the ``huewall`` command.

With a command (``fetch``, ``set``, ``doctor``, ``locales``) it is the command line, which
never loads Qt; with none it starts the tray app (``desktop_app.qt.app``).
"""

from __future__ import annotations

import sys


def main() -> int:
    from desktop_app.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
