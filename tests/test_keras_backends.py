"""Rerun the backend-agnostic Keras tests on the PyTorch backend, in a fresh process
(a process has one Keras backend)."""

import os
import subprocess
import sys
from pathlib import Path


def test_keras_metrics_on_the_torch_backend():
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    test_file = Path(__file__).with_name("test_keras.py")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), "-k", "portable", "-q",
         "-p", "no:cacheprovider", "-o", "addopts="],
        capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary
    assert "torch" in subprocess.run(
        [sys.executable, "-c", "import keras; print(keras.backend.backend())"],
        capture_output=True, text=True, env=env).stdout
