"""Two fixes that let Keras 3's ``Model.fit`` run under MultiWorkerMirroredStrategy.

Keras 3.15 fails there in two places (keras-team/keras#20585):

1. ``Trainer._maybe_symbolic_build`` takes the first batch and reduces it across the
   workers with ``strategy.reduce("MEAN", ...)`` only to learn its shapes; on the eager
   collective path that tries to turn the ``PerReplica`` batch into one tensor. The
   shapes are the same on every replica, so this process's own replica serves.
2. ``reduce_per_replica`` averages the per-step logs across workers with ``axis=0``,
   but the logs are scalars; ``axis=None`` averages them over the replicas.

Both are applied only when the strategy is multi-worker, and checked by a two-process
test on loopback that compares the result with a single-device run.
"""

from __future__ import annotations

from typing import Any

_applied = False


def apply() -> None:
    """Patch Keras's TensorFlow trainer, once per process."""
    global _applied
    if _applied:
        return
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    def local_batch(strategy: Any, batch: Any) -> Any:
        def first(v: Any) -> Any:
            if isinstance(v, tf.distribute.DistributedValues):
                return strategy.experimental_local_results(v)[0]
            return v

        return tree.map_structure(first, batch)

    def maybe_symbolic_build(self: Any, iterator: Any = None, data_batch: Any = None) -> None:
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = local_batch(self.distribute_strategy, next(it))
                break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    original_reduce = tf_trainer.reduce_per_replica

    def reduce_per_replica(values: Any, strategy: Any, reduction: str) -> Any:
        if reduction in ("auto", "mean") and tf_trainer._collective_all_reduce_multi_worker(
            strategy
        ):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original_reduce(values, strategy, reduction)

    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    _applied = True
