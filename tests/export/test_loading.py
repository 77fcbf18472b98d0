"""A string-in SavedModel in a fresh Python: plain tf.saved_model.load needs tensorflow-text's ops;
`zoo.export.load_saved_model` registers them first."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from zoo.export import export_saved_model
from zoo.models import TextClassifier
from zoo.tokenizers import SPECIAL_TOKENS

ROOT = pathlib.Path(__file__).resolve().parents[2]
VOCABULARY = list(SPECIAL_TOKENS) + "a the film is witty gorgeous dull plot mess".split()
TEXTS = ["a gorgeous, witty film", "the plot is a MESS"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = TextClassifier.from_preset("tiny", vocabulary=VOCABULARY, class_names=["negative", "positive"])
    path, _ = export_saved_model(model, tmp_path_factory.mktemp("export") / "sentiment")
    return path, tf.nn.softmax(model.predict(TEXTS, verbose=0)).numpy()


def fresh_python(code, *args):
    env = {k: v for k, v in os.environ.items() if k != "ZOO_DEBUG"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_plain_tf_saved_model_load_fails_without_tensorflow_text(exported):
    # The trap the README's serving section warns about; if TensorFlow ever registers these
    # ops itself, this fails and the README's note can go.
    child = fresh_python("import sys, tensorflow as tf\ntf.saved_model.load(sys.argv[1])\n", str(exported[0]))
    assert child.returncode != 0
    assert "Op type not registered 'FastBertNormalize'" in child.stderr


def test_load_saved_model_serves_strings_in_a_fresh_python(exported):
    path, expected = exported
    child = fresh_python(
        "import json, sys\n"
        "from zoo.export import load_saved_model\n"
        "serve = load_saved_model(sys.argv[1]).signatures['serving_default']\n"
        "outputs = serve(text=__import__('tensorflow').constant(json.loads(sys.argv[2])))\n"
        "print(json.dumps(outputs['probabilities'].numpy().tolist()))\n",
        str(path),
        json.dumps(TEXTS),
    )
    assert child.returncode == 0, child.stderr[-3000:]
    probabilities = np.array(json.loads(child.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
