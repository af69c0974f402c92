"""tf.distribute strategies: one device, mirrored devices, or several worker processes.

``data.batch_size`` is the global batch: each of N replicas gets ``batch_size / N``. With
``multi_worker`` every process runs ``cnnrun train`` with its own ``$TF_CONFIG``; only the
chief (task 0) writes the run folder, the others write to a temporary folder that is removed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from cnnrun.config.schema import DistributeConfig
from cnnrun.tf_env import import_keras


@dataclass
class Distribution:
    """The strategy in use and who this process is."""

    strategy: Any
    replicas: int
    is_chief: bool
    description: str


def _split_cpu(tf: Any, n: int) -> None:
    cpus = tf.config.list_physical_devices("CPU")
    current = tf.config.get_logical_device_configuration(cpus[0])
    if current and len(current) == n:
        return
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
    )


def setup(cfg: DistributeConfig) -> Distribution:
    """Create the strategy (call before any model or tensor is created).

    Raises:
        RuntimeError: When TensorFlow is already initialised and devices cannot be split,
            or ``multi_worker`` is asked for without ``$TF_CONFIG``.
    """
    import_keras()
    import tensorflow as tf

    if cfg.cpu_devices and cfg.cpu_devices > 1:
        _split_cpu(tf, cfg.cpu_devices)
    if cfg.strategy == "default":
        strategy = tf.distribute.get_strategy()
        return Distribution(strategy, 1, True, "one device")
    if cfg.strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        strategy = tf.distribute.MirroredStrategy(devices)
        n = strategy.num_replicas_in_sync
        return Distribution(strategy, n, True, f"mirrored over {n} devices")
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    if not tf_config.get("cluster"):
        raise RuntimeError(
            "distribute.strategy multi_worker needs $TF_CONFIG describing the cluster "
            '(e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}})'
        )
    from cnnrun.train import keras_multi_worker

    keras_multi_worker.apply()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    task = tf_config.get("task", {})
    is_chief = task.get("type") == "chief" or (
        task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in
        tf_config["cluster"]
    )  # fmt: skip
    workers = len(tf_config["cluster"].get("worker", [])) + len(
        tf_config["cluster"].get("chief", [])
    )
    return Distribution(
        strategy,
        strategy.num_replicas_in_sync,
        is_chief,
        f"multi-worker, {workers} workers, task {task.get('type')}:{task.get('index')}",
    )


def shard_by_data(dataset: Any) -> Any:
    """Shard a dataset by element across workers (in-memory data has no files to shard)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
