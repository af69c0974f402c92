"""Choosing the numeric precision of a run: float32, or mixed bfloat16 / float16.

``precision: auto`` picks mixed bfloat16 on CPUs with AMX or AVX512-BF16 when the batch and
the model are large enough to gain (measured in ``benchmarks/``: on such a CPU the §5.3
model trains about twice as fast at batch 128, while at batch 32, or for a model of a few
MFLOPs, bfloat16 is slower); mixed float16 on CUDA GPUs with tensor cores; float32 elsewhere.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cnnrun.tf_env import import_keras

# Below these, bfloat16 on CPU was measured slower than float32 (see benchmarks/).
AUTO_BF16_MIN_BATCH = 128
AUTO_BF16_MIN_MFLOPS = 20.0


@dataclass(frozen=True)
class Precision:
    """The chosen Keras dtype policy and why."""

    policy: str
    reason: str

    @property
    def mixed(self) -> bool:
        """Whether layers compute in a 16-bit type."""
        return self.policy.startswith("mixed_")


@cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux), empty elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def gpu_with_tensor_cores() -> bool:
    """Whether TensorFlow sees a CUDA GPU of compute capability 7.0 or newer."""
    import_keras()
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        cc = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if cc and tuple(cc) >= (7, 0):
            return True
    return False


def resolve(requested: str, batch_size: int, forward_flops: int) -> Precision:
    """Turn the experiment's ``precision`` into a Keras dtype policy.

    Args:
        requested: ``auto``, ``float32``, ``mixed_bfloat16`` or ``mixed_float16``.
        batch_size: Examples per step (bfloat16 on CPU gains only on large batches).
        forward_flops: Forward FLOPs per example (it gains only on large models).
    """
    if requested != "auto":
        return Precision(requested, "set in the experiment")
    if gpu_with_tensor_cores():
        return Precision("mixed_float16", "auto: a CUDA GPU with tensor cores")
    flags = cpu_flags()
    bf16 = {"amx_bf16", "avx512_bf16"} & flags
    mflops = forward_flops / 1e6
    if not bf16:
        return Precision("float32", "auto: the CPU has no bfloat16 units (AMX, AVX512-BF16)")
    if batch_size < AUTO_BF16_MIN_BATCH:
        return Precision(
            "float32", f"auto: batch {batch_size} < {AUTO_BF16_MIN_BATCH}, too small to gain"
        )
    if mflops < AUTO_BF16_MIN_MFLOPS:
        return Precision(
            "float32", f"auto: {mflops:.1f} MFLOPs per example, too small a model to gain"
        )
    return Precision("mixed_bfloat16", f"auto: the CPU has {', '.join(sorted(bf16))}")


@contextlib.contextmanager
def global_policy(policy: str) -> Iterator[None]:
    """Build layers under ``policy``, restoring the previous global policy afterwards."""
    keras = import_keras()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
