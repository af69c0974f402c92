"""Fine-tuning in phases: train the head on a frozen backbone, then unfreeze it.

With ``fine_tune: {at_epoch: 5, unfreeze: all, learning_rate: 1.0e-5}`` a run has two
phases: epochs 1-5 train with the backbone(s) frozen (``trainable: false``), then the
backbones are unfrozen (all their layers, or their top N) and the model is recompiled with
the same optimizer type at the lower learning rate, and training continues to ``epochs``.
A trainable flag cannot change inside ``model.fit``, so each phase is one ``fit`` call::

    for phase in phases(exp, epochs):
        apply_phase(model, phase)
        model.fit(..., initial_epoch=phase.epochs_from, epochs=phase.epochs_to)

The callbacks (metrics.csv logger, checkpoints) are the same objects in both calls, so
``metrics.csv`` has one row per epoch of the whole run. The backbone was called with
``training=False``, so its BatchNormalization layers stay in inference mode while
fine-tuning (Keras's transfer-learning guide); ``unfreeze: N`` also leaves the
BatchNormalization layers among the top N frozen (Keras's EfficientNet fine-tuning example).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from cnnrun.config.schema import Experiment


@dataclass(frozen=True)
class Phase:
    """A stretch of epochs trained with the same trainable layers and optimizer.

    Attributes:
        epochs_from: ``initial_epoch`` of its ``fit`` (0-based: epochs done before it).
        epochs_to: ``epochs`` of its ``fit`` (the epoch count at its end).
        unfreeze: None for the first phase (the model as built); ``"all"`` or N for a
            fine-tuning phase.
        learning_rate: The learning rate of a fine-tuning phase (None: as compiled).
    """

    epochs_from: int
    epochs_to: int
    unfreeze: Literal["all"] | int | None = None
    learning_rate: float | None = None

    @property
    def fine_tuning(self) -> bool:
        """Whether this phase unfreezes backbones."""
        return self.unfreeze is not None


def phases(exp: Experiment, epochs: int | None = None) -> list[Phase]:
    """The phases of a run of ``epochs`` epochs (default: the experiment's).

    Without ``fine_tune`` there is one phase. A run shortened below ``fine_tune.at_epoch``
    (``--smoke``'s 2 epochs) still has both phases: the first keeps ``epochs - 1`` epochs,
    so that a smoke run exercises the unfreezing too.

    Example:
        >>> [(p.epochs_from, p.epochs_to, p.unfreeze) for p in phases(exp)]  # doctest: +SKIP
        [(0, 5, None), (5, 10, 'all')]
    """
    total = exp.epochs if epochs is None else epochs
    ft = exp.fine_tune
    if ft is None or total < 2:
        return [Phase(0, total)]
    at = min(ft.at_epoch, total - 1)
    return [Phase(0, at), Phase(at, total, ft.unfreeze, ft.learning_rate)]


def frozen_backbones(model: Any) -> list[Any]:
    """The backbones ``fine_tune`` unfreezes: the frozen ``keras.applications`` networks.

    Those built from a backbone layer are marked by cnnrun; in a model from a builder,
    any frozen nested model counts.
    """
    nested = [layer for layer in model.layers if hasattr(layer, "layers")]
    marked = [layer for layer in nested if getattr(layer, "_cnnrun_backbone", None)]
    return [layer for layer in (marked or nested) if not layer.trainable]


def unfreeze(backbone: Any, how: Literal["all"] | int) -> None:
    """Make a backbone trainable: all of it, or its top ``how`` layers but BatchNorm."""
    if how == "all":
        backbone.trainable = True
        return
    backbone.trainable = True  # the container, so its sub-layers' flags count
    for layer in backbone.layers:
        layer.trainable = False
    for layer in backbone.layers[-int(how) :]:
        if type(layer).__name__ != "BatchNormalization":
            layer.trainable = True


def apply_phase(model: Any, phase: Phase) -> list[str]:
    """Prepare a compiled model for ``phase``: unfreeze and recompile when it fine-tunes.

    The optimizer is rebuilt from its own config (same type and settings) with the
    phase's learning rate; loss, metrics and the other compile arguments are kept.

    Args:
        model: A compiled Keras model.
        phase: One of :func:`phases`.

    Returns:
        The names of the backbones unfrozen (empty for a phase that is not fine-tuning).

    Raises:
        ValueError: When a fine-tuning phase finds no frozen backbone.
    """
    if not phase.fine_tuning:
        return []
    from cnnrun.tf_env import import_keras

    keras = import_keras()
    targets = frozen_backbones(model)
    if not targets:
        raise ValueError("fine_tune found no frozen backbone to unfreeze in the model")
    for backbone in targets:
        unfreeze(backbone, phase.unfreeze)  # type: ignore[arg-type]
    config = keras.saving.deserialize_keras_object(model.get_compile_config())
    # Under mixed_float16 Keras wraps the optimizer in a LossScaleOptimizer; rebuild the
    # inner one (compile wraps it again).
    old = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    settings = old.get_config()
    if phase.learning_rate is not None:
        settings["learning_rate"] = phase.learning_rate
    config["optimizer"] = type(old).from_config(settings)
    model.compile(**config)
    return [b.name for b in targets]
