"""Rerun the backend-agnostic Keras tests on the PyTorch and JAX backends, in fresh processes
(a process has one Keras backend): the tests of tests/test_keras.py whose names contain
"portable", and the keras path of the conformance registry on a subset of its rows."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
# JAX computes in float32 unless x64 is enabled; the metrics need float64 state.
BACKENDS = {"torch": {}, "jax": {"JAX_ENABLE_X64": "1"}}
CONFORMANCE_SUBSET = ("keras and (random-2d or issue10 or both-constant or n1 or n2 "
                      "or nan-omit or shape-mismatch or float32-far or bool or uar/ "
                      "or multilabel_f1/)")


def _pytest(backend, *args):
    env = {**os.environ, "KERAS_BACKEND": backend, **BACKENDS[backend]}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *args, "-q", "-p", "no:cacheprovider",
         "-o", "addopts=", "-W", "error::affectmetrics.UndefinedMetricWarning"],
        capture_output=True, text=True, env=env, timeout=900, cwd=TESTS.parent)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary
    shown = subprocess.run(
        [sys.executable, "-c", "import keras; print(keras.backend.backend())"],
        capture_output=True, text=True, env=env).stdout
    assert backend in shown
    return summary


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_portable_keras_tests_and_conformance_rows_on_another_backend(backend):
    # One process per backend (start-up and collection cost more than the tests).
    summary = _pytest(backend, str(TESTS / "test_keras.py"), str(TESTS / "test_conformance.py"),
                      "-k", f"portable or ({CONFORMANCE_SUBSET})")
    assert int(summary.split(" passed")[0].split()[-1]) >= 100
