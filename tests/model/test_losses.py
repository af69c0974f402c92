"""Segmentation and keypoint metrics and the visible-joints loss, against NumPy by hand."""

import numpy as np
import pytest

from cnnrun.model.losses import (
    PCK,
    KeypointError,
    VisibleMSE,
    keypoint_error_px,
    mean_iou,
    pck,
    pixel_accuracy,
    task_metric,
    visible_mse,
)

RNG = np.random.default_rng(0)


def _masks(n=3, h=6, w=5, classes=3):
    y_true = RNG.integers(0, classes, (n, h, w)).astype(np.uint8)
    y_pred = RNG.random((n, h, w, classes)).astype(np.float32)
    return y_true, y_pred


def _np_mean_iou(y_true, y_pred, classes):
    pred = y_pred.argmax(-1)
    ious = []
    for c in range(classes):
        union = ((pred == c) | (y_true == c)).sum()
        if union:
            ious.append(((pred == c) & (y_true == c)).sum() / union)
    return float(np.mean(ious))


def test_mean_iou_and_pixel_accuracy_match_numpy():
    y_true, y_pred = _masks()
    m, acc = mean_iou(3), pixel_accuracy()
    m.update_state(y_true, y_pred)
    acc.update_state(y_true, y_pred)
    assert float(m.result()) == pytest.approx(_np_mean_iou(y_true, y_pred, 3), abs=1e-6)
    assert float(acc.result()) == pytest.approx((y_pred.argmax(-1) == y_true).mean(), abs=1e-6)
    assert m.name == "mean_iou" and acc.name == "pixel_accuracy"


def test_mean_iou_accumulates_over_batches_and_skips_absent_classes():
    y_true = np.zeros((2, 2, 2), np.uint8)
    y_true[1] = 1
    y_pred = np.zeros((2, 2, 2, 3), np.float32)
    y_pred[0, ..., 0] = 1  # right
    y_pred[1, ..., 0] = 1  # wrong: predicts 0 where 1
    y_pred[1, 0, 0] = [0, 1, 0]  # one right pixel of class 1
    m = mean_iou(3)
    m.update_state(y_true[:1], y_pred[:1])
    m.update_state(y_true[1:], y_pred[1:])
    # class 0: inter 4, union 4 + 3 = 7; class 1: inter 1, union 4; class 2 absent
    assert float(m.result()) == pytest.approx((4 / 7 + 1 / 4) / 2, abs=1e-6)


def _keypoints(n=4, joints=24):
    xy = RNG.uniform(0, 1, (n, joints, 2))
    v = (RNG.random((n, joints)) > 0.3).astype(np.float32)
    v[0] = 0  # an example without a visible joint
    xy[v == 0] = 0
    y_true = np.concatenate([xy, v[..., None]], -1).reshape(n, -1).astype(np.float32)
    y_pred = np.clip(xy + RNG.normal(0, 0.08, xy.shape), 0, 1).reshape(n, -1).astype(np.float32)
    return y_true, y_pred


def _np_distances(y_true, y_pred, h, w):
    t = y_true.reshape(len(y_true), -1, 3)
    p = y_pred.reshape(len(y_pred), -1, 2)
    d = np.hypot((p[..., 0] - t[..., 0]) * w, (p[..., 1] - t[..., 1]) * h)
    return d, t[..., 2] > 0


def test_keypoint_error_is_the_mean_pixel_distance_of_visible_joints():
    y_true, y_pred = _keypoints()
    d, v = _np_distances(y_true, y_pred, 224, 160)
    metric = keypoint_error_px((224, 160))
    metric.update_state(y_true[:2], y_pred[:2])
    metric.update_state(y_true[2:], y_pred[2:])
    assert float(metric.result()) == pytest.approx(d[v].mean(), rel=1e-5)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_pck_counts_visible_joints_within_a_tenth_of_the_longer_side():
    y_true, y_pred = _keypoints()
    d, v = _np_distances(y_true, y_pred, 224, 224)
    metric = pck((224, 224))
    assert metric.threshold_px == pytest.approx(22.4)
    metric.update_state(y_true, y_pred)
    expected = (d[v] <= 22.4).mean()
    assert 0 < expected < 1
    assert float(metric.result()) == pytest.approx(expected, abs=1e-6)
    # an invisible joint predicted far away changes nothing
    far = y_pred.copy().reshape(len(y_pred), -1, 2)
    far[y_true.reshape(len(y_true), -1, 3)[..., 2] == 0] = 1.0
    again = pck((224, 224))
    again.update_state(y_true, far.reshape(len(far), -1))
    assert float(again.result()) == pytest.approx(expected, abs=1e-6)


def test_visible_mse_ignores_invisible_joints():
    y_true, y_pred = _keypoints()
    t = y_true.reshape(len(y_true), -1, 3)
    p = y_pred.reshape(len(y_pred), -1, 2)
    v = t[..., 2]
    per_example = ((p - t[..., :2]) ** 2).sum(-1) * v
    expected = np.mean(per_example.sum(-1) / np.maximum(2 * v.sum(-1), 1))
    assert float(visible_mse()(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)
    # every joint visible: plain MSE on the coordinates
    all_visible = t.copy()
    all_visible[..., 2] = 1
    value = float(VisibleMSE()(all_visible.reshape(len(t), -1), y_pred))
    assert value == pytest.approx(np.mean((p - t[..., :2]) ** 2), rel=1e-5)


def test_task_metric_by_name_and_config_round_trip():
    assert task_metric("mean_iou", num_classes=3).num_classes == 3
    assert isinstance(task_metric("pck", image_size=(64, 48)), PCK)
    error = task_metric("keypoint_error_px", image_size=(64, 48))
    assert isinstance(error, KeypointError) and error.image_size == (64, 48)
    restored = PCK.from_config(PCK((10, 20), alpha=0.2).get_config())
    assert restored.image_size == (10, 20) and restored.alpha == 0.2
    with pytest.raises(KeyError):
        task_metric("accuracy")
    with pytest.raises(ValueError):
        task_metric("mean_iou")


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_a_compiled_model_with_them_saves_and_loads_in_safe_mode(tmp_path):
    import keras

    inputs = keras.Input((4, 4, 3))
    heat = keras.layers.Conv2D(3, 1, activation="softmax")(inputs)
    seg = keras.Model(inputs, heat)
    seg.compile("adam", "sparse_categorical_crossentropy", metrics=[mean_iou(3), pixel_accuracy()])
    kp_out = keras.layers.Dense(48, activation="sigmoid")(keras.layers.Flatten()(inputs))
    kp = keras.Model(inputs, kp_out)
    kp.compile("adam", visible_mse(), metrics=[keypoint_error_px((4, 4)), pck((4, 4))])
    x = RNG.random((4, 4, 4, 3)).astype(np.float32)
    y_seg = RNG.integers(0, 3, (4, 4, 4)).astype(np.uint8)
    y_kp, _ = _keypoints(4)
    for model, y in ((seg, y_seg), (kp, y_kp)):
        before = model.evaluate(x, y, return_dict=True, verbose=0)
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True, compile=True)
        after = loaded.evaluate(x, y, return_dict=True, verbose=0)
        assert set(after) == set(before)
        for k in before:
            assert after[k] == pytest.approx(before[k], rel=1e-5, abs=1e-6), k
