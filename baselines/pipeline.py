"""Feature extraction with a disk cache, head training, and one model's whole run.

The backbone is frozen, so its pooled features are a fixed function of the image: they are
computed once per split and cached on disk under a key of (backbone, weights,
preprocessing, image size, file list), and the head trains on them. This gives the same
head as training the full model end to end with the frozen backbone
(``tests/test_baselines.py`` checks it) at a fraction of the cost. With
``unfreeze_top > 0`` the model is instead trained end to end on images.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from affectmetrics import AFFECTNET_CLASSES
from affectmetrics.keras import AffectMetricsCallback

from .data import ImageBatches, Samples
from .models import (
    ParameterCounts,
    build_backbone,
    build_head,
    build_model,
    parameter_counts,
    preprocessing,
    unfreeze_top,
)

__all__ = ["ModelRun", "extract_features", "run_model", "train_head"]


def _progress(total: int, description: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="img", leave=False,
                disable=not sys.stderr.isatty())


def _cache_key(backbone: str, weights: str | None, preprocess: str, image_size: int,
               samples: Samples) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([backbone, str(weights), preprocess, image_size]).encode())
    for path in samples.paths:
        digest.update(path.encode())
    if samples.boxes is not None:
        digest.update(samples.boxes.tobytes())
    return digest.hexdigest()[:20]


def extract_features(backbone: keras.Model, name: str, weights: str | None, preprocess: str,
                     image_size: int, samples: Samples, cache_dir: Path | None = None,
                     batch_size: int = 32, description: str = "features") -> np.ndarray:
    """Globally average-pooled backbone features of every sample, from cache if present."""
    path = None
    if cache_dir is not None:
        key = _cache_key(name, weights, preprocess, image_size, samples)
        path = Path(cache_dir) / f"{name}-{preprocess}-{image_size}-{key}.npy"
        if path.is_file():
            return np.load(path)
    batches = ImageBatches(samples, image_size, preprocessing(name, preprocess), batch_size)
    pool = keras.layers.GlobalAveragePooling2D()
    parts = []
    with _progress(len(samples), description) as bar:
        for i in range(len(batches)):
            x = batches[i]
            parts.append(keras.ops.convert_to_numpy(pool(backbone(x, training=False))))
            bar.update(x.shape[0])
    features = np.concatenate(parts).astype(np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, features)
    return features


def _targets(samples: Samples) -> dict[str, np.ndarray]:
    return {"expression": samples.labels, "valence_arousal": samples.va.astype(np.float32)}


def _compile(model: keras.Model, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss={"expression": "sparse_categorical_crossentropy", "valence_arousal": "mse"},
        metrics={"expression": ["accuracy"]},
    )


def _callbacks(config: dict[str, Any], validation: Any, workdir: Path,
               checkpoint: str) -> list[Any]:
    # AffectMetricsCallback comes first so that the scheduler and the checkpoint can
    # monitor the keys it writes.
    monitor = config["plateau_monitor"]
    return [
        AffectMetricsCallback(validation),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=config["plateau_factor"],
                                          patience=config["plateau_patience"]),
        keras.callbacks.ModelCheckpoint(str(workdir / checkpoint), monitor=monitor,
                                        save_best_only=True, save_weights_only=True),
        keras.callbacks.CSVLogger(str(workdir / "log.csv")),
    ]


def train_head(features: dict[str, np.ndarray], samples: dict[str, Samples],
               config: dict[str, Any], workdir: Path) -> tuple[keras.Model, dict[str, list]]:
    """Train the study's head on cached features; returns the head and its history.

    The weights of the epoch with the best validation ``plateau_monitor`` are restored at
    the end (ModelCheckpoint), as a paper would report.
    """
    keras.utils.set_random_seed(config["seed"])
    head = build_head(features["train"].shape[1], config["head"], seed=config["seed"])
    _compile(head, config["learning_rate"])
    validation = (features["val"], _targets(samples["val"]))
    history = head.fit(features["train"], _targets(samples["train"]),
                       validation_data=validation, batch_size=config["batch_size"],
                       epochs=config["epochs"], shuffle=True,
                       verbose=1 if sys.stdout.isatty() else 0,
                       callbacks=_callbacks(config, validation, workdir, "head.weights.h5"))
    best = workdir / "head.weights.h5"
    if best.is_file():
        head.load_weights(str(best))
    return head, history.history


@dataclass
class ModelRun:
    """Everything one model's run produced (also written to its work folder)."""

    name: str
    weights: str
    parameters: ParameterCounts
    history: dict[str, list]
    test_scores: np.ndarray  # (n, 8) softmax
    test_va: np.ndarray  # (n, 2)
    feature_stats: dict[str, float]


def _feature_stats(features: np.ndarray) -> dict[str, float]:
    """How much the pooled features vary between images (0: every image looks the same)."""
    spread = features.std(axis=0).mean()
    level = np.abs(features).mean()
    return {"mean_abs": float(level), "between_image_std": float(spread),
            "relative_spread": float(spread / level) if level > 0 else 0.0}


def run_model(config: dict[str, Any], samples: dict[str, Samples], workdir: Path,
              cache_dir: Path | None, weights: str | None, weights_label: str,
              backbone: keras.Model | None = None) -> ModelRun:
    """Build (unless ``backbone`` is given), extract (or train end to end), train, predict the
    test split, save outputs."""
    name = config["model"]
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(json.dumps({**config, "weights_used": weights_label},
                                                    indent=1) + "\n")
    keras.utils.set_random_seed(config["seed"])
    if backbone is None:
        backbone = build_backbone(name, weights, config["image_size"])
    head_probe = build_head(backbone.output_shape[-1], config["head"], seed=config["seed"])
    full = build_model(backbone, head_probe)
    counts = parameter_counts(full)
    if config["unfreeze_top"] > 0:
        unfreeze_top(backbone, config["unfreeze_top"])
        _compile(full, config["learning_rate"])
        prep = preprocessing(name, config["preprocess"])
        size, batch = config["image_size"], config["batch_size"]
        train = ImageBatches(samples["train"], size, prep, batch, with_targets=True)
        val_x = ImageBatches(samples["val"], size, prep, batch, with_targets=True)
        history = full.fit(train, epochs=config["epochs"], verbose=2,
                           callbacks=_callbacks(config, val_x, workdir, "model.weights.h5"))
        history = history.history
        test = ImageBatches(samples["test"], size, prep, batch)
        predictions = full.predict(test, verbose=0)
        stats = {}
    else:
        features = {
            split: extract_features(backbone, name, weights, config["preprocess"],
                                    config["image_size"], part, cache_dir,
                                    config["batch_size"], f"{name} {split} features")
            for split, part in samples.items()
        }
        stats = _feature_stats(features["train"])
        if config.get("standardize_features"):
            # z-score with the training split's statistics (a linear probe's usual step;
            # not in the study: see docs/baselines.md).
            mean = features["train"].mean(axis=0)
            scale = features["train"].std(axis=0) + 1e-12
            np.savez(workdir / "feature_scaler.npz", mean=mean, scale=scale)
            features = {split: (values - mean) / scale for split, values in features.items()}
        head, history = train_head(features, samples, config, workdir)
        predictions = head.predict(features["test"], batch_size=256, verbose=0)
    scores = keras.ops.convert_to_numpy(predictions["expression"])
    va = keras.ops.convert_to_numpy(predictions["valence_arousal"])
    _write_predictions(workdir / "predictions.csv", samples["test"], scores, va)
    return ModelRun(name, weights_label, counts, history, scores, va, stats)


def _write_predictions(path: Path, samples: Samples, scores: np.ndarray, va: np.ndarray
                       ) -> None:
    """The test predictions in the ``affectmetrics evaluate`` CSV format."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "expression", "valence", "arousal", "valence_pred",
                         "arousal_pred", *(f"score_{c}" for c in AFFECTNET_CLASSES)])
        for i in range(len(samples)):
            writer.writerow([Path(samples.paths[i]).name, int(samples.labels[i]),
                             *(f"{v:.6f}" for v in samples.va[i]),
                             *(f"{v:.6f}" for v in va[i]), *(f"{v:.6f}" for v in scores[i])])
