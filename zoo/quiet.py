"""Silence native (C++) log lines that TensorFlow writes straight to fd 2, unless something fails."""

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
