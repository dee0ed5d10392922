"""The Keras import (naming the backends to install when it fails) and the backend helpers
shared by the Keras metrics (:mod:`affectmetrics.keras`, :mod:`affectmetrics._keras_labels`)."""

from __future__ import annotations

import importlib
import importlib.util
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
    which, unlike ``np.array`` on them, does not warn under NumPy 2)."""
    backend = keras.backend.backend()
    if backend == "tensorflow" and hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    if backend == "torch" and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(ops.convert_to_numpy(value))


def _host(value: Any) -> Any:
    return value if isinstance(value, (np.ndarray, list, tuple, int, float)) \
        else _numpy(value)


