"""``python -m baselines.explain``: why the study's ResNet50 collapsed and VGG16 did not.

Hypothesis: the study fed every backbone pixels / 255 instead of each backbone's own
preprocessing (caffe: BGR, ImageNet means subtracted, range about +-128). A frozen network
whose BatchNorm layers hold statistics fitted to caffe-scaled inputs (ResNet50, and
EfficientNetB0) then subtracts means about a hundred times larger than its /255
activations: every image maps to nearly the same pooled features, and the head can only
predict one class. VGG16 has no BatchNorm; a ReLU network without normalisation is
positively homogeneous apart from its biases, so /255 mostly rescales its features, which
stay informative.

ImageNet weights cannot be downloaded here, so the experiment stands in for ImageNet
training by *calibrating* each randomly initialised backbone's BatchNorm statistics on
correctly preprocessed images (one forward pass in training mode with momentum 0), then
compares, for both preprocessings, the pooled features' magnitude and between-image spread,
what a linear probe on standardised features reaches on held-out images (the information
the features hold), and what the study's head trained as in the study reaches (and how many
classes it predicts). With random BatchNorm statistics (mean 0, variance 1) the BatchNorm
mechanism is absent, which is the control. With real ImageNet weights rerun with
``--weights imagenet``. The findings are in docs/baselines.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np

from .data import ImageBatches, generate_synthetic, load_affectnet_folder, stratified_split
from .models import DISPLAY_NAMES, build_backbone, build_head, preprocessing
from .pipeline import extract_features

__all__ = ["calibrate_batchnorm", "main"]


def calibrate_batchnorm(backbone: keras.Model, images: np.ndarray) -> int:
    """Set every BatchNorm layer's moving statistics to those of ``images`` (preprocessed).

    Returns the number of BatchNorm layers calibrated.
    """
    layers = [layer for layer in backbone.layers
              if isinstance(layer, keras.layers.BatchNormalization)]
    if not layers:
        return 0
    momenta = [layer.momentum for layer in layers]
    trainable = backbone.trainable
    # A frozen BatchNorm runs in inference mode even with training=True: unfreeze it for
    # the one calibration pass.
    backbone.trainable = True
    for layer in layers:
        layer.momentum = 0.0
    backbone(images, training=True)
    for layer, momentum in zip(layers, momenta, strict=True):
        layer.momentum = momentum
    backbone.trainable = trainable
    return len(layers)


def _probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
           test_y: np.ndarray, seed: int) -> float:
    """Held-out accuracy of a softmax regression on the standardised pooled features.

    Standardising separates what the features *contain* from their scale (which the study's
    head, trained on raw features with Adam at 1e-4, also has to overcome; see the
    magnitude column).
    """
    mean, scale = train_x.mean(axis=0), train_x.std(axis=0) + 1e-30
    train_x, test_x = (train_x - mean) / scale, (test_x - mean) / scale
    keras.utils.set_random_seed(seed)
    probe = keras.Sequential([keras.Input((train_x.shape[1],)),
                              keras.layers.Dense(8, activation="softmax")])
    probe.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    probe.fit(train_x, train_y, epochs=30, batch_size=32, verbose=0)
    return float(probe.evaluate(test_x, test_y, verbose=0)[1])


def _study_head(train_x: np.ndarray, train: Any, test_x: np.ndarray, test: Any) -> str:
    """The study's head and protocol (raw features, Adam 1e-4, 20 epochs, batch 32)."""
    keras.utils.set_random_seed(0)
    head = build_head(train_x.shape[1], seed=0)
    head.compile(optimizer=keras.optimizers.Adam(1e-4),
                 loss={"expression": "sparse_categorical_crossentropy",
                       "valence_arousal": "mse"})
    head.fit(train_x, {"expression": train.labels,
                       "valence_arousal": np.nan_to_num(train.va).astype("float32")},
             epochs=20, batch_size=32, verbose=0)
    predicted = np.argmax(keras.ops.convert_to_numpy(
        head.predict(test_x, verbose=0)["expression"]), axis=1)
    accuracy = float(np.mean(predicted == test.labels))
    return f"{accuracy:.4f} ({np.unique(predicted).shape[0]} of 8)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baselines.explain",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="per-image AffectNet layout (default: the "
                                                  "synthetic set)")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--train", type=int, default=1200, help="probe training images")
    parser.add_argument("--test", type=int, default=400, help="probe test images")
    parser.add_argument("--weights", default="none", help="none (calibrated and random BN) "
                                                          "or imagenet")
    parser.add_argument("--workdir", type=Path, default=Path("runs/explain"))
    args = parser.parse_args(argv)
    root = args.data
    if root is None:
        root = args.workdir.parent / "synthetic-faces"
        if not (root / "SYNTHETIC.txt").is_file():
            generate_synthetic(root, seed=0)
    samples = load_affectnet_folder(root)
    n = len(samples)
    split = stratified_split(samples.labels, (n - args.train - args.test, args.test,
                                              args.train), seed=0)
    train, test = samples.subset(split["test"]), samples.subset(split["val"])
    variants = (["calibrated BN", "random BN"] if args.weights == "none"
                else [args.weights])
    rows = []
    for name in ("resnet50", "vgg16", "efficientnetb0"):
        for variant in variants:
            if name == "vgg16" and variant == "random BN":
                continue  # VGG16 has no BatchNorm: one run covers it
            keras.utils.set_random_seed(0)
            weights = None if args.weights == "none" else args.weights
            backbone = build_backbone(name, weights, args.image_size)
            calibrated = 0
            if variant == "calibrated BN":
                batch = ImageBatches(train, args.image_size, preprocessing(name), 256)[0]
                calibrated = calibrate_batchnorm(backbone, batch)
            for mode in ("backbone", "study"):
                feats = {part: extract_features(backbone, name, weights, mode, args.image_size,
                                                data, None, 64, f"{name} {mode}")
                         for part, data in (("train", train), ("test", test))}
                magnitude = float(np.abs(feats["train"]).mean())
                spread = feats["train"].std(axis=0).mean() / (magnitude + 1e-30)
                accuracy = _probe(feats["train"], train.labels, feats["test"], test.labels, 0)
                head = _study_head(feats["train"], train, feats["test"], test)
                rows.append([DISPLAY_NAMES[name],
                             variant if calibrated or variant != "calibrated BN"
                             else "no BatchNorm", mode, f"{magnitude:.3g}", f"{spread:.4f}",
                             f"{accuracy:.4f}", head])
                print(" | ".join(rows[-1]), file=sys.stderr)
    header = ["Backbone", "BatchNorm statistics", "Preprocessing", "Mean abs feature",
              "Relative spread", "Probe accuracy", "Study head: accuracy (classes predicted)"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
              for r in rows]
    table = "\n".join(lines)
    args.workdir.mkdir(parents=True, exist_ok=True)
    (args.workdir / "explain.md").write_text(table + "\n")
    print(f"{len(train)} probe training and {len(test)} test images, image size "
          f"{args.image_size}; chance is 0.125.\n\n{table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
