"""Run a recipe's `main` so that user errors print one clear line, not a stack trace."""

import os
import sys

from zoo.data import DataError
from zoo.export import ExportParityError
from zoo.training.distribute import StrategyError
from zoo.training.loop import InterruptedRunError

USER_ERRORS = (DataError, InterruptedRunError, ExportParityError, StrategyError, FileNotFoundError, PermissionError)


def run_main(main, argv=None):
    """Call `main(argv)`; errors a user can fix exit with status 1 and one line.

    Set `ZOO_DEBUG=1` to see the full traceback instead.
    """
    try:
        return main(argv)
    except USER_ERRORS as error:
        if os.environ.get("ZOO_DEBUG"):
            raise
        print(f"error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\ninterrupted; continue with --resume", file=sys.stderr, flush=True)
        sys.exit(130)
