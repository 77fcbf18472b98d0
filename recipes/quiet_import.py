"""Import `zoo` (and with it TensorFlow) with TensorFlow's native start-up lines captured.

`recipes/__init__.py` imports this first, so `python -m recipes.<task>`
prints none of the notices TensorFlow's shared libraries write to fd 2
when loaded. `zoo.quiet` holds the capture, but importing it would import
`zoo` (and TensorFlow) first; so its file, which needs only the standard
library, is run by path here.
"""

import importlib.util
import pathlib
import runpy

_QUIET = runpy.run_path(str(pathlib.Path(importlib.util.find_spec("zoo").origin).with_name("quiet.py")))

with _QUIET["native_stderr_captured"]():
    import zoo  # noqa: F401
