"""Plots for reports and training runs (matplotlib, the ``plots`` extra).

Every function draws on a new ``matplotlib.figure.Figure`` (no pyplot, so no GUI backend
and no global state) and returns it; :func:`save_figure` writes PNG and, on request, SVG.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._optional import _import_optional
from ._validation import _check_classification, _check_continuous
from .examples import _default_class_names
from .ranking import pr_auc, roc_auc

__all__ = [
    "plot_confusion_matrix",
    "plot_curves",
    "plot_training_curves",
    "plot_valence_arousal",
    "save_figure",
]


def _figure(width: float, height: float) -> Any:
    _import_optional("matplotlib", "plots", purpose="affectmetrics.plots")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(figure: Any, path: str | Path, formats: Sequence[str] = ("png",),
                dpi: int = 120) -> list[Path]:
    """Save ``figure`` as ``path`` with each suffix in ``formats`` (e.g. ``("png", "svg")``)."""
    written = []
    for fmt in formats:
        if fmt not in ("png", "svg", "pdf"):
            raise ValueError(f"formats must be among 'png', 'svg', 'pdf'; got {fmt!r}")
        target = Path(path).with_suffix(f".{fmt}")
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target, dpi=dpi)
        written.append(target)
    return written


def _names(n_classes: int, class_names: Sequence[str] | None) -> list[str]:
    if class_names is not None:
        return list(class_names)
    return list(_default_class_names(n_classes))


def plot_confusion_matrix(cm: Any, class_names: Sequence[str] | None = None) -> Any:
    """Counts and row-normalised (recall) confusion matrices, side by side."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square matrix; got shape {cm.shape}")
    names = _names(cm.shape[0], class_names)
    figure = _figure(12, 5.2)
    rows = cm.sum(axis=1, keepdims=True)
    normalised = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    for ax, values, title, fmt in zip(figure.subplots(1, 2), (cm, normalised),
                                      ("Counts", "Row-normalised (recall)"), ("d", ".2f"),
                                      strict=True):
        image = ax.imshow(values, cmap="Blues")
        ax.set_title(title)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        ax.set_xlabel("Predicted")
        ax.set_ylabel("True")
        threshold = values.max() / 2 if values.max() > 0 else 1
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                ax.text(j, i, format(values[i, j], fmt), ha="center", va="center",
                        fontsize=8, color="white" if values[i, j] > threshold else "black")
        figure.colorbar(image, ax=ax, shrink=0.8)
    return figure


def plot_valence_arousal(va: Any, va_pred: Any, *, density: bool | None = None) -> Any:
    """Truth and predictions on the valence/arousal circumplex, and truth vs prediction.

    Three panels: both point clouds on the unit circle (a 2-D density of the predictions
    when there are many points), then predicted against true valence and arousal with the
    identity line. ``density`` defaults to True above 5,000 samples.
    """
    t, p, _ = _check_continuous(va, va_pred, names=("va", "va_pred"))
    if t.ndim != 2 or t.shape[1] != 2:
        raise ValueError(f"va must have two columns (valence, arousal); got shape {t.shape}")
    density = t.shape[0] > 5000 if density is None else density
    figure = _figure(15, 5)
    circle, *scatters = figure.subplots(1, 3)
    theta = np.linspace(0, 2 * np.pi, 200)
    circle.plot(np.cos(theta), np.sin(theta), color="0.6", lw=1)
    circle.axhline(0, color="0.8", lw=0.8)
    circle.axvline(0, color="0.8", lw=0.8)
    if density:
        circle.hexbin(p[:, 0], p[:, 1], gridsize=40, extent=(-1, 1, -1, 1), cmap="Oranges",
                      mincnt=1)
        circle.scatter(t[:, 0], t[:, 1], s=2, alpha=0.15, color="tab:blue", label="truth")
    else:
        circle.scatter(t[:, 0], t[:, 1], s=6, alpha=0.5, label="truth")
        circle.scatter(p[:, 0], p[:, 1], s=6, alpha=0.5, label="prediction")
    circle.set(xlim=(-1.1, 1.1), ylim=(-1.1, 1.1), xlabel="valence", ylabel="arousal",
               title="Circumplex", aspect="equal")
    circle.legend(loc="lower right")
    for ax, j, name in zip(scatters, (0, 1), ("valence", "arousal"), strict=True):
        if density:
            ax.hexbin(t[:, j], p[:, j], gridsize=40, cmap="Blues", mincnt=1)
        else:
            ax.scatter(t[:, j], p[:, j], s=6, alpha=0.5)
        lo = float(min(t[:, j].min(), p[:, j].min()))
        hi = float(max(t[:, j].max(), p[:, j].max()))
        ax.plot([lo, hi], [lo, hi], color="k", lw=1, ls="--")
        ax.set(xlabel=f"true {name}", ylabel=f"predicted {name}", title=name.capitalize(),
               aspect="equal")
    return figure


def _curve_points(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cumulative TP and FP at each distinct score threshold, highest threshold first."""
    order = np.argsort(-scores, kind="stable")
    s, pos = scores[order], positive[order]
    last = np.r_[s[1:] != s[:-1], True]  # the last sample of each tied group
    tp = np.cumsum(pos)[last]
    fp = np.cumsum(~pos)[last]
    return tp, fp


def plot_curves(y_true: Any, y_score: Any, class_names: Sequence[str] | None = None) -> Any:
    """Per-class one-vs-rest ROC curves and precision-recall curves, with their areas."""
    data = _check_classification(y_true, y_score, scores=True, pred_name="y_score")
    scores = np.asarray(data.y_score, dtype=np.float64)
    if scores.shape[1] == 1:
        raise ValueError("plot_curves needs an (n, C) score matrix")
    names = _names(scores.shape[1], class_names)
    figure = _figure(12, 5.2)
    roc_ax, pr_ax = figure.subplots(1, 2)
    with warnings.catch_warnings():
        # A class without positives has no curve; it is skipped below.
        warnings.simplefilter("ignore")
        aucs = roc_auc(data.y_true, scores, average=None)
        aps = pr_auc(data.y_true, scores, average=None)
    for k, name in enumerate(names):
        positive = data.y_true == k
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos == 0 or n_neg == 0:
            continue
        tp, fp = _curve_points(scores[:, k], positive)
        roc_ax.plot(np.r_[0, fp / n_neg], np.r_[0, tp / n_pos], lw=1.2,
                    label=f"{name} ({aucs[k]:.3f})")
        pr_ax.step(np.r_[0, tp / n_pos], np.r_[1, tp / (tp + fp)], where="pre", lw=1.2,
                   label=f"{name} ({aps[k]:.3f})")
    roc_ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate",
               title="ROC (one-vs-rest), AUC in brackets", xlim=(0, 1), ylim=(0, 1.01))
    pr_ax.set(xlabel="recall", ylabel="precision",
              title="Precision-recall, AP in brackets", xlim=(0, 1), ylim=(0, 1.01))
    roc_ax.legend(fontsize=8, loc="lower right")
    pr_ax.legend(fontsize=8, loc="upper right")
    return figure


def _read_history(history: Any) -> dict[str, list[float]]:
    if hasattr(history, "history"):  # a Keras History
        history = history.history
    if isinstance(history, (str, Path)):
        path = Path(history)
        if not path.is_file():
            raise ValueError(f"training log {path} does not exist")
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            raise ValueError(f"training log {path} has no rows")
        history = {key: [float(row[key]) if row[key] not in ("", None) else np.nan
                         for row in rows] for key in rows[0] if key != "epoch"}
    if not isinstance(history, dict) or not history:
        raise TypeError("history must be a Keras History, a dict of lists, or the path of a "
                        "CSVLogger file")
    return {str(k): [float(v) for v in values] for k, values in history.items()}


def plot_training_curves(history: Any, metrics: Sequence[str] | None = None) -> Any:
    """Training and validation curves per epoch, one panel per metric.

    Parameters
    ----------
    history : keras History, dict of lists, or path of a ``CSVLogger`` CSV
    metrics : sequence of str, optional
        Metric names to plot (without ``val_``); default: every training metric, with its
        ``val_`` counterpart in the same panel.
    """
    logs = _read_history(history)
    names = list(metrics) if metrics is not None else [
        k for k in logs if not k.startswith("val_") and k != "learning_rate" and k != "lr"
    ] or [k[4:] for k in logs if k.startswith("val_")]
    if not names:
        raise ValueError("history holds no metrics to plot")
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    figure = _figure(4.5 * columns, 3.4 * rows)
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for ax, name in zip(axes, names, strict=False):
        for key, style in ((name, "-"), (f"val_{name}", "--")):
            if key in logs:
                values = logs[key]
                ax.plot(range(1, len(values) + 1), values, style, marker="o", ms=3, label=key)
        ax.set(title=name, xlabel="epoch")
        ax.legend(fontsize=8)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    return figure
