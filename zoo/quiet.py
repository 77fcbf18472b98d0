"""Silence native (C++) log lines that TensorFlow writes straight to fd 2, unless something fails.

This module imports only the standard library (`recipes.quiet_import` runs
it before `zoo`, and so TensorFlow, is imported).
"""

import contextlib
import os
import sys
import tempfile


@contextlib.contextmanager
def native_stderr_captured():
    """Redirect file descriptor 2 to a temporary file for the duration of the block.

    Set `ZOO_DEBUG=1` to see everything instead.

    The TFLite converter logs dozens of absl INFO/WARNING lines per
    conversion straight to fd 2, which `TF_CPP_MIN_LOG_LEVEL` does not
    silence. If the block raises, the captured text is written back to
    stderr so no diagnostic is lost.
    """
    if os.environ.get("ZOO_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved_fd, 2)
            capture.seek(0)
            sys.stderr.write(capture.read().decode("utf-8", "replace"))
            sys.stderr.flush()
            raise
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)


def start_tensorflow_quietly():
    """Import TensorFlow and start its devices with the lines they print to fd 2 captured.

    TensorFlow's shared libraries print start-up notices when loaded
    (oneDNN, "Could not find cuda drivers") and when its devices start
    ("failed call to cuInit" on a machine without a GPU), ignoring
    `TF_CPP_MIN_LOG_LEVEL`, which this sets to 2 unless it is set. Programs
    call it where their TensorFlow work starts (`zoo.training.cli.run_main`
    does); `import zoo` never does, so a library user can still configure
    devices after importing zoo. `ZOO_DEBUG=1` shows the lines. Calling it
    again costs nothing.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_captured():
        import tensorflow

        tensorflow.config.list_physical_devices()  # device start-up logs "failed call to cuInit"
