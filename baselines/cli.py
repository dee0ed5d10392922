"""``python -m baselines``: the study's comparison, end to end, with one command."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from affectmetrics import DiagnosticWarning, evaluate, paired_comparison, side_by_side

from .data import (
    DataError,
    Samples,
    generate_synthetic,
    load_affectnet_csv,
    load_affectnet_folder,
    save_split,
    stratified_split,
)
from .models import DISPLAY_NAMES, build_backbone

__all__ = ["main"]

DEMO_IMAGE_SIZE = 64


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m baselines",
        description="Reproduce the ResNet50 / VGG16 / EfficientNetB0 transfer-learning study: "
                    "frozen backbones, the study's multi-task head, trained and scored with "
                    "affectmetrics. Without --data it runs on a synthetic face set it "
                    "generates (nothing is downloaded).")
    data = parser.add_argument_group("data")
    data.add_argument("--data", type=Path, metavar="PATH",
                      help="AffectNet in the per-image layout (images/, annotations/), or "
                           "its official CSV (with --image-root)")
    data.add_argument("--image-root", type=Path, metavar="DIR",
                      help="folder the CSV's subDirectory_filePath is relative to "
                           "(default: the CSV's folder)")
    data.add_argument("--skip-bad", action="store_true",
                      help="skip missing/unreadable images and bad codes (counted) instead "
                           "of stopping at the first")
    data.add_argument("--image-size", type=int,
                      help=f"input size (default: 224, or {DEMO_IMAGE_SIZE} on the synthetic "
                           "set to keep the demo to a few minutes on 2 CPU cores)")
    model = parser.add_argument_group("models")
    model.add_argument("--models", nargs="+", default=["resnet50", "vgg16", "efficientnetb0"],
                       choices=["resnet50", "vgg16", "efficientnetb0"],
                       help="backbones to compare (default: all three)")
    model.add_argument("--weights", default="imagenet", metavar="imagenet|none|FILE",
                       help="backbone weights (default: imagenet, from Keras' cache or a "
                            "download)")
    model.add_argument("--allow-random-weights", action="store_true",
                       help="if ImageNet weights cannot be had, continue with random "
                            "initialisation (every table says so)")
    model.add_argument("--preprocess", choices=["backbone", "study"], default="backbone",
                       help="each backbone's own preprocessing, or the study's likely "
                            "pixels/255 for all (default: backbone)")
    model.add_argument("--standardize-features", action="store_true",
                       help="z-score the pooled features with the training split's mean and "
                            "std before the head (not in the study; helps random backbones)")
    model.add_argument("--unfreeze", type=int, default=0, metavar="N",
                       help="fine-tune the top N backbone layers end to end (for GPUs)")
    train = parser.add_argument_group("training (the study's protocol by default)")
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--learning-rate", type=float, default=1e-4)
    train.add_argument("--seed", type=int, default=0, help="split, initialisation, bootstrap")
    out = parser.add_argument_group("output")
    out.add_argument("--workdir", type=Path, default=Path("runs/baselines"),
                     help="run folder (default: %(default)s)")
    out.add_argument("--cache-dir", type=Path, default=Path("runs/feature-cache"),
                     help="feature cache (default: %(default)s)")
    out.add_argument("--ci", type=float, default=0.95, help="bootstrap confidence level")
    out.add_argument("--n-resamples", type=int, default=1000)
    return parser


def _load(args: argparse.Namespace) -> tuple[Samples, str]:
    if args.data is None:
        root = args.workdir.parent / "synthetic-faces"
        if not (root / "SYNTHETIC.txt").is_file():
            generate_synthetic(root, seed=0)
        return load_affectnet_folder(root), f"synthetic faces ({root})"
    if not args.data.exists():
        raise DataError(f"{args.data}: no such file or folder")
    if args.data.is_file():
        return (load_affectnet_csv(args.data, args.image_root, skip_bad=args.skip_bad),
                f"AffectNet CSV {args.data}")
    return load_affectnet_folder(args.data, skip_bad=args.skip_bad), f"AffectNet {args.data}"


def _config(name: str, args: argparse.Namespace, image_size: int) -> dict[str, Any]:
    config = importlib.import_module(f"baselines.configs.{name}").get_config()
    config.update(weights=args.weights, allow_random_weights=args.allow_random_weights,
                  preprocess=args.preprocess, image_size=image_size, seed=args.seed,
                  batch_size=args.batch_size, epochs=args.epochs,
                  learning_rate=args.learning_rate, unfreeze_top=args.unfreeze,
                  standardize_features=args.standardize_features)
    return config


def _weights(config: dict[str, Any]) -> tuple[str | None, str, Any]:
    """The weights actually usable, how to describe them in every table, and the backbone
    when checking ImageNet's availability already built it (so it is not built twice)."""
    requested = config["weights"]
    if requested in (None, "none"):
        return None, "random initialisation", None
    if requested != "imagenet":
        if not Path(requested).is_file():
            raise DataError(f"{requested}: weights file not found")
        return requested, f"weights file {Path(requested).name}", None
    try:
        backbone = build_backbone(config["model"], "imagenet", config["image_size"])
        return "imagenet", "ImageNet", backbone
    except Exception as exc:  # keras raises bare Exception for a failed download
        if not config["allow_random_weights"]:
            raise DataError(
                f"ImageNet weights for {config['model']} are neither in Keras' cache nor "
                f"downloadable ({str(exc).splitlines()[0][:120]}); put them in "
                "~/.keras/models, pass --weights FILE, or --allow-random-weights") from None
        return None, "random initialisation (ImageNet weights unavailable here)", None


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    line = "| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True))
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in rows]
    return "\n".join([line + " |", rule, *body])


def run(args: argparse.Namespace) -> str:
    from .pipeline import run_model

    started = time.perf_counter()
    samples, source = _load(args)
    image_size = args.image_size or (DEMO_IMAGE_SIZE if args.data is None else 224)
    args.workdir.mkdir(parents=True, exist_ok=True)
    n = len(samples)
    # The study's proportions: 3,999 images give exactly 2,559 / 640 / 800.
    test, val = round(0.2 * n), round(0.16 * n)
    sizes = (n - test - val, val, test)
    split = stratified_split(samples.labels, sizes, args.seed)
    save_split(args.workdir / "split.json", split, samples, args.seed)
    parts = {name: samples.subset(idx) for name, idx in split.items()}
    runs, reports = [], []
    for name in args.models:
        config = _config(name, args, image_size)
        weights, label, backbone = _weights(config)
        t0 = time.perf_counter()
        result = run_model(config, parts, args.workdir / name, args.cache_dir, weights, label,
                           backbone)
        best = max(result.history.get(config["plateau_monitor"], [float("nan")]))
        print(f"{DISPLAY_NAMES[name]}: {label}; trained {len(result.history['loss'])} epochs "
              f"in {time.perf_counter() - t0:.0f} s; best {config['plateau_monitor']} "
              f"{best:.4f}", file=sys.stderr)
        runs.append(result)
        test = parts["test"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DiagnosticWarning)
            reports.append(evaluate(expression=test.labels, expression_pred=result.test_scores,
                                    va=test.va, va_pred=result.test_va,
                                    model=DISPLAY_NAMES[name], ci=args.ci,
                                    n_resamples=args.n_resamples, seed=args.seed,
                                    nan_policy="omit"))
    weights_used = sorted({r.weights for r in runs})
    lines = [
        f"# Baselines: {', '.join(DISPLAY_NAMES[m] for m in args.models)}",
        "",
        f"Data: {source}; {n} images, split {len(split['train'])}/{len(split['val'])}/"
        f"{len(split['test'])} (stratified, seed {args.seed}); image size {image_size}; "
        f"preprocessing: {args.preprocess}"
        f"{' + standardized features' if args.standardize_features else ''}; weights: "
        f"{'; '.join(weights_used)}.",
        "",
        "## Model architectures & parameters",
        "",
        _table(["Model", "Total Params", "Trainable Params", "Non-trainable Params"],
               [[DISPLAY_NAMES[r.name], *r.parameters.row()] for r in runs]),
        "",
        "## Comparison of baselines (test split)",
        "",
        side_by_side(reports),
    ]
    if len(reports) >= 2:
        a, b = 0, 1
        test = parts["test"]
        rows = np.isfinite(test.va).all(axis=1)  # the bootstrap needs complete rows
        comparison = paired_comparison(
            expression=test.labels[rows], va=test.va[rows],
            pred_a={"expression_pred": runs[a].test_scores[rows],
                    "va_pred": runs[a].test_va[rows]},
            pred_b={"expression_pred": runs[b].test_scores[rows],
                    "va_pred": runs[b].test_va[rows]},
            names=(reports[a].model, reports[b].model), n_resamples=args.n_resamples,
            seed=args.seed)
        lines += ["", f"## Paired comparison: {reports[b].model} - {reports[a].model}", "",
                  f"{int(rows.sum())} test samples, the same bootstrap resamples for both "
                  "models.", "", comparison.to_markdown()]
    if any(r.feature_stats for r in runs):
        lines += ["", "## Backbone features (train split)", "",
                  "Between-image spread of the pooled features relative to their mean "
                  "magnitude; near 0 means every image looks alike to the head.", "",
                  _table(["Model", "mean abs feature", "between-image std", "relative spread"],
                         [[DISPLAY_NAMES[r.name], f"{r.feature_stats['mean_abs']:.4g}",
                           f"{r.feature_stats['between_image_std']:.4g}",
                           f"{r.feature_stats['relative_spread']:.4f}"]
                          for r in runs if r.feature_stats])]
    lines += ["", f"Run folder: {args.workdir}; total time {time.perf_counter() - started:.0f} s."]
    text = "\n".join(lines)
    (args.workdir / "report.md").write_text(text + "\n")
    (args.workdir / "report.json").write_text(json.dumps(
        {"reports": [r.to_dict() for r in reports],
         "parameters": {r.name: r.parameters.__dict__ for r in runs},
         "weights": {r.name: r.weights for r in runs}}, indent=1) + "\n")
    _plots(args.workdir, runs, reports)
    return text


def _plots(workdir: Path, runs: list[Any], reports: list[Any]) -> None:
    from affectmetrics import plots

    for result, report in zip(runs, reports, strict=True):
        folder = workdir / result.name
        history = {k: v for k, v in result.history.items() if k != "learning_rate"}
        figure = plots.plot_training_curves(
            history, metrics=["expression_loss", "valence_arousal_loss",
                              "expression_accuracy", "f1", "ccc_valence", "ccc_arousal"])
        plots.save_figure(figure, folder / "training_curves")
        plots.save_figure(plots.plot_confusion_matrix(report.confusion_matrix,
                                                      report.class_names),
                          folder / "confusion_matrix")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        print(run(args))
    except (DataError, FileNotFoundError) as exc:
        print(f"baselines: error: {exc}", file=sys.stderr)
        return 2
    return 0
