"""evaluate(), Report renderings, side_by_side, diagnostics and presets."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

import affectmetrics as am
from affectmetrics.examples import load_example


@pytest.fixture(scope="module")
def example():
    return load_example()


def evaluate_example(example, **kwargs):
    return am.evaluate(expression=example["expression"], expression_pred=example["scores"],
                       va=example["valence_arousal"], va_pred=example["valence_arousal_pred"],
                       **kwargs)


def test_every_metric_equals_the_core_functions(example):
    report = evaluate_example(example, model="m")
    t, s = example["expression"], example["scores"]
    va, vp = example["valence_arousal"], example["valence_arousal_pred"]
    expected = {"accuracy": am.accuracy(t, s), "f1": am.f1_score(t, s),
                "uar": am.uar(t, s), "kappa": am.cohen_kappa(t, s),
                "krippendorff_alpha": am.krippendorff_alpha(t, s),
                "auc": am.roc_auc(t, s), "auc_pr": am.pr_auc(t, s)}
    for metric in ("rmse", "pearson", "sagr", "ccc", "icc"):
        values = getattr(am, metric)(va, vp)
        expected[f"{metric}_valence"], expected[f"{metric}_arousal"] = values
    assert set(report.metrics) == set(expected)
    for key, value in expected.items():
        assert report.metrics[key] == pytest.approx(value, rel=1e-12), key
    pred = s.argmax(axis=1)
    np.testing.assert_allclose(report.per_class["precision"],
                               skm.precision_score(t, pred, average=None), rtol=1e-12)
    np.testing.assert_allclose(report.per_class["recall"],
                               skm.recall_score(t, pred, average=None), rtol=1e-12)
    np.testing.assert_array_equal(report.per_class["support"], np.bincount(t))
    np.testing.assert_array_equal(report.confusion_matrix, skm.confusion_matrix(t, pred))
    assert report.class_names == am.AFFECTNET_CLASSES
    assert report.n_samples == 800 and report.diagnostics == []


def test_any_subset_of_inputs(example):
    only_va = am.evaluate(va=example["valence_arousal"], va_pred=example["valence_arousal_pred"])
    assert set(only_va.metrics) == {f"{m}_{o}" for m in ("rmse", "pearson", "sagr", "ccc", "icc")
                                    for o in ("valence", "arousal")}
    assert only_va.confusion_matrix is None and "Classification" not in only_va.to_markdown()
    labels_only = am.evaluate(expression=[0, 1, 2, 2], expression_pred=[0, 1, 1, 2],
                              class_names=["a", "b", "c"], warn=False)
    assert "auc" not in labels_only.metrics and labels_only.metrics["accuracy"] == 0.75
    with pytest.raises(ValueError, match="give both va and va_pred"):
        am.evaluate(va=[0.1, 0.2])
    with pytest.raises(ValueError, match="output_names has 2 names but va has 1"):
        am.evaluate(va=[0.1, 0.2, 0.3], va_pred=[0.1, 0.3, 0.2])
    with pytest.raises(ValueError, match="preset must be one of"):
        am.evaluate(va=[0.1, 0.2], va_pred=[0.1, 0.2], preset="avec")


def test_markdown_follows_the_study_layout(example):
    text = evaluate_example(example, model="VGG16").to_markdown()
    lines = text.splitlines()
    assert lines[0].startswith("| Metric (Classification) | VGG16")
    for label in ("Accuracy", "F1 Score", "Cohen's Kappa", "AUC", "AUC-PR", "RMSE",
                  "Correlation", "SAGR", "CCC"):
        assert f"| {label} " in text
    assert "| Metric (Valence Regression) | VGG16" in text
    assert "| Metric (Arousal Regression) | VGG16" in text
    accuracy = am.accuracy(example["expression"], example["scores"])
    assert f"| Accuracy                | {accuracy:.4f}" in text


def test_json_dict_csv_and_dataframe(example, tmp_path):
    report = evaluate_example(example, model="m", ci=0.9, n_resamples=100, seed=3)
    data = json.loads(report.to_json(tmp_path / "r.json"))
    assert data == json.loads((tmp_path / "r.json").read_text())
    assert data["metrics"]["ccc_valence"] == pytest.approx(report.metrics["ccc_valence"])
    assert data["intervals"]["confidence_level"] == 0.9
    assert data["confusion_matrix"] == report.confusion_matrix.tolist()
    rows = report.to_csv(tmp_path / "r.csv").splitlines()
    assert rows[0] == "model,metric,value,low,high" and len(rows) == 1 + len(report.metrics)
    frame = report.to_dataframe()
    assert isinstance(frame, pd.DataFrame)
    assert frame.loc[("m", "f1"), "value"] == report.metrics["f1"]
    assert frame.loc[("m", "f1"), "low"] == report.intervals.low["f1"]


@pytest.mark.filterwarnings("ignore::affectmetrics.UndefinedMetricWarning")
def test_nan_written_as_null_in_json():
    report = am.evaluate(va=np.linspace(0, 1, 10), va_pred=np.full(10, 0.5),
                         output_names=["valence"], warn=False)
    data = json.loads(report.to_json())
    assert data["metrics"]["pearson_valence"] is None


def test_intervals_in_the_report_match_bootstrap_ci(example):
    report = evaluate_example(example, ci=0.95, n_resamples=200, seed=5)
    direct = am.bootstrap_ci(expression=example["expression"], expression_pred=example["scores"],
                             va=example["valence_arousal"],
                             va_pred=example["valence_arousal_pred"], n_resamples=200, seed=5)
    assert report.intervals.low == direct.low and report.intervals.high == direct.high
    low, high = report.interval("ccc_arousal")
    assert low < report.metrics["ccc_arousal"] < high
    assert f"[{low:.4f}, {high:.4f}]" in report.to_markdown()


def test_side_by_side_has_one_column_per_model(example):
    a = evaluate_example(example, model="ResNet50")
    b = evaluate_example(example, model="VGG16")
    text = am.side_by_side([a, b])
    assert "| Metric (Classification) | ResNet50 | VGG16  |" in text
    with pytest.raises(ValueError, match="reports is empty"):
        am.side_by_side([])


@pytest.mark.filterwarnings("ignore::affectmetrics.UndefinedMetricWarning")
def test_collapsed_model_of_the_study_is_diagnosed():
    truth = np.repeat(np.arange(8), 100)
    rng = np.random.default_rng(0)
    va = rng.uniform(-1, 1, (800, 2))
    with pytest.warns(am.DiagnosticWarning, match="predicts a single class"):
        report = am.evaluate(expression=truth, expression_pred=np.tile(np.eye(8)[0], (800, 1)),
                             va=va, va_pred=np.zeros((800, 2)), model="ResNet50",
                             nan_policy="raise")
    codes = [d.code for d in report.diagnostics]
    assert codes == ["constant_classifier", "constant_prediction", "constant_prediction"]
    assert "Neutral" in report.diagnostics[0].message
    assert report.metrics["accuracy"] == 0.125
    assert f"{report.metrics['f1']:.4f}" == "0.0278" and report.metrics["kappa"] == 0.0
    assert report.metrics["ccc_valence"] == 0.0
    assert "Diagnostics:" in report.to_markdown()


def test_other_diagnostics():
    rng = np.random.default_rng(1)
    truth = np.r_[np.zeros(300, int), np.ones(60, int), np.full(40, 2)]
    pred = np.where(rng.random(400) < 0.95, 0, 1)
    va = rng.normal(0, 0.5, (400, 2))
    va_pred = np.column_stack([0.1 * va[:, 0], va[:, 1] + rng.normal(0, 2, 400)])
    found = am.diagnose(expression=truth, pred_codes=pred, class_names=("a", "b", "c"),
                        va=va, va_pred=va_pred, output_names=("valence", "arousal"))
    codes = {d.code: d.message for d in found}
    assert "never c" in codes["missing_classes"]
    assert "predicts a for" in codes["dominant_class"]
    assert "ratio 7.5" in codes["class_imbalance"]
    assert "1.0% of the truth's" in codes["low_variance"]
    assert "arousal predictions" in codes["out_of_range"]
    found = am.diagnose(expression=np.array([0, 0, 1]), pred_codes=np.array([0, 1, 1]),
                        class_names=("a", "b", "c"))
    assert [d.code for d in found] == ["missing_classes", "absent_classes"]


def test_nan_policy_omit_drops_the_same_rows_for_every_metric(example):
    va = example["valence_arousal"].copy()
    scores = example["scores"].copy()
    va[5, 1] = np.nan
    scores[9, 3] = np.nan
    report = am.evaluate(expression=example["expression"], expression_pred=scores, va=va,
                         va_pred=example["valence_arousal_pred"], nan_policy="omit")
    keep = np.ones(800, bool)
    keep[[5, 9]] = False
    assert report.n_omitted == 2 and report.n_samples == 798
    assert report.metrics["auc"] == pytest.approx(am.roc_auc(example["expression"][keep],
                                                             scores[keep]), rel=1e-12)
    assert report.metrics["ccc_valence"] == pytest.approx(
        am.ccc(va[keep, 0], example["valence_arousal_pred"][keep, 0]), rel=1e-12)
    with pytest.raises(ValueError, match="NaN"):
        am.evaluate(va=va, va_pred=example["valence_arousal_pred"])


def test_abaw_preset_and_per_group_ccc(example):
    groups = np.repeat(np.arange(16), 50)
    report = evaluate_example(example, preset="abaw", groups=groups)
    ccc = am.ccc(example["valence_arousal"], example["valence_arousal_pred"])
    f1 = am.f1_score(example["expression"], example["scores"], labels=np.arange(8))
    assert report.metrics["abaw_va"] == pytest.approx(ccc.mean(), rel=1e-12)
    assert report.metrics["abaw_expr"] == pytest.approx(f1, rel=1e-12)
    assert report.metrics["abaw_mtl"] == pytest.approx(ccc.mean() + f1, rel=1e-12)
    per_video = [am.ccc(example["valence_arousal"][groups == g, 0],
                        example["valence_arousal_pred"][groups == g, 0]) for g in range(16)]
    assert report.metrics["ccc_valence_per_group"] == pytest.approx(np.mean(per_video),
                                                                    rel=1e-12)
    assert "| abaw_mtl" in report.to_markdown()


def test_ccc_per_group_differs_from_pooled():
    # Each recording's mean is right but its dynamics are not: pooled CCC is high,
    # per-recording CCC is about 0.
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(20), 30)
    means = rng.normal(0, 1, 20)[groups]
    truth = means + 0.1 * rng.normal(size=600)
    pred = means + 0.1 * rng.normal(size=600)
    assert am.ccc(truth, pred) > 0.9
    assert abs(am.ccc_per_group(truth, pred, groups)) < 0.2
    with pytest.warns(am.UndefinedMetricWarning, match="left out"):
        value = am.ccc_per_group([1.0, 2.0, 5.0], [1.0, 2.5, 5.0], [0, 0, 1])
    assert value == pytest.approx(am.ccc([1.0, 2.0], [1.0, 2.5]))


def test_abaw_scores_needs_two_outputs():
    with pytest.raises(ValueError, match="two columns"):
        am.abaw_scores(va=[0.1, 0.2, 0.3], va_pred=[0.1, 0.2, 0.4])


def test_to_csv_escapes_spreadsheet_formulas_and_keeps_numbers():
    """A model name a spreadsheet would run is shown as text; negative values stay numbers."""
    import csv
    import io

    truth, pred = [0.1, 0.5, -0.3, 0.8], [-0.2, 0.4, -0.1, 0.6]
    report = am.evaluate(va=truth, va_pred=pred, model='=HYPERLINK("http://x")',
                         output_names=("valence",))
    rows = list(csv.reader(io.StringIO(report.to_csv())))[1:]
    assert {row[0] for row in rows} == {"'=HYPERLINK(\"http://x\")"}
    values = {row[1]: row[2] for row in rows}
    assert float(values["pearson_valence"]) == am.pearson(truth, pred)
    assert not any(row[2].startswith("'") for row in rows)


@pytest.mark.parametrize("scale", [1.0, 2.0**1000, 2.0**-1000])
def test_low_variance_diagnostic_at_any_magnitude(scale):
    # Predictions with about 1% of the truth's variance are flagged at any scale: np.var used
    # to overflow near 1e301 (a RuntimeWarning) and to underflow to 0 near 1e-301, which
    # silently skipped the diagnostic.
    rng = np.random.default_rng(5)
    truth = rng.uniform(-1, 1, 50)
    pred = 0.1 * truth
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        report = am.evaluate(va=truth * scale, va_pred=pred * scale, output_names=["v"],
                             warn=False)
    [found] = [d for d in report.diagnostics if d.code == "low_variance"]
    assert "their variance is 1.0% of the truth's" in found.message


def test_tables_write_huge_values_in_scientific_notation():
    # RMSE of data near 1e160 used to print all 160 integer digits ("2097621687...0.0000").
    rng = np.random.default_rng(0)
    truth = rng.uniform(-1, 1, 20)
    pred = truth + rng.normal(0, 0.3, 20)
    rmse = am.rmse(truth * 1e160, pred * 1e160)
    report = am.evaluate(va=truth * 1e160, va_pred=pred * 1e160, output_names=["v"],
                         warn=False)
    assert f"| {rmse:.4e} |" in report.to_markdown()
    paired = am.paired_comparison(va=truth * 1e160, pred_a={"va_pred": pred * 1e160},
                                  pred_b={"va_pred": truth * 1e160}, n_resamples=20, seed=0)
    row = next(line for line in paired.to_markdown().splitlines() if line.startswith("| rmse"))
    assert row.startswith(f"| rmse | {rmse:.4e} | 0.0000 | {-rmse:.4e} |") and len(row) < 120


def test_output_names_that_read_alike_are_refused():
    # ("v", "v") keyed both columns' metrics ccc_v, pearson_v...: one column was lost.
    rng = np.random.default_rng(0)
    va = rng.normal(size=(20, 2))
    with pytest.raises(ValueError, match=r"^output_names must be distinct names: 'v' \(at 0\)"):
        am.evaluate(va=va, va_pred=va + 0.1, output_names=["v", "v"], warn=False)
    with pytest.raises(ValueError, match=r"^output_names must be distinct names"):
        am.bootstrap_ci(va=va, va_pred=va + 0.1, output_names=("v", "v"), n_resamples=10)
    with pytest.raises(TypeError, match=r"^output_names must be a sequence of names, got the"):
        am.evaluate(va=va[:, 0], va_pred=va[:, 0] + 0.1, output_names="valence", warn=False)
