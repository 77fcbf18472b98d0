"""Run a recipe's `main` so that user errors print one clear line, not a stack trace."""

import os
import sys

from zoo.errors import ZooUserError
from zoo.quiet import start_tensorflow_quietly

# Every `ZooUserError`: DataError, InterruptedRunError, StrategyError, ExportParityError, ...
USER_ERRORS = (ZooUserError, FileNotFoundError, PermissionError)


def run_main(main, argv=None):
    """Call `main(argv)`; errors a user can fix exit with status 1 and one line.

    Args:
        main: a recipe's `main(argv)`.
        argv: its arguments; None reads `sys.argv[1:]`.

    Returns:
        What `main` returns.

    Raises:
        SystemExit: status 1 after a `ZooUserError`, `FileNotFoundError` or
            `PermissionError` (printed as `error: MESSAGE` on stderr; set
            `ZOO_DEBUG=1` to see the traceback instead), 130 after Ctrl-C.
    """
    start_tensorflow_quietly()  # TensorFlow's device start-up lines, hidden
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
