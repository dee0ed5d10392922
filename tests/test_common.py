"""Properties every metric of a kind shares, checked over one registry (as scikit-learn's
``test_common.py``): order invariance, symmetry, dtype invariance, return types."""

import numpy as np
import pytest

import affectmetrics as am

CONTINUOUS = {"ccc": am.ccc, "pearson": am.pearson, "rmse": am.rmse, "sagr": am.sagr}
LABEL_METRICS = {
    "accuracy": am.accuracy,
    "f1_macro": am.f1_score,
    "f1_weighted": lambda t, p, **kw: am.f1_score(t, p, average="weighted", **kw),
    "cohen_kappa": am.cohen_kappa,
    "cohen_kappa_quadratic": lambda t, p, **kw: am.cohen_kappa(t, p, weights="quadratic", **kw),
    "krippendorff_alpha": am.krippendorff_alpha,
}
SCORE_METRICS = {"roc_auc": am.roc_auc, "pr_auc": am.pr_auc}

# Swapping truth and prediction leaves these unchanged.
SYMMETRIC = {"ccc", "pearson", "rmse", "sagr", "accuracy", "f1_macro", "cohen_kappa",
             "cohen_kappa_quadratic", "krippendorff_alpha"}
NOT_SYMMETRIC = {"f1_weighted"}  # weights by the support of y_true


def continuous_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, 300)
    return x, 0.5 * x + rng.normal(0, 0.7, 300)


def label_data(seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 5, 300)
    return t, np.where(rng.random(300) < 0.4, t, rng.integers(0, 5, 300))


def score_data(seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 5, 300)
    return t, rng.random((300, 5)) + 0.5 * np.eye(5)[t]


def all_cases():
    for name, fn in CONTINUOUS.items():
        yield name, fn, continuous_data
    for name, fn in LABEL_METRICS.items():
        yield name, fn, label_data
    for name, fn in SCORE_METRICS.items():
        yield name, fn, score_data


CASES = list(all_cases())


def test_symmetry_sets_cover_the_registry():
    assert SYMMETRIC | NOT_SYMMETRIC == set(CONTINUOUS) | set(LABEL_METRICS)


@pytest.mark.parametrize(("name", "metric", "make"), CASES, ids=[c[0] for c in CASES])
def test_invariant_to_sample_order(name, metric, make):
    t, p = make()
    order = np.random.default_rng(1).permutation(t.shape[0])
    assert metric(t[order], p[order]) == pytest.approx(metric(t, p), rel=1e-12)


@pytest.mark.parametrize(("name", "metric", "make"), CASES, ids=[c[0] for c in CASES])
def test_returns_a_python_float(name, metric, make):
    t, p = make()
    assert type(metric(t, p)) is float


@pytest.mark.parametrize("name", sorted(SYMMETRIC))
def test_symmetric_metrics(name):
    metric = CONTINUOUS.get(name) or LABEL_METRICS[name]
    t, p = continuous_data() if name in CONTINUOUS else label_data()
    assert metric(t, p) == pytest.approx(metric(p, t), rel=1e-12)


@pytest.mark.parametrize("name", sorted(NOT_SYMMETRIC))
def test_not_symmetric_metrics_really_are_not(name):
    t, p = label_data()
    p = np.where(p == 4, 0, p)  # make the two supports differ
    assert LABEL_METRICS[name](t, p) != pytest.approx(LABEL_METRICS[name](p, t), rel=1e-6)


@pytest.mark.parametrize(("name", "metric", "make"), CASES, ids=[c[0] for c in CASES])
def test_lists_and_narrow_dtypes_give_the_same_value(name, metric, make):
    t, p = make()
    reference = metric(t, p)
    assert metric(t.tolist(), p.tolist()) == reference
    if name in CONTINUOUS:
        assert metric(t.astype(np.float32), p.astype(np.float32)) == pytest.approx(
            metric(t.astype(np.float32).astype(np.float64),
                   p.astype(np.float32).astype(np.float64)), rel=1e-15)
    else:
        assert metric(t.astype(np.int8), p.astype(np.float32) if p.ndim == 2
                      else p.astype(np.uint8)) == pytest.approx(
            metric(t, p.astype(np.float32).astype(np.float64) if p.ndim == 2 else p),
            rel=1e-15)
        assert metric(t.astype(np.float64), p) == reference


@pytest.mark.parametrize(("name", "metric", "make"), CASES, ids=[c[0] for c in CASES])
def test_nan_policy_omit_equals_dropping_by_hand(name, metric, make):
    t, p = make()
    t_nan = t.astype(np.float64)
    t_nan[[2, 50, 51]] = np.nan
    keep = np.ones(t.shape[0], bool)
    keep[[2, 50, 51]] = False
    assert metric(t_nan, p, nan_policy="omit") == metric(t[keep], p[keep])
