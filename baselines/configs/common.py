"""The study's protocol (``shared/study/fer-cnn-study.txt``), shared by every model."""

from __future__ import annotations

from typing import Any


def get_config() -> dict[str, Any]:
    return {
        "model": None,                  # set by each model's file
        "weights": "imagenet",          # "imagenet", None (random), or a weights file
        "allow_random_weights": False,  # fall back to random init if imagenet is unavailable
        "preprocess": "backbone",       # "backbone" (each model's own) or "study" (x / 255)
        "image_size": 224,
        "split": (2559, 640, 800),      # train / validation / test, stratified
        "seed": 0,
        "batch_size": 32,
        "epochs": 20,
        "learning_rate": 1e-4,          # Adam, reduced on plateau
        "plateau_monitor": "val_f1",    # written by affectmetrics.keras.AffectMetricsCallback
        "plateau_factor": 0.5,
        "plateau_patience": 3,
        "unfreeze_top": 0,              # >0: fine-tune the top N backbone layers end to end
        "standardize_features": False,  # z-score pooled features (not in the study)
        "head": {"shared": 512, "expression": 256, "valence_arousal": 128},
    }
