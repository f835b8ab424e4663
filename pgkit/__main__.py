"""``python -m pgkit``: the command line, which lives in :mod:`pgkit.cli`."""

import sys

# Kept for one release: these lived here before pgkit.cli, pgkit.cli_train and pgkit.signals.
from pgkit.cli import ALGOS, main  # noqa: F401
from pgkit.cli_train import RESERVED  # noqa: F401
from pgkit.signals import EXIT_SIGINT, EXIT_SIGTERM  # noqa: F401

if __name__ == "__main__":
    sys.exit(main())
