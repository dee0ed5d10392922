"""``python -m affectmetrics``: a full metrics report for the shipped example predictions.

Prints the study's three tables (classification; valence; arousal) with four decimals, the
per-class table and the confusion matrix, computed by the core on
``affectmetrics/data/example_predictions.csv`` (a simulated model; see
:mod:`affectmetrics.examples`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from . import __version__
from .accumulators import ClassificationAccumulator, ContinuousAccumulator
from .classification import confusion_matrix, f1_score
from .examples import AFFECTNET_CLASSES, load_example
from .ranking import pr_auc, roc_auc

__all__ = ["main"]


def _markdown(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(value: object) -> str:
        return f"{value:.4f}" if isinstance(value, (float, np.floating)) else str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in cells]
    return "\n".join([line, rule, *body])


def _report(data: dict[str, np.ndarray], model: str) -> str:
    labels, scores = data["expression"], data["scores"]
    classification = ClassificationAccumulator(num_classes=scores.shape[1])
    classification.update(labels, scores)
    cls = classification.compute()
    continuous = ContinuousAccumulator(num_outputs=2)
    continuous.update(data["valence_arousal"], data["valence_arousal_pred"])
    va = continuous.compute()

    parts = [
        f"affectmetrics {__version__}: example predictions of a simulated model "
        f"({labels.shape[0]} test samples, {scores.shape[1]} classes)",
        "",
        _markdown(["Metric (Classification)", model], [
            ["Accuracy", cls["accuracy"]], ["F1 Score", cls["f1"]],
            ["Cohen's Kappa", cls["kappa"]], ["Krippendorff's Alpha", cls["krippendorff_alpha"]],
            ["AUC", cls["auc"]], ["AUC-PR", cls["auc_pr"]],
        ]),
    ]
    for column, name in enumerate(("Valence", "Arousal")):
        parts += ["", _markdown([f"Metric ({name} Regression)", model], [
            ["RMSE", va["rmse"][column]], ["Correlation", va["pearson"][column]],
            ["SAGR", va["sagr"][column]], ["CCC", va["ccc"][column]],
        ])]
    f1 = f1_score(labels, scores, average=None)
    auc = roc_auc(labels, scores, average=None)
    ap = pr_auc(labels, scores, average=None)
    support = np.bincount(labels, minlength=scores.shape[1])
    parts += ["", _markdown(["Class", "F1", "AUC", "AUC-PR", "Support"], [
        [name, f1[k], auc[k], ap[k], int(support[k])]
        for k, name in enumerate(AFFECTNET_CLASSES)
    ])]
    cm = confusion_matrix(labels, scores)
    short = [name[:4] for name in AFFECTNET_CLASSES]
    parts += ["", "Confusion matrix (rows: truth, columns: prediction)", "",
              _markdown(["", *short], [[short[i], *cm[i].tolist()] for i in range(len(short))])]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m affectmetrics`` and the ``affectmetrics`` script."""
    parser = argparse.ArgumentParser(
        prog="affectmetrics",
        description="Print a full affectmetrics report (expression, valence and arousal) "
        "for the example predictions shipped with the package.",
    )
    parser.add_argument("--model-name", default="Example model",
                        help="column title for the model in the tables")
    parser.add_argument("--version", action="version", version=f"affectmetrics {__version__}")
    args = parser.parse_args(argv)
    print(_report(load_example(), args.model_name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
