"""The Keras import (naming the backends to install when it fails) and the backend helpers
shared by the Keras metrics (:mod:`affectmetrics.keras`, :mod:`affectmetrics.keras._labels`)."""

from __future__ import annotations

import importlib
import importlib.util
import operator
import sys
from types import ModuleType
from typing import Any

import numpy as np

__all__: list[str] = []

_BACKENDS_HINT = (
    "install one Keras backend: pip install tensorflow-cpu (or tensorflow), "
    "pip install torch, or pip install jax; then choose it with the KERAS_BACKEND "
    "environment variable (tensorflow, torch or jax)"
)


def _import_keras() -> ModuleType:
    """Import Keras, or say what to install: the extra, or (Keras present) a backend."""
    try:
        return importlib.import_module("keras")
    except ImportError as exc:
        if importlib.util.find_spec("keras") is None:
            raise ImportError(
                "affectmetrics.keras needs the optional dependency 'keras', which is not "
                "installed; install it with: pip install 'affectmetrics[keras]', and "
                f"{_BACKENDS_HINT}") from exc
        raise ImportError(
            f"affectmetrics.keras: Keras is installed but could not import its backend "
            f"({exc}); {_BACKENDS_HINT}") from exc


keras = _import_keras()
ops = keras.ops

try:  # Keras runs functions on placeholder data inside a SymbolicScope (shape inference)
    from keras.src.backend.common.stateless_scope import in_stateless_scope
    from keras.src.backend.common.symbolic_scope import in_symbolic_scope
except ImportError:  # pragma: no cover - a Keras without them

    def in_symbolic_scope() -> bool:
        return False

    def in_stateless_scope() -> bool:
        return True  # never take the in-place torch path below

def _float64_available() -> bool:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return bool(jax.config.read("jax_enable_x64"))
    return backend in ("tensorflow", "torch", "numpy")


def _is_concrete(value: Any) -> bool:
    """True outside a traced function (tf.function, jax.jit, torch.compile) and outside
    Keras' shape inference (which runs eagerly on placeholder data with the torch backend)."""
    if in_symbolic_scope():
        return False
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.executing_eagerly())
    if backend == "jax":
        import jax

        return not isinstance(value, jax.core.Tracer)
    if backend == "torch":
        import torch

        return not torch.compiler.is_compiling()
    return True


def _on_host(value: Any) -> bool:
    """True for NumPy data and CPU tensors: validating them with NumPy costs no transfer."""
    device = getattr(value, "device", None)
    if device is None:
        return True
    kind = getattr(device, "type", None) or getattr(device, "platform", None) or device
    return "cpu" in str(kind).lower()


def _numpy(value: Any) -> np.ndarray:
    """A tensor or variable as NumPy (TensorFlow and torch tensors through ``.numpy()``,
    which, unlike ``np.array`` on them, does not warn under NumPy 2).

    Floats NumPy has no dtype of its own for (bfloat16, float8: ``ml_dtypes`` arrays, or
    torch tensors, which cannot be converted at all) come back as float32, exactly.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow" and hasattr(value, "numpy"):
        return _plain(np.asarray(value.numpy()))
    if backend == "torch" and hasattr(value, "detach"):
        value = value.detach()
        if value.is_floating_point() and value.element_size() <= 2 \
                and value.dtype != _torch_float16():
            value = value.float()  # bfloat16, float8: NumPy has no dtype for them
        return value.cpu().numpy()
    return _plain(np.asarray(ops.convert_to_numpy(value)))


def _torch_float16() -> Any:
    """torch.float16, the one float under 4 bytes that NumPy has."""
    import torch

    return torch.float16


def _plain(values: np.ndarray) -> np.ndarray:
    """An ``ml_dtypes`` float array (bfloat16, float8; NumPy kind ``"V"``) as float32,
    which holds each of its values exactly; any other array as it is."""
    return values.astype(np.float32) if values.dtype.kind == "V" else values


def _host(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return _plain(value)
    return value if isinstance(value, (list, tuple, int, float)) else _numpy(value)


def _same_rank(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Keras' convention for targets and predictions whose ranks differ by one: a trailing
    axis of length 1 is dropped (``y`` of shape ``(n,)`` against a ``Dense(1)`` output
    ``(n, 1)``), as Keras' own metrics and losses do, and as the compiled update does.
    Nothing else is reshaped or broadcast: ``(4, 1)`` against ``(1, 1)`` stays refused."""
    try:
        t_shape, p_shape = np.shape(y_true), np.shape(y_pred)
    except ValueError:  # ragged lists: the core's checks name them
        return y_true, y_pred
    if len(t_shape) == len(p_shape) + 1 and t_shape[-1:] == (1,):
        return np.reshape(y_true, t_shape[:-1]), y_pred
    if len(p_shape) == len(t_shape) + 1 and p_shape[-1:] == (1,):
        return y_true, np.reshape(y_pred, p_shape[:-1])
    return y_true, y_pred


def _positive_int(value: Any, name: str) -> int:
    """A positive integer argument (Python or NumPy integer; not bool, not a float)."""
    try:
        number = operator.index(value)
    except TypeError:
        number = 0
    if isinstance(value, (bool, np.bool_)) or number < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return number




_STEPS = ("train_step", "test_step")


def _in_keras_step() -> bool:
    """True when ``result()`` is read inside a Keras ``train_step``/``test_step``.

    Keras reads every metric after each step to show running values; on the PyTorch
    backend that read is eager (on TensorFlow and JAX it is traced, without warnings). A
    running value may be undefined after the first batches (one sample, a constant first
    batch) although the epoch's is not, so warnings belong to the epoch-end read only.
    """
    frame = sys._getframe(2)
    for _ in range(8):
        if frame is None:
            return False
        code = frame.f_code
        if code.co_name in _STEPS and "trainer" in code.co_filename \
                and "keras" in code.co_filename:
            return True
        frame = frame.f_back
    return False
