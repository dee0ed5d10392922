"""Run by test_keras.py in a fresh process: CCC under tf.distribute.MirroredStrategy on two
logical CPU devices must equal the core on the whole data (the per-replica sums add up)."""

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

import keras  # noqa: E402

import affectmetrics as am  # noqa: E402
from affectmetrics.keras import CCC, RMSE, Pearson  # noqa: E402

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
rng = np.random.default_rng(0)
x = rng.normal(size=(512, 4)).astype("float32")
y = (x[:, :2] * 0.5 + 300.0 + rng.normal(0, 0.3, (512, 2))).astype("float32")
# Column 1 of the truth is constant within each replica's half of every batch of 64 (300 on
# replica 0, 301 on replica 1) but not overall: constancy needs both replicas' extremes.
y[:, 1] = np.where(np.arange(512) % 64 < 32, 300.0, 301.0)
with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse",
                  metrics=[CCC(num_outputs=2), Pearson(num_outputs=2, column=1),
                           RMSE(num_outputs=2)])
result = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
pred = model.predict(x, verbose=0).astype(np.float64)
truth = y.astype(np.float64)
expected = {"ccc": am.ccc(truth, pred).mean(), "pearson": am.pearson(truth, pred)[1],
            "rmse": am.rmse(truth, pred).mean()}
for key, value in expected.items():
    assert abs(result[key] - value) < 1e-4 * max(1.0, abs(value)), (key, result[key], value)
pearson = next(m for m in model.metrics[1].metrics if m.name == "pearson")
local = [np.asarray(v)[0, 0, 1] for v in
         strategy.experimental_local_results(pearson._extremes.value)]
assert sorted(local) == [300.0, 301.0], local  # each replica saw one value only
gram = np.asarray(pearson._read()[0])
assert gram[0, 0, 0] == 512, gram[0, 0, 0]  # the replicas' sums add up: every sample
print("replicas", strategy.num_replicas_in_sync, result)
