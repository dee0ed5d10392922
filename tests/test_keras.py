"""The Keras 3 adapter. Tests whose names contain "portable" also run on the PyTorch backend
(tests/test_keras_backends.py reruns them in a subprocess with KERAS_BACKEND=torch)."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

import affectmetrics as am
from affectmetrics.keras import (
    CCC,
    RMSE,
    SAGR,
    UAR,
    AffectMetricsCallback,
    MultilabelF1,
    Pearson,
    ccc_loss,
)

FUNCTIONS = {CCC: am.ccc, Pearson: am.pearson, RMSE: am.rmse, SAGR: am.sagr}


def va_data(seed, n=600, loc=0.0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    truth = rng.normal(loc, 1.0, (n, 2))
    pred = 0.7 * (truth - loc) + loc + rng.normal(0.05, 0.5, (n, 2))
    return truth.astype(dtype), pred.astype(dtype)


def reference(fn, truth, pred):
    return fn(truth.astype(np.float64), pred.astype(np.float64))


def core_values(fn, truth, pred, **kwargs):
    """The core function's value, its UndefinedMetricWarnings silenced (compared elsewhere)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", am.UndefinedMetricWarning)
        return np.atleast_1d(fn(np.asarray(truth, np.float64), np.asarray(pred, np.float64),
                                **kwargs))


def state(metric):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in metric.variables]


def traced(metric):
    """The keras.ops version of the final step, evaluated eagerly on the same state."""
    if isinstance(metric, (UAR, MultilabelF1)):
        return np.asarray(keras.ops.convert_to_numpy(metric._traced_final(metric._read()[0])))
    return np.asarray(keras.ops.convert_to_numpy(metric._traced_values(*metric._read())))


@pytest.mark.parametrize("cls", list(FUNCTIONS), ids=lambda c: c.__name__)
def test_portable_metrics_equal_the_core_over_batches(cls):
    truth, pred = va_data(0)
    metric = cls(num_outputs=2)
    for lo in range(0, truth.shape[0], 48):
        metric.update_state(truth[lo:lo + 48], pred[lo:lo + 48])
    expected = reference(FUNCTIONS[cls], truth, pred)
    assert float(metric.result()) == pytest.approx(expected.mean(), rel=1e-12)
    for column in (0, 1):
        single = cls(num_outputs=2, column=column)
        single.update_state(truth, pred)
        assert float(single.result()) == pytest.approx(expected[column], rel=1e-12)
    metric.reset_state()
    metric.update_state(truth[:10], pred[:10])
    assert float(metric.result()) == pytest.approx(
        reference(FUNCTIONS[cls], truth[:10], pred[:10]).mean(), rel=1e-12)


@pytest.mark.parametrize("cls", list(FUNCTIONS), ids=lambda c: c.__name__)
def test_portable_results_are_float64_not_float32_rounded(cls):
    # float64 data with every digit significant: a float32 step anywhere (state, reduction,
    # final step, result dtype) would show at about 1e-8.
    rng = np.random.default_rng(11)
    truth = rng.uniform(-1, 1, (1000, 2))
    pred = truth + rng.normal(0, 0.3, truth.shape)
    metric = cls(num_outputs=2, column=1)
    for lo in range(0, 1000, 128):
        metric.update_state(truth[lo:lo + 128], pred[lo:lo + 128])
    result = metric.result()
    assert keras.backend.standardize_dtype(result.dtype) == "float64"
    expected = core_values(FUNCTIONS[cls], truth, pred)[1]
    assert float(result) == pytest.approx(expected, rel=1e-12)
    assert traced(metric)[0] == pytest.approx(expected, rel=1e-12)


def test_portable_affect_range_within_1e9_and_the_documented_bound_far_from_zero():
    rng = np.random.default_rng(12)
    truth = rng.uniform(-1, 1, (200_000, 2))
    pred = np.clip(0.8 * truth + rng.normal(0.1, 0.3, truth.shape), -1, 1)
    far_t, far_p = truth * 0.01 + 5.0, pred * 0.01 + 5.0  # mean/sd about 900: (mean/sd)^2 ~ 1e6
    for cls, fn in FUNCTIONS.items():
        metric = cls(num_outputs=2)
        far = cls(num_outputs=2)
        pivoted = cls(num_outputs=2, pivot=5.0)
        for lo in range(0, truth.shape[0], 4096):
            metric.update_state(truth[lo:lo + 4096], pred[lo:lo + 4096])
            far.update_state(far_t[lo:lo + 4096], far_p[lo:lo + 4096])
            pivoted.update_state(far_t[lo:lo + 4096], far_p[lo:lo + 4096])
        assert float(metric.result()) == pytest.approx(
            core_values(fn, truth, pred).mean(), rel=1e-9), cls
        # docs/keras.md: relative error about 2e-15 * (1 + ((mean - pivot) / sd)^2), here
        # 1.5e-9 (measured: 2e-10); with the pivot at the data, the affect-range accuracy.
        expected = core_values(fn, far_t, far_p).mean()
        assert float(far.result()) == pytest.approx(expected, rel=1e-8), cls
        assert float(pivoted.result()) == pytest.approx(expected, rel=1e-9), cls


def test_portable_constant_prediction_as_the_core():
    truth, pred = va_data(4, n=40, dtype=np.float64)
    pred[:, 0] = 0.3  # issue 10: a collapsed valence head
    pearson = Pearson(num_outputs=2, column=0)
    ccc = CCC(num_outputs=2, column=0)
    for lo in range(0, 40, 16):
        pearson.update_state(truth[lo:lo + 16], pred[lo:lo + 16])
        ccc.update_state(truth[lo:lo + 16], pred[lo:lo + 16])
    with pytest.warns(am.UndefinedMetricWarning, match="^pearson is undefined: y_pred is "
                                                       "constant"):
        assert np.isnan(float(pearson.result()))
    assert np.isnan(traced(pearson)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # CCC does not warn about Pearson (or anything)
        assert float(ccc.result()) == 0.0
    assert traced(ccc)[0] == 0.0


EDGE_DATA = {
    "random-2d": va_data(5, n=30, dtype=np.float64),
    "constant-pred-col0": (np.array([[0.1, 1.0], [0.5, 2.0], [0.9, 0.0]]),
                           np.array([[0.3, 1.1], [0.3, 1.5], [0.3, 0.2]])),
    "both-constant-equal": (np.full((4, 1), 0.3), np.full((4, 1), 0.3)),
    "both-constant-unequal": (np.full((4, 1), 0.3), np.full((4, 1), 0.5)),
    "n1": (np.array([[0.5]]), np.array([[0.2]])),
    "n2-inverted": (np.array([[0.0], [1.0]]), np.array([[1.0], [0.0]])),
    "zeros-and-signs": (np.array([[0.0], [-0.2], [0.4]]), np.array([[0.0], [0.1], [0.4]])),
}


@pytest.mark.parametrize("name", list(EDGE_DATA))
def test_portable_traced_final_steps_equal_the_core(name):
    truth, pred = EDGE_DATA[name]
    for cls, fn in FUNCTIONS.items():
        metric = cls(num_outputs=truth.shape[1])
        metric.update_state(truth, pred)
        got = traced(metric)
        want = core_values(fn, truth, pred)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, equal_nan=True,
                                   err_msg=f"{cls.__name__} {name}")
    empty = CCC()
    assert np.isnan(traced(empty)[0])
    with pytest.warns(am.UndefinedMetricWarning, match="^ccc is undefined: no samples"):
        assert np.isnan(float(empty.result()))


BAD_BATCHES = {
    "nan": (np.array([0.1, np.nan, 0.3]), np.array([0.2, 0.1, 0.4]), None, ValueError,
            "y_true contains 1 NaN"),
    "inf": (np.array([0.1, 0.2, 0.3]), np.array([0.2, np.inf, 0.4]), None, ValueError,
            "y_pred contains 1 infinite"),
    "lengths": (np.zeros((4, 1)), np.zeros((1, 1)), None, ValueError,
                "y_true has 4 samples, y_pred has 1"),
    "shapes": (np.zeros((4, 2)), np.zeros(4), None, ValueError,
               r"y_true has shape \(4, 2\) but y_pred has shape \(4,\)"),
    "unit-axis-lengths": (np.zeros(4), np.zeros((1, 1)), None, ValueError,
                          "y_true has 4 samples, y_pred has 1"),
    "columns": (np.zeros((4, 3)), np.zeros((4, 3)), None, ValueError, "num_outputs=1"),
    "3-d": (np.zeros((4, 1, 1)), np.zeros((4, 1, 1)), None, ValueError, "3-D"),
    "strings": (np.array(["a", "b"]), np.array([0.1, 0.2]), None, TypeError, "y_true"),
    "negative-weight": (np.array([0.1, 0.2]), np.array([0.2, 0.1]), np.array([1.0, -1.0]),
                        ValueError, "sample_weight"),
    "weight-shape": (np.array([0.1, 0.2]), np.array([0.2, 0.1]), np.ones(3), ValueError,
                     r"sample_weight has shape \(3,\)"),
    "huge": (np.array([1e200, 0.0]), np.array([0.2, 0.1]), None, ValueError,
             "outside the range"),
}


@pytest.mark.parametrize("name", list(BAD_BATCHES))
def test_portable_a_refused_batch_leaves_the_state_as_it_was(name):
    truth, pred, weight, error, message = BAD_BATCHES[name]
    metric = CCC()
    metric.update_state(np.array([0.2, -0.4, 0.9]), np.array([0.1, -0.1, 0.5]))
    before = state(metric)
    with pytest.raises(error, match=message):
        metric.update_state(truth, pred, sample_weight=weight)
    for old, new in zip(before, state(metric), strict=True):
        np.testing.assert_array_equal(old, new)
    assert float(metric.result()) == pytest.approx(
        am.ccc([0.2, -0.4, 0.9], [0.1, -0.1, 0.5]), rel=1e-12)


def test_portable_per_output_metrics_share_one_state():
    truth, pred = va_data(6, n=90, dtype=np.float64)
    metrics = CCC.per_output(("valence", "arousal"))
    assert [m.name for m in metrics] == ["ccc_valence", "ccc_arousal"]
    for lo in range(0, 90, 32):
        for metric in metrics:  # as Keras does: every metric's update_state is called
            metric.update_state(truth[lo:lo + 32], pred[lo:lo + 32])
    expected = am.ccc(truth, pred)
    assert [float(m.result()) for m in metrics] == pytest.approx(list(expected), rel=1e-12)
    for metric in metrics:
        metric.reset_state()
    metrics[0].update_state(truth[:5], pred[:5])
    assert float(metrics[1].result()) == pytest.approx(am.ccc(truth[:5, 1], pred[:5, 1]),
                                                       rel=1e-12)
    clone = CCC.from_config(metrics[1].get_config())  # reloads as a standalone column metric
    clone.update_state(truth[:5], pred[:5])
    assert float(clone.result()) == pytest.approx(float(metrics[1].result()), rel=1e-12)
    with pytest.raises(ValueError, match="distinct"):
        CCC.per_output(("v", "v"))


def test_portable_nan_omit_drops_rows_as_the_core():
    truth, pred = va_data(7, n=60, dtype=np.float64)
    truth[[3, 17], 0] = np.nan
    pred[40, 1] = np.nan
    weights = np.random.default_rng(7).integers(0, 3, 60).astype(np.float64)
    for cls, fn in FUNCTIONS.items():
        metric = cls(num_outputs=2, nan_policy="omit")
        weighted = cls(num_outputs=2, nan_policy="omit")
        for lo in range(0, 60, 25):
            metric.update_state(truth[lo:lo + 25], pred[lo:lo + 25])
            weighted.update_state(truth[lo:lo + 25], pred[lo:lo + 25],
                                  sample_weight=weights[lo:lo + 25])
        assert float(metric.result()) == pytest.approx(
            fn(truth, pred, nan_policy="omit").mean(), rel=1e-12), cls
        keep = ~np.isnan(truth).any(axis=1) & ~np.isnan(pred).any(axis=1)
        counts = weights.astype(int)[keep]
        expected = fn(np.repeat(truth[keep], counts, axis=0),
                      np.repeat(pred[keep], counts, axis=0)).mean()
        assert float(weighted.result()) == pytest.approx(expected, rel=1e-12), cls


def test_portable_sample_weight_equals_repeating_samples():
    truth, pred = va_data(2, n=50)
    counts = np.random.default_rng(2).integers(0, 4, 50)
    for cls, fn in FUNCTIONS.items():
        weighted = cls(num_outputs=2)
        weighted.update_state(truth, pred, sample_weight=counts.astype(np.float32))
        expected = reference(fn, np.repeat(truth, counts, axis=0),
                             np.repeat(pred, counts, axis=0)).mean()
        assert float(weighted.result()) == pytest.approx(expected, rel=1e-12), cls


def test_portable_ccc_loss_matches_the_metric_and_trains():
    truth, pred = va_data(3, n=64)
    loss = float(ccc_loss(truth, pred))
    assert loss == pytest.approx(1 - reference(am.ccc, truth, pred).mean(), rel=1e-5)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x @ np.array([[0.5], [-0.3], [0.2], [0.1]]) + 2.0).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=ccc_loss)
    history = model.fit(x, y, epochs=60, batch_size=64, verbose=0)
    assert history.history["loss"][-1] < 0.01


def multitask_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    expression = keras.layers.Dense(8, activation="softmax", name="expression")(hidden)
    va = keras.layers.Dense(2, activation="tanh", name="valence_arousal")(hidden)
    return keras.Model(inputs, {"expression": expression, "valence_arousal": va})


def multitask_data(seed=0, n=192):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 16)).astype("float32")
    labels = rng.integers(0, 8, n)
    va = np.tanh(x[:, :2] + 0.3 * rng.normal(size=(n, 2))).astype("float32")
    return x, {"expression": labels, "valence_arousal": va}


def test_portable_fit_with_metrics_callback_and_scheduler():
    x, y = multitask_data()
    model = multitask_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss={"expression": "sparse_categorical_crossentropy",
                        "valence_arousal": "mse"},
                  metrics={"valence_arousal": [*CCC.per_output(("valence", "arousal")),
                                               RMSE(num_outputs=2)]})
    val = (x[:64], {k: v[:64] for k, v in y.items()})
    callback = AffectMetricsCallback(val, keep_reports=True)
    scheduler = keras.callbacks.ReduceLROnPlateau(monitor="val_ccc_valence", patience=1)
    stopper = keras.callbacks.EarlyStopping(monitor="val_f1", patience=5)
    # The compiled per-output metric, under Keras' output prefix: the callback gives these
    # monitors their direction (Keras finds it by name only in single-output models).
    compiled_scheduler = keras.callbacks.ReduceLROnPlateau(
        monitor="val_valence_arousal_ccc_arousal", patience=1)
    compiled_stopper = keras.callbacks.EarlyStopping(
        monitor="val_valence_arousal_ccc_valence", patience=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "not available", no order warning
        history = model.fit(x, y, epochs=2, batch_size=32, verbose=0, validation_data=val,
                            callbacks=[callback, scheduler, stopper, compiled_scheduler,
                                       compiled_stopper])
    for monitor in (scheduler, stopper, compiled_scheduler, compiled_stopper):
        assert monitor.mode == "max", monitor.monitor
    logs = history.history
    assert len(logs["val_ccc_valence"]) == 2 and len(callback.reports) == 2
    pred = model.predict(x[:64], verbose=0)
    va_pred = keras.ops.convert_to_numpy(pred["valence_arousal"])
    report = am.evaluate(expression=y["expression"][:64],
                         expression_pred=keras.ops.convert_to_numpy(pred["expression"]),
                         va=y["valence_arousal"][:64], va_pred=va_pred, warn=False)
    for key in ("ccc_valence", "f1", "auc", "rmse_arousal"):
        assert logs[f"val_{key}"][-1] == pytest.approx(report.metrics[key], rel=1e-5), key
    # The compiled per-output metrics: one value per output, over the whole validation set.
    for output in ("valence", "arousal"):
        value = logs[f"val_valence_arousal_ccc_{output}"][-1]
        assert value == pytest.approx(report.metrics[f"ccc_{output}"], rel=1e-5), output
        assert len(logs[f"valence_arousal_ccc_{output}"]) == 2
    assert logs["val_valence_arousal_rmse"][-1] == pytest.approx(
        am.rmse(y["valence_arousal"][:64].astype(np.float64), va_pred.astype(np.float64))
        .mean(), rel=1e-5)


def test_portable_per_output_monitors_in_a_single_output_model():
    x, y = multitask_data()
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse",
                  metrics=[*CCC.per_output(), *RMSE.per_output()])
    scheduler = keras.callbacks.ReduceLROnPlateau(monitor="val_ccc_valence", patience=0,
                                                  factor=0.5, min_delta=10.0)
    stopper = keras.callbacks.EarlyStopping(monitor="val_rmse_arousal", patience=10)
    val = (x[:64], y["valence_arousal"][:64])
    history = model.fit(x, y["valence_arousal"], epochs=3, verbose=0, validation_data=val,
                        callbacks=[scheduler, stopper])
    assert scheduler.monitor_op == keras.ops.greater and stopper.monitor_op == keras.ops.less
    # min_delta=10 makes every epoch "no improvement": the rate is halved at each epoch end.
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == \
        pytest.approx(0.01 * 0.5 ** 2, rel=1e-6)
    pred = keras.ops.convert_to_numpy(model.predict(x[:64], verbose=0)).astype(np.float64)
    expected = am.ccc(y["valence_arousal"][:64].astype(np.float64), pred)
    assert history.history["val_ccc_valence"][-1] == pytest.approx(expected[0], rel=1e-5)
    assert history.history["val_ccc_arousal"][-1] == pytest.approx(expected[1], rel=1e-5)


def test_callback_placed_after_a_monitor_warns():
    x, y = multitask_data()
    model = multitask_model()
    model.compile(optimizer="adam", loss={"expression": "sparse_categorical_crossentropy",
                                          "valence_arousal": "mse"})
    callback = AffectMetricsCallback((x[:32], {k: v[:32] for k, v in y.items()}))
    scheduler = keras.callbacks.ReduceLROnPlateau(monitor="val_ccc_valence", mode="max")
    with pytest.warns(UserWarning) as record:
        model.fit(x, y, epochs=1, verbose=0, callbacks=[scheduler, callback])
    messages = [str(w.message) for w in record]
    assert any("put AffectMetricsCallback first" in m for m in messages)
    # ...and this is why: the scheduler ran before the value was written.
    assert any("val_ccc_valence` which is not available" in m for m in messages)


def test_callback_accepts_datasets_and_pydatasets():
    import tensorflow as tf

    x, y = multitask_data(n=96)
    model = multitask_model()
    model.compile(optimizer="adam", loss={"expression": "sparse_categorical_crossentropy",
                                          "valence_arousal": "mse"})
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(20)

    class Sequence(keras.utils.PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            sl = slice(20 * i, 20 * (i + 1))
            return x[sl], {k: v[sl] for k, v in y.items()}

    callback_tuple = AffectMetricsCallback((x, y))
    callback_tuple.set_model(model)
    expected = callback_tuple.score().metrics
    for data in (dataset, Sequence()):
        callback = AffectMetricsCallback(data)
        callback.set_model(model)
        metrics = callback.score().metrics
        for key, value in expected.items():
            assert metrics[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key


def test_callback_by_position_and_one_hot_targets():
    x, y = multitask_data(n=64)
    inputs = keras.Input((16,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(2, activation="tanh")(hidden),
                                 keras.layers.Dense(8, activation="softmax")(hidden)])
    onehot = np.eye(8, dtype="float32")[y["expression"]]
    callback = AffectMetricsCallback((x, [y["valence_arousal"], onehot]),
                                     expression_output=1, va_output=0)
    callback.set_model(model)
    report = callback.score()
    assert "ccc_arousal" in report.metrics and "auc" in report.metrics
    with pytest.raises(ValueError, match="no output named 'nope'"):
        bad = AffectMetricsCallback((x, y), expression_output="nope")
        bad.set_model(multitask_model())
        bad.score()


def test_serialisation_and_saving_a_compiled_model(tmp_path):
    metric = CCC(num_outputs=2, column=1, pivot=3.0, name="ccc_arousal")
    config = metric.get_config()
    clone = CCC.from_config(config)
    assert (clone.name, clone.num_outputs, clone.column, clone.pivot) == (
        "ccc_arousal", 2, 1, 3.0)
    x, y = multitask_data()
    model = multitask_model()
    model.compile(optimizer="adam",
                  loss={"expression": "sparse_categorical_crossentropy",
                        "valence_arousal": ccc_loss},
                  metrics={"valence_arousal": [CCC(num_outputs=2), SAGR(num_outputs=2)]})
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    before = model.evaluate(x, y, verbose=0, return_dict=True)
    after = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert set(before) == set(after)
    for key in before:
        assert after[key] == pytest.approx(before[key], rel=1e-5), key


def test_metrics_declare_their_direction():
    assert CCC()._direction == "up" and Pearson()._direction == "up"
    assert SAGR()._direction == "up" and RMSE()._direction == "down"
    x, y = multitask_data()
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse",
                  metrics=[RMSE(num_outputs=2, name="va_rmse"), CCC(num_outputs=2)])
    stoppers = [keras.callbacks.EarlyStopping(monitor="val_va_rmse"),
                keras.callbacks.EarlyStopping(monitor="val_ccc")]
    model.fit(x, y["valence_arousal"], epochs=1, verbose=0, validation_split=0.25,
              callbacks=stoppers)
    assert stoppers[0].monitor_op == keras.ops.less
    assert stoppers[1].monitor_op == keras.ops.greater


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_outputs"):
        CCC(num_outputs=0)
    with pytest.raises(ValueError, match=r"column must be in 0\.\.1"):
        CCC(num_outputs=2, column=2)
    metric = CCC(num_outputs=2)
    with pytest.raises(ValueError, match="expected num_outputs=2"):
        metric.update_state(np.zeros((4, 3)), np.zeros((4, 3)))


def test_tf_distribute_mirrored_strategy_on_two_cpus():
    script = Path(__file__).with_name("keras_distribute_check.py")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "replicas 2" in result.stdout



def test_compiled_update_checks_shapes_when_traced_and_values_on_device():
    import tensorflow as tf

    truth, pred = va_data(8, n=64, dtype=np.float64)
    metric = CCC(num_outputs=2)
    update = tf.function(metric.update_state)
    update(tf.constant(truth[:32]), tf.constant(pred[:32]))
    assert float(tf.function(metric.result)()) == pytest.approx(
        am.ccc(truth[:32], pred[:32]).mean(), rel=1e-12)
    before = state(metric)
    bad = pred[32:].copy()
    bad[3, 1] = np.nan
    update(tf.constant(truth[32:]), tf.constant(bad))  # the same trace: checked on device
    after = state(metric)
    for old, new in zip(before[:2], after[:2], strict=True):  # Gram and extremes unchanged
        np.testing.assert_array_equal(old, new)
    assert after[2] == 1.0  # one refused batch, counted
    assert np.isnan(float(tf.function(metric.result)()))
    with pytest.warns(am.UndefinedMetricWarning, match="^ccc is undefined: 1 batch"):
        assert np.isnan(float(metric.result()))
    metric.reset_state()
    update(tf.constant(truth[32:]), tf.constant(pred[32:]))
    assert float(metric.result()) == pytest.approx(am.ccc(truth[32:], pred[32:]).mean(),
                                                   rel=1e-12)
    with pytest.raises(ValueError, match=r"y_pred has shape \(4, 3\)"):  # at trace time
        tf.function(metric.update_state)(tf.zeros((4, 2)), tf.zeros((4, 3)))


def test_portable_compiled_evaluate_equals_the_core():
    # model.evaluate runs update_state and result() inside tf.function (jax.jit on JAX);
    # the final values are read eagerly from the state.
    x, y = multitask_data(n=200)
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(2)])
    model.compile(loss="mse", metrics=[CCC(num_outputs=2), Pearson(num_outputs=2, column=1),
                                       SAGR(num_outputs=2), RMSE(num_outputs=2)])
    result = model.evaluate(x, y["valence_arousal"], batch_size=48, verbose=0,
                            return_dict=True)
    pred = keras.ops.convert_to_numpy(model.predict(x, batch_size=48, verbose=0))
    truth = y["valence_arousal"].astype(np.float64)
    pred = pred.astype(np.float64)
    assert result["ccc"] == pytest.approx(am.ccc(truth, pred).mean(), rel=1e-9)
    assert result["pearson"] == pytest.approx(am.pearson(truth, pred)[1], rel=1e-9)
    assert result["sagr"] == pytest.approx(am.sagr(truth, pred).mean(), rel=1e-9)
    assert result["rmse"] == pytest.approx(am.rmse(truth, pred).mean(), rel=1e-9)


IMPORT_CHECK = """
import sys
sys.modules[{missing!r}] = None  # as if not installed
try:
    import affectmetrics.keras
except ImportError as exc:
    print(exc)
else:
    print("imported")
"""


def _import_message(missing, backend="tensorflow"):
    env = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run([sys.executable, "-c", IMPORT_CHECK.format(missing=missing)],
                            capture_output=True, text=True, env=env, timeout=300,
                            cwd=Path(__file__).parents[1])
    return result.stdout


def test_import_without_a_backend_names_the_backends_to_install():
    message = _import_message("tensorflow")
    for hint in ("pip install tensorflow-cpu", "pip install torch", "pip install jax",
                 "KERAS_BACKEND"):
        assert hint in message, message
    assert "affectmetrics[keras]" not in message  # not back to the extra already installed
    message = _import_message("jax", backend="jax")
    assert "pip install jax" in message and "affectmetrics[keras]" not in message


def test_import_without_keras_names_the_extra():
    message = _import_message("keras")
    assert "pip install 'affectmetrics[keras]'" in message, message
    assert "pip install tensorflow-cpu" in message


def _label_data(seed=9, n=300):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    scores = rng.random((n, 4)) + 0.8 * np.eye(4)[labels]
    au = (rng.random((n, 3)) < 0.3).astype(int)
    au_scores = np.clip(0.4 * au + 0.7 * rng.random((n, 3)), 0, 1)
    return labels, scores, au, au_scores


def test_portable_uar_and_multilabel_f1_equal_the_core_and_scikit_learn():
    from sklearn.metrics import f1_score, recall_score

    labels, scores, au, au_scores = _label_data()
    uar = UAR(num_classes=4)
    f1s = {average: MultilabelF1(num_labels=3, average=average)
           for average in ("macro", "micro", "weighted", None)}
    for lo in range(0, 300, 64):
        uar.update_state(labels[lo:lo + 64], scores[lo:lo + 64])
        for metric in f1s.values():
            metric.update_state(au[lo:lo + 64], au_scores[lo:lo + 64])
    predicted = scores.argmax(axis=1)
    assert float(uar.result()) == pytest.approx(
        recall_score(labels, predicted, average="macro"), rel=1e-12)
    assert float(uar.result()) == am.uar(labels, scores)
    assert np.isclose(traced(uar), am.uar(labels, scores), rtol=1e-12)
    for average, metric in f1s.items():
        want = f1_score(au, au_scores > 0.5, average=average, zero_division=0.0)
        got = keras.ops.convert_to_numpy(metric.result())
        np.testing.assert_allclose(got, want, rtol=1e-12)
        np.testing.assert_allclose(got, am.multilabel_f1(au, au_scores, average=average))
        np.testing.assert_allclose(traced(metric), want, rtol=1e-12)


def test_portable_label_metrics_refuse_bad_batches_without_change():
    labels, scores, au, au_scores = _label_data(n=20)
    uar, f1 = UAR(num_classes=4), MultilabelF1(num_labels=3)
    uar.update_state(labels, scores)
    f1.update_state(au, au_scores)
    before = state(uar) + state(f1)
    bad_scores = scores.copy()
    bad_scores[2, 1] = np.nan
    for call, message in (
            (lambda: uar.update_state(labels, bad_scores), "NaN"),
            (lambda: uar.update_state(np.array([0, 7]), np.array([0, 1])), "7"),
            (lambda: uar.update_state(labels, scores, sample_weight=np.ones(20)),
             "sample_weight"),
            (lambda: f1.update_state(au * 2, au_scores), "0/1"),
            (lambda: f1.update_state(au[:, :2], au_scores[:, :2]), "num_labels=3")):
        with pytest.raises(ValueError, match=message):
            call()
    for old, new in zip(before, state(uar) + state(f1), strict=True):
        np.testing.assert_array_equal(old, new)
    empty = UAR(num_classes=3)
    with pytest.warns(am.UndefinedMetricWarning, match="^uar is undefined: no samples"):
        assert np.isnan(float(empty.result()))
    assert np.isnan(traced(empty))


def test_compiled_label_metrics_count_refused_batches():
    import tensorflow as tf

    labels, scores, au, au_scores = _label_data(n=40)
    uar = UAR(num_classes=4)
    update = tf.function(uar.update_state)
    update(tf.constant(labels[:20]), tf.constant(scores[:20]))
    assert float(uar.result()) == pytest.approx(am.uar(labels[:20], scores[:20]), rel=1e-12)
    assert float(tf.function(uar.result)()) == pytest.approx(float(uar.result()), rel=1e-12)
    bad = scores[20:].copy()
    bad[0, 0] = np.inf
    update(tf.constant(labels[20:]), tf.constant(bad))
    with pytest.warns(am.UndefinedMetricWarning, match="^uar is undefined: 1 batch"):
        assert np.isnan(float(uar.result()))
    f1 = MultilabelF1(num_labels=3, nan_policy="omit")
    holes = au_scores.astype(np.float64)
    holes[5, 2] = np.nan
    tf.function(f1.update_state)(tf.constant(au.astype(np.float64)), tf.constant(holes))
    assert float(f1.result()) == pytest.approx(
        am.multilabel_f1(au, holes, nan_policy="omit"), rel=1e-12)


def test_portable_targets_n_against_a_dense_1_output_n_1_follow_keras():
    # y of shape (n,) against a Dense(1) output (n, 1): Keras' convention (its own metrics
    # and losses, and the compiled update) drops the unit axis; the eager update refused
    # it, so model.fit failed on PyTorch and worked on TensorFlow.
    truth, pred = va_data(21, n=50, dtype=np.float64)
    t, p = truth[:, 0], pred[:, 0]
    for cls, fn in FUNCTIONS.items():
        for a, b in ((t, p[:, None]), (t[:, None], p)):
            metric = cls()
            metric.update_state(a[:20], b[:20])
            metric.update_state(a[20:], b[20:])
            assert float(metric.result()) == pytest.approx(fn(t, p), rel=1e-12)
    with pytest.raises(ValueError, match="y_true has 4 samples, y_pred has 1"):
        CCC().update_state(np.zeros((4, 1)), np.zeros((1, 1)))  # nothing broadcast
    with pytest.raises(ValueError, match="num_outputs=2"):
        CCC(num_outputs=2).update_state(t, p[:, None])
    x = pred[:, :1].astype(np.float32)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Identity()])
    model.compile(loss="mse", metrics=[CCC(), Pearson()])
    logs = model.evaluate(x, truth[:, 0], batch_size=16, verbose=0, return_dict=True)
    y32 = truth[:, 0].astype(np.float32).astype(np.float64)
    assert logs["ccc"] == pytest.approx(am.ccc(y32, x[:, 0].astype(np.float64)), rel=1e-9)
    assert logs["pearson"] == pytest.approx(am.pearson(y32, x[:, 0].astype(np.float64)),
                                            rel=1e-9)
    labels = np.array([0, 1, 2, 1, 0, 2, 2])
    scores = np.eye(3)[[0, 1, 1, 1, 2, 2, 0]] * 0.8 + 0.1
    uar = UAR(num_classes=3)
    uar.update_state(labels[:, None], scores)  # sparse labels as Keras keeps them, (n, 1)
    assert float(uar.result()) == pytest.approx(am.uar(labels, scores), rel=1e-12)
    indices = UAR(num_classes=3)
    indices.update_state(labels[:, None], scores.argmax(axis=1)[:, None])
    assert float(indices.result()) == pytest.approx(am.uar(labels, scores), rel=1e-12)
    classifier = keras.Sequential([keras.Input((3,)), keras.layers.Identity()])
    classifier.compile(loss="sparse_categorical_crossentropy", metrics=[UAR(num_classes=3)])
    logs = classifier.evaluate(scores.astype(np.float32), labels[:, None], batch_size=3,
                               verbose=0, return_dict=True)
    assert logs["uar"] == pytest.approx(am.uar(labels, scores), rel=1e-12)


def test_portable_ccc_loss_drops_a_unit_axis_and_refuses_other_shapes():
    # ccc_loss(y (n,), y_pred (n, 1)) broadcast the centred columns into an (n, n) product
    # and returned 1.0 whatever the data.
    truth, pred = va_data(22, n=40, dtype=np.float64)
    t, p = truth[:, 0], pred[:, 0]
    expected = 1.0 - am.ccc(t, p)
    assert float(ccc_loss(t, p[:, None])) == pytest.approx(expected, rel=1e-6)
    assert float(ccc_loss(t[:, None], p)) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match=r"ccc_loss: y_true has shape \(4, 1\)"):
        ccc_loss(np.zeros((4, 1)), np.ones((1, 1)))


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_portable_half_precision_inputs_equal_the_core_on_their_values(dtype):
    # bfloat16 tensors were refused ("must hold real numbers", TensorFlow) or crashed in
    # the conversion (PyTorch: "Got unsupported ScalarType BFloat16").
    truth, pred = va_data(23, n=64, dtype=np.float64)
    t = keras.ops.convert_to_tensor(truth, dtype)
    p = keras.ops.convert_to_tensor(pred, dtype)
    exact_t = keras.ops.convert_to_numpy(keras.ops.cast(t, "float32")).astype(np.float64)
    exact_p = keras.ops.convert_to_numpy(keras.ops.cast(p, "float32")).astype(np.float64)
    for cls, fn in FUNCTIONS.items():
        metric = cls(num_outputs=2)
        metric.update_state(t[:30], p[:30])
        metric.update_state(t[30:], p[30:])
        assert float(metric.result()) == pytest.approx(np.mean(fn(exact_t, exact_p)),
                                                       rel=1e-12)
    labels = np.arange(64) % 3
    scores = keras.ops.convert_to_tensor(np.random.default_rng(3).random((64, 3)), dtype)
    uar = UAR(num_classes=3)
    uar.update_state(labels, scores)
    exact = keras.ops.convert_to_numpy(keras.ops.cast(scores, "float32"))
    assert float(uar.result()) == pytest.approx(am.uar(labels, exact), rel=1e-12)
    f1 = MultilabelF1(num_labels=3)
    f1.update_state((exact > 0.5).astype(int), scores)
    assert float(f1.result()) == 1.0


def test_portable_constructor_arguments_are_checked_by_value_not_by_python_type():
    # np.int64(2) (a shape entry, a config read back from NumPy) was refused as num_outputs;
    # column=True and column=1.7 were taken as column 1; pivot=nan made every value nan.
    assert CCC(num_outputs=np.int64(2)).num_outputs == 2
    assert CCC(num_outputs=2, column=np.int64(1)).column == 1
    assert UAR(num_classes=np.int32(3)).num_classes == 3
    assert MultilabelF1(num_labels=np.int64(4)).num_labels == 4
    for column in (True, 1.7, -1, 2):
        with pytest.raises(ValueError, match=r"column must be in 0\.\.1"):
            CCC(num_outputs=2, column=column)
    for bad in (2.0, True, 0):
        with pytest.raises(ValueError, match="num_outputs must be a positive integer"):
            RMSE(num_outputs=bad)
        with pytest.raises(ValueError, match="num_classes must be a positive integer"):
            UAR(num_classes=bad)
    for pivot in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="pivot must be a finite number"):
            CCC(pivot=pivot)


def test_portable_device_batches_are_checked_and_kept_as_on_the_host(monkeypatch):
    # A batch on an accelerator (simulated: every tensor taken as off the host) went through
    # a finiteness check only: magnitudes outside the supported range were added (the
    # state became nan for good), a sample_weight of the wrong length raised the backend's
    # broadcast error, UAR labels out of range raised torch's one_hot error and 0.5 was
    # truncated to class 0. On PyTorch the running extremes were folded with ops.maximum,
    # which returns float32 there: a prediction varying below float32 resolution became
    # "constant" (Pearson nan).
    import affectmetrics.keras as keras_module
    import affectmetrics.keras._labels as labels_module

    monkeypatch.setattr(keras_module, "_on_host", lambda value: False)
    monkeypatch.setattr(labels_module, "_on_host", lambda value: False)
    tensor = keras.ops.convert_to_tensor
    first_t, first_p = np.array([0.2, -0.4, 0.9]), np.array([0.1, -0.1, 0.5])
    refused = [
        (np.array([1e200, 0.0]), np.array([0.2, 0.1]), None, "outside the range"),
        (np.array([1e-200, 0.0]), np.array([1e-200, 0.0]), None, "outside the range"),
        (np.array([0.1, 0.3]), np.array([0.2, 0.1]), np.ones(3),
         r"sample_weight has shape \(3,\)"),
    ]
    for truth, pred, weight, message in refused:
        metric = CCC()
        metric.update_state(tensor(first_t), tensor(first_p))
        before = state(metric)
        with pytest.raises(ValueError, match=message):
            metric.update_state(tensor(truth), tensor(pred),
                                sample_weight=None if weight is None else tensor(weight))
        for old, new in zip(before, state(metric), strict=True):
            np.testing.assert_array_equal(old, new)
    if keras.backend.backend() != "jax" or _jax_x64():
        truth = np.array([0.1, 0.5, -0.3, 0.7])
        pred = 0.3 + np.array([0.0, 1e-12, 2e-12, -1e-12])
        metric = Pearson(pivot=0.3)
        metric.update_state(tensor(truth[:2]), tensor(pred[:2]))
        metric.update_state(tensor(truth[2:]), tensor(pred[2:]))
        assert float(metric.result()) == pytest.approx(am.pearson(truth, pred), rel=1e-9)
    uar = UAR(num_classes=3)
    uar.update_state(tensor(np.array([0, 1, 2])), tensor(np.array([0, 1, 1])))
    before = state(uar)
    for labels in (np.array([0, 5]), np.array([0.5, 1.0])):
        with pytest.raises(ValueError, match="which is not among the classes"):
            uar.update_state(tensor(labels), tensor(np.array([0, 1])))
    for old, new in zip(before, state(uar), strict=True):
        np.testing.assert_array_equal(old, new)
    assert float(uar.result()) == pytest.approx(am.uar([0, 1, 2], [0, 1, 1]), rel=1e-12)


def _jax_x64():
    import jax

    return bool(jax.config.read("jax_enable_x64"))


def test_portable_callback_keys_uar_and_icc_are_known_to_the_callback():
    # The callback writes val_uar and val_icc_valence/arousal, but did not know them as its
    # keys: EarlyStopping(monitor="val_uar") in mode "auto" stopped fit with Keras'
    # "isn't able to automatically determine" error, and a misplaced monitor got no warning.
    x, y = multitask_data()
    val = (x[:32], {k: v[:32] for k, v in y.items()})
    for key in ("val_uar", "val_icc_valence", "val_icc_arousal"):
        model = multitask_model()
        model.compile(optimizer="adam", loss={"expression": "sparse_categorical_crossentropy",
                                              "valence_arousal": "mse"})
        stopper = keras.callbacks.EarlyStopping(monitor=key, patience=5)
        history = model.fit(x, y, epochs=1, verbose=0,
                            callbacks=[AffectMetricsCallback(val), stopper])
        assert stopper.mode == "max" and key in history.history
        late = keras.callbacks.EarlyStopping(monitor=key, mode="max")
        with pytest.warns(UserWarning, match="put AffectMetricsCallback first"):
            model.fit(x, y, epochs=1, verbose=0, callbacks=[late, AffectMetricsCallback(val)])


def test_portable_magnitude_range_is_checked_per_column_and_side():
    # The range was checked over the whole batch: a valence column of magnitude 1e-170
    # next to an arousal column around 0.5 was accepted, its sum of squares underflowed to
    # 0, and CCC came out nan where the core gives 0 (constant prediction, varying truth).
    truth = np.array([[1e-170, 0.5], [0.0, 0.1], [3e-170, 0.2]])
    pred = np.array([[0.0, 0.4], [0.0, 0.3], [0.0, 0.1]])
    for bad_t, bad_p in ((truth, pred), (pred[:, ::-1], truth[:, ::-1])):
        metrics = CCC.per_output(("valence", "arousal"))
        metrics[0].update_state(np.array([[0.2, 0.1], [0.4, -0.3]]),
                                np.array([[0.1, 0.2], [0.3, -0.1]]))
        before = state(metrics[0])
        with pytest.raises(ValueError, match="reach the magnitude 3e-170"):
            metrics[0].update_state(bad_t, bad_p)
        for old, new in zip(before, state(metrics[0]), strict=True):
            np.testing.assert_array_equal(old, new)
    fine = Pearson(num_outputs=2)  # a tiny value beside normal ones in its column is fine
    values = np.array([[1e-170, 0.5], [0.3, 0.1], [0.7, 0.2]])
    fine.update_state(values, values[::-1])
    assert float(fine.result()) == pytest.approx(np.mean(am.pearson(values, values[::-1])),
                                                 rel=1e-12)


def test_portable_a_scalar_sample_weight_weighs_every_sample_alike():
    # A scalar sample_weight (Keras' metrics take it) was refused by the eager update
    # ("shape (); expected (n,)") and accepted by the compiled one.
    truth, pred = va_data(24, n=30, dtype=np.float64)
    for cls, fn in FUNCTIONS.items():
        metric = cls(num_outputs=2)
        metric.update_state(truth, pred, sample_weight=2.0)
        metric.update_state(truth[:0], pred[:0], sample_weight=np.float64(3.0))
        assert float(metric.result()) == pytest.approx(np.mean(fn(truth, pred)), rel=1e-12)
    with pytest.raises(ValueError, match="finite and non-negative"):
        CCC().update_state(truth[:, 0], pred[:, 0], sample_weight=-1.0)


def test_portable_one_au_targets_n_against_a_dense_1_output():
    # MultilabelF1(num_labels=1): y (n,) against a Dense(1, sigmoid) output (n, 1) was
    # refused by both updates, where Keras' own metrics take it.
    truth = np.array([1, 0, 1, 1, 0, 0, 1])
    scores = np.array([0.9, 0.2, 0.4, 0.7, 0.6, 0.1, 0.8])
    expected = am.multilabel_f1(truth[:, None], scores[:, None])
    for a, b in ((truth, scores[:, None]), (truth[:, None], scores)):
        metric = MultilabelF1(num_labels=1)
        metric.update_state(a[:3], b[:3])
        metric.update_state(a[3:], b[3:])
        assert float(metric.result()) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="num_labels=2"):
        MultilabelF1(num_labels=2).update_state(np.zeros((3, 1)), np.zeros((3, 1)))
    model = keras.Sequential([keras.Input((1,)), keras.layers.Identity()])
    model.compile(loss="binary_crossentropy", metrics=[MultilabelF1(num_labels=1)])
    logs = model.evaluate(scores[:, None].astype(np.float32), truth, batch_size=3, verbose=0,
                          return_dict=True)
    assert logs["multilabel_f1"] == pytest.approx(expected, rel=1e-12)


def test_portable_callback_sets_the_mode_of_training_and_differently_prefixed_monitors():
    # The callback set the direction of compiled keys only when the monitor started with
    # its own prefix: a training key ("valence_arousal_ccc_valence") or any compiled key
    # with prefix="val_am_" was left to Keras, which stopped fit in mode "auto".
    x, y = multitask_data()
    val = (x[:32], {k: v[:32] for k, v in y.items()})
    cases = (("valence_arousal_ccc_valence", "val_", "max"),
             ("valence_arousal_rmse_arousal", "val_", "min"),
             ("val_valence_arousal_rmse_arousal", "val_am_", "min"))
    for monitor, prefix, mode in cases:
        model = multitask_model()
        model.compile(optimizer="adam",
                      loss={"expression": "sparse_categorical_crossentropy",
                            "valence_arousal": "mse"},
                      metrics={"valence_arousal": [*CCC.per_output(), *RMSE.per_output()]})
        stopper = keras.callbacks.EarlyStopping(monitor=monitor, patience=5)
        history = model.fit(x, y, epochs=1, verbose=0, validation_data=val,
                            callbacks=[AffectMetricsCallback(val, prefix=prefix), stopper])
        assert stopper.mode == mode and monitor in history.history


def test_portable_running_values_in_fit_do_not_warn_only_the_epoch_value_does():
    # On PyTorch Keras reads every metric eagerly after each step: Pearson warned "y_true
    # and y_pred are constant" after the first one-sample batch although the epoch's value
    # is defined, and a collapsed head warned once per batch instead of once.
    rng = np.random.default_rng(25)
    truth = rng.uniform(-1, 1, (20, 2)).astype(np.float32)
    x = truth + rng.normal(0, 0.3, (20, 2)).astype(np.float32)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Identity()])
    model.compile(loss="mse", metrics=[*Pearson.per_output(), *CCC.per_output()])
    with warnings.catch_warnings():
        warnings.simplefilter("error", am.UndefinedMetricWarning)
        logs = model.evaluate(x, truth, batch_size=1, verbose=0, return_dict=True)
    t64, p64 = truth.astype(np.float64), x.astype(np.float64)
    assert logs["pearson_valence"] == pytest.approx(am.pearson(t64[:, 0], p64[:, 0]),
                                                    rel=1e-12)
    assert logs["ccc_arousal"] == pytest.approx(am.ccc(t64[:, 1], p64[:, 1]), rel=1e-12)
    with pytest.warns(am.UndefinedMetricWarning) as record:
        logs = model.evaluate(np.full_like(x, 0.3), truth, batch_size=4, verbose=0,
                              return_dict=True)
    messages = [str(w.message) for w in record if w.category is am.UndefinedMetricWarning]
    assert messages == ["pearson is undefined: y_pred is constant; returning nan"] * 2
    assert np.isnan(logs["pearson_valence"]) and logs["ccc_valence"] == 0.0
