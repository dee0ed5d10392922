"""Backbones, per-backbone preprocessing, the study's multi-task head, parameter counts.

Keras 3 API only (``keras.applications``, ``keras.layers``), so the models run on any
backend. The backbone is frozen and called with ``training=False`` (its BatchNorm layers
keep their ImageNet statistics).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

__all__ = ["BACKBONES", "ParameterCounts", "build_backbone", "build_head", "build_model",
           "parameter_counts", "preprocessing"]


def _identity(x: np.ndarray) -> np.ndarray:
    # EfficientNet's rescaling and normalisation are layers inside the model: it takes
    # raw 0-255 pixels.
    return x


def _study(x: np.ndarray) -> np.ndarray:
    # The study's likely input pipeline: pixels / 255 for every backbone.
    return x / 255.0


#: name -> (constructor, preprocess_input)
BACKBONES: dict[str, tuple[Callable[..., Any], Callable[[np.ndarray], np.ndarray]]] = {
    "resnet50": (keras.applications.ResNet50, keras.applications.resnet50.preprocess_input),
    "vgg16": (keras.applications.VGG16, keras.applications.vgg16.preprocess_input),
    "efficientnetb0": (keras.applications.EfficientNetB0, _identity),
}
DISPLAY_NAMES = {"resnet50": "ResNet50", "vgg16": "VGG16", "efficientnetb0": "EfficientNetB0"}


def preprocessing(name: str, mode: str = "backbone") -> Callable[[np.ndarray], np.ndarray]:
    """The input transform: the backbone's own (``"backbone"``) or the study's /255."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose from {sorted(BACKBONES)}")
    if mode == "study":
        return _study
    if mode != "backbone":
        raise ValueError(f"preprocess must be 'backbone' or 'study', got {mode!r}")
    preprocess = BACKBONES[name][1]
    # keras' preprocess_input may modify its argument in place: give it a copy.
    return lambda x: preprocess(np.array(x, dtype=np.float32, copy=True))


def build_backbone(name: str, weights: str | None, image_size: int) -> keras.Model:
    """The frozen convolutional base (no top)."""
    constructor = BACKBONES[name][0]
    file_weights = weights not in (None, "imagenet")
    backbone = constructor(include_top=False, weights=None if file_weights else weights,
                           input_shape=(image_size, image_size, 3))
    if file_weights:
        backbone.load_weights(weights)
    backbone.trainable = False
    return backbone


def build_head(feature_dim: int, sizes: dict[str, int] | None = None,
               seed: int | None = None) -> keras.Model:
    """The study's head on pooled features: Dense(512) -> expression Dense(256) -> Dense(8,
    softmax) and valence/arousal Dense(128) -> Dense(2, tanh)."""
    sizes = sizes or {"shared": 512, "expression": 256, "valence_arousal": 128}

    def init(offset: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(seed=None if seed is None else seed + offset)

    features = keras.Input((feature_dim,), name="features")
    shared = keras.layers.Dense(sizes["shared"], activation="relu", name="shared",
                                kernel_initializer=init(0))(features)
    e = keras.layers.Dense(sizes["expression"], activation="relu", name="expression_hidden",
                           kernel_initializer=init(1))(shared)
    e = keras.layers.Dense(8, activation="softmax", name="expression",
                           kernel_initializer=init(2))(e)
    v = keras.layers.Dense(sizes["valence_arousal"], activation="relu", name="va_hidden",
                           kernel_initializer=init(3))(shared)
    v = keras.layers.Dense(2, activation="tanh", name="valence_arousal",
                           kernel_initializer=init(4))(v)
    return keras.Model(features, {"expression": e, "valence_arousal": v}, name="head")


def build_model(backbone: keras.Model, head: keras.Model) -> keras.Model:
    """Image -> frozen backbone (training=False) -> global average pooling -> head."""
    images = keras.Input(backbone.input_shape[1:], name="image")
    maps = backbone(images, training=False)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(maps)
    return keras.Model(images, head(pooled), name=f"{backbone.name}_multitask")


@dataclass(frozen=True)
class ParameterCounts:
    total: int
    trainable: int
    non_trainable: int

    @staticmethod
    def describe(count: int) -> str:
        """The study's format: millions and float32 megabytes to three significant figures."""
        return f"{count / 1e6:.3g}M ({count * 4 / 2 ** 20:.3g} MB)"

    def row(self) -> list[str]:
        return [f"{self.describe(c)} [{c:,}]"
                for c in (self.total, self.trainable, self.non_trainable)]


def parameter_counts(model: keras.Model) -> ParameterCounts:
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    frozen = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return ParameterCounts(trainable + frozen, trainable, frozen)


def unfreeze_top(backbone: keras.Model, layers: int) -> None:
    """Make the top ``layers`` of the backbone trainable (BatchNorm layers stay frozen)."""
    if layers <= 0:
        return
    backbone.trainable = True
    for layer in backbone.layers[:-layers]:
        layer.trainable = False
    for layer in backbone.layers[-layers:]:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
