"""Speed, size and quality benchmarks: `python -m benchmarks.<name>`.

Like the recipes, they import zoo (so TensorFlow) and start its devices
with TensorFlow's native start-up lines captured; `import zoo` itself
leaves stderr alone.
"""

import recipes.quiet_import  # noqa: F401  (imports zoo, so TensorFlow, quietly)
from zoo.quiet import start_tensorflow_quietly

start_tensorflow_quietly()
