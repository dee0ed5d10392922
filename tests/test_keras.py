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
from affectmetrics.keras import CCC, RMSE, SAGR, AffectMetricsCallback, Pearson, ccc_loss

FUNCTIONS = {CCC: am.ccc, Pearson: am.pearson, RMSE: am.rmse, SAGR: am.sagr}


def va_data(seed, n=600, loc=0.0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    truth = rng.normal(loc, 1.0, (n, 2))
    pred = 0.7 * (truth - loc) + loc + rng.normal(0.05, 0.5, (n, 2))
    return truth.astype(dtype), pred.astype(dtype)


def reference(fn, truth, pred):
    return fn(truth.astype(np.float64), pred.astype(np.float64))


@pytest.mark.parametrize("cls", list(FUNCTIONS), ids=lambda c: c.__name__)
def test_portable_metrics_equal_the_core_over_batches(cls):
    truth, pred = va_data(0)
    metric = cls(num_outputs=2)
    for lo in range(0, truth.shape[0], 48):
        metric.update_state(truth[lo:lo + 48], pred[lo:lo + 48])
    expected = reference(FUNCTIONS[cls], truth, pred)
    assert float(metric.result()) == pytest.approx(expected.mean(), rel=1e-6, abs=1e-7)
    for column in (0, 1):
        single = cls(num_outputs=2, column=column)
        single.update_state(truth, pred)
        assert float(single.result()) == pytest.approx(expected[column], rel=1e-6, abs=1e-7)
    metric.reset_state()
    metric.update_state(truth[:10], pred[:10])
    assert float(metric.result()) == pytest.approx(
        reference(FUNCTIONS[cls], truth[:10], pred[:10]).mean(), rel=1e-6, abs=1e-7)


def test_portable_float32_far_from_zero():
    # Data around 1000 in float32: within 1e-4 of the float64 core.
    truth, pred = va_data(1, n=5000, loc=1000.0)
    for cls, fn in FUNCTIONS.items():
        metric = cls(num_outputs=2)
        for lo in range(0, truth.shape[0], 64):
            metric.update_state(truth[lo:lo + 64], pred[lo:lo + 64])
        assert abs(float(metric.result()) - reference(fn, truth, pred).mean()) < 1e-4, cls


def test_portable_sample_weight_equals_repeating_samples():
    truth, pred = va_data(2, n=50)
    counts = np.random.default_rng(2).integers(0, 4, 50)
    for cls, fn in FUNCTIONS.items():
        weighted = cls(num_outputs=2)
        weighted.update_state(truth, pred, sample_weight=counts.astype(np.float32))
        expected = reference(fn, np.repeat(truth, counts, axis=0),
                             np.repeat(pred, counts, axis=0)).mean()
        assert float(weighted.result()) == pytest.approx(expected, rel=1e-6, abs=1e-7), cls


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
                  metrics={"valence_arousal": [CCC(num_outputs=2, column=0, name="ccc_v"),
                                               RMSE(num_outputs=2)]})
    val = (x[:64], {k: v[:64] for k, v in y.items()})
    callback = AffectMetricsCallback(val, keep_reports=True)
    scheduler = keras.callbacks.ReduceLROnPlateau(monitor="val_ccc_valence", patience=1)
    stopper = keras.callbacks.EarlyStopping(monitor="val_f1", patience=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "not available", no order warning
        history = model.fit(x, y, epochs=2, batch_size=32, verbose=0,
                            callbacks=[callback, scheduler, stopper])
    assert scheduler.mode == "max" and stopper.mode == "max"
    logs = history.history
    assert len(logs["val_ccc_valence"]) == 2 and len(callback.reports) == 2
    pred = model.predict(x[:64], verbose=0)
    report = am.evaluate(expression=y["expression"][:64],
                         expression_pred=keras.ops.convert_to_numpy(pred["expression"]),
                         va=y["valence_arousal"][:64],
                         va_pred=keras.ops.convert_to_numpy(pred["valence_arousal"]),
                         warn=False)
    for key in ("ccc_valence", "f1", "auc", "rmse_arousal"):
        assert logs[f"val_{key}"][-1] == pytest.approx(report.metrics[key], rel=1e-5), key
    # The compiled metric over the last epoch's training batches is exact over the epoch.
    assert "valence_arousal_ccc_v" in logs


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

