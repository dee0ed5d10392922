"""Plots are produced, non-trivial, and fail clearly on bad input."""

import numpy as np
import pytest

import affectmetrics as am
from affectmetrics import plots
from affectmetrics.examples import load_example


@pytest.fixture(scope="module")
def example():
    return load_example()


def saved(figure, tmp_path, name, formats=("png",)):
    paths = plots.save_figure(figure, tmp_path / name, formats)
    for path in paths:
        assert path.stat().st_size > 10_000, path
    return paths


def test_confusion_matrix(example, tmp_path):
    cm = am.confusion_matrix(example["expression"], example["scores"])
    figure = plots.plot_confusion_matrix(cm)
    assert len(figure.axes) == 4  # two matrices and their colour bars
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts[0] == str(cm[0, 0]) and len(texts) == 64
    png, svg = saved(figure, tmp_path, "cm", ("png", "svg"))
    assert png.suffix == ".png" and svg.read_text().startswith("<?xml")
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion_matrix(np.zeros((2, 3)))


def test_valence_arousal_scatter_and_density(example, tmp_path):
    figure = plots.plot_valence_arousal(example["valence_arousal"],
                                        example["valence_arousal_pred"])
    assert [ax.get_title() for ax in figure.axes] == ["Circumplex", "Valence", "Arousal"]
    saved(figure, tmp_path, "va")
    rng = np.random.default_rng(0)
    big = rng.uniform(-1, 1, (6000, 2))
    dense = plots.plot_valence_arousal(big, big + rng.normal(0, 0.1, big.shape))
    assert dense.axes[0].collections  # hexbin
    saved(dense, tmp_path, "va_dense")
    with pytest.raises(ValueError, match="two columns"):
        plots.plot_valence_arousal(np.zeros((5, 3)), np.zeros((5, 3)))


def test_roc_and_pr_curves_end_where_they_should(example, tmp_path):
    figure = plots.plot_curves(example["expression"], example["scores"])
    roc_ax, pr_ax = figure.axes
    line = roc_ax.lines[0]
    assert line.get_xdata()[0] == 0 and line.get_xdata()[-1] == 1
    assert line.get_ydata()[-1] == 1
    auc = am.roc_auc(example["expression"], example["scores"], average=None)
    # The drawn ROC curve's trapezoidal area is the exact AUC.
    assert np.trapezoid(line.get_ydata(), line.get_xdata()) == pytest.approx(auc[0], rel=1e-12)
    assert f"({auc[0]:.3f})" in line.get_label()
    recall = pr_ax.lines[0].get_xdata()
    assert recall[0] == 0 and recall[-1] == 1 and (np.diff(recall) >= 0).all()
    saved(figure, tmp_path, "curves")


def test_training_curves_from_dict_and_csv(tmp_path):
    history = {"loss": [1.0, 0.8, 0.7], "val_loss": [1.1, 0.9, 0.85],
               "accuracy": [0.3, 0.4, 0.5], "val_accuracy": [0.25, 0.35, 0.4],
               "learning_rate": [1e-4, 1e-4, 5e-5]}
    figure = plots.plot_training_curves(history)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["loss", "accuracy"]
    assert len(visible[0].lines) == 2
    saved(figure, tmp_path, "history")
    log = tmp_path / "log.csv"
    log.write_text("epoch,loss,val_loss\n0,1.0,1.2\n1,0.5,0.9\n")
    figure = plots.plot_training_curves(log)
    assert list(figure.axes[0].lines[1].get_ydata()) == [1.2, 0.9]

    class History:  # the shape of keras.callbacks.History
        def __init__(self, logs):
            self.history = logs

    assert plots.plot_training_curves(History(history), metrics=["loss"]).axes[0].lines
    with pytest.raises(ValueError, match="does not exist"):
        plots.plot_training_curves(tmp_path / "nope.csv")
    with pytest.raises(TypeError, match="Keras History"):
        plots.plot_training_curves(42)


def test_save_figure_refuses_unknown_formats(example, tmp_path):
    figure = plots.plot_confusion_matrix(np.eye(3, dtype=int))
    with pytest.raises(ValueError, match="formats must be among"):
        plots.save_figure(figure, tmp_path / "x", ("jpg",))
