"""Puts this folder on `sys.path` so the tests can `import bert_reference`."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
