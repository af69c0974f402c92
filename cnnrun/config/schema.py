"""The experiment file as typed models: every key, its type, default and meaning.

This is the one place defaults live. Structure and types are checked here by pydantic;
names that refer to registries (layers, optimizers, data sets, ...) are checked against
those registries by :mod:`cnnrun.checks.names`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import (
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Strict,
    Tag,
    WithJsonSchema,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cnnrun.catalog import CALLBACK_CLASSES


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _no_bool(kind: str, word: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, bool):  # pydantic's lax mode would read `true` as 1
            raise PydanticCustomError(f"{kind}_type", f"Input should be a valid {word}")
        return value

    return check


# Numbers that refuse true/false (lax mode reads them as 1/0), and a bool that refuses 1/0.
Int = Annotated[int, BeforeValidator(_no_bool("int", "integer"))]
# Floats are finite: `.inf` or `.nan` as a learning rate only surfaces as a NaN loss later.
Float = Annotated[float, BeforeValidator(_no_bool("float", "number")), AllowInfNan(False)]
Bool = Annotated[bool, Strict()]


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a stack: a Keras class name and its arguments.

    Written in YAML as ``Flatten`` (no arguments), ``Dropout: 0.25`` (one positional
    argument), ``MaxPooling2D: [2, 2]`` (positional arguments) or
    ``Conv2D: {filters: 32, kernel_size: 3}`` (keyword arguments).
    """

    type: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    form: Literal["bare", "scalar", "list", "mapping"] = "bare"

    def to_yaml(self) -> Any:
        """The YAML form this spec was written in."""
        if self.form == "bare":
            return self.type
        if self.form == "scalar":
            return {self.type: self.args[0]}
        if self.form == "list":
            return {self.type: list(self.args)}
        return {self.type: dict(self.kwargs)}


def _parse_layer(value: Any) -> LayerSpec:
    if isinstance(value, LayerSpec):
        return value
    if isinstance(value, str):
        return LayerSpec(value)
    if isinstance(value, dict) and len(value) == 1:
        ((name, arg),) = value.items()
        if not isinstance(name, str):
            raise ValueError("a layer's name must be a string")
        if arg is None:
            return LayerSpec(name)
        if isinstance(arg, dict):
            if not all(isinstance(k, str) for k in arg):
                raise ValueError("layer argument names must be strings")
            return LayerSpec(name, kwargs=dict(arg), form="mapping")
        if isinstance(arg, list):
            return LayerSpec(name, args=tuple(arg), form="list")
        return LayerSpec(name, args=(arg,), form="scalar")
    raise ValueError(
        "a layer is a class name (`Flatten`) or a one-key mapping "
        "(`Dropout: 0.25`, `MaxPooling2D: [2, 2]`, `Dense: {units: 10}`)"
    )


Layer = Annotated[
    LayerSpec,
    BeforeValidator(_parse_layer),
    PlainSerializer(lambda spec: spec.to_yaml()),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "description": "a Keras layer class name, no arguments"},
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "description": "Keras layer class name -> scalar, list or mapping of args",
                    "additionalProperties": {
                        "anyOf": [
                            {"type": ["number", "string", "boolean", "null"]},
                            {"type": "array"},
                            {"type": "object"},
                        ]
                    },
                },
            ]
        }
    ),
]


class KeypointsConfig(_Strict):
    """How augmentation moves keypoints (issue 12; the defaults are cnnrun's fixes)."""

    swap_flipped: Bool = Field(
        True,
        description="swap the joints named left/right on a mirrored image (false: keep the "
        "labels, as Keras's keypoint example)",
    )
    out_of_image: Literal["hide", "keep"] = Field(
        "hide",
        description="a visible joint moved outside the image: hide (becomes (0, 0), "
        "invisible) or keep (its coordinates < 0 or > 1, still visible)",
    )
    invisible: Literal["fixed", "transform"] = Field(
        "fixed",
        description="invisible joints: fixed (stay at (0, 0)) or transform (their (0, 0) "
        "moves with the image, as any point; still invisible)",
    )


def _fraction_or_count(value: Any) -> Any:
    """A fraction in [0, 1) (a float, or 0) or a count (an int >= 1), as given."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value if value >= 1 else 0.0
    if isinstance(value, float) and 0.0 <= value < 1.0:
        return value
    raise PydanticCustomError(
        "fraction_or_count",
        "Input should be a fraction in [0, 1) or a count (an integer >= 1)",
    )


# Issue 12: a split given as a fraction (0.2: the last 20%) or a count (1000: the last 1,000),
# as scikit-learn's train_test_split reads its test_size.
FractionOrCount = Annotated[
    int | float,
    BeforeValidator(_fraction_or_count),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "description": "a count: the last N"},
                {
                    "type": "number",
                    "minimum": 0,
                    "exclusiveMaximum": 1,
                    "description": "a fraction",
                },
            ]
        }
    ),
]


class FolderOrder(_Strict):
    """The order a folder data set's examples are put in before ``limit`` and the splits."""

    shuffle: Literal["numpy", "python_random", "none"] = Field(
        "numpy",
        description="numpy: NumPy's permutation; python_random: sorted by image path, then "
        "random.Random(seed).shuffle (the Keras examples'); none: sorted by image path",
    )
    seed: Int = Field(1337, ge=0, description="the shuffle's seed (independent of `seed:`)")


class DataConfig(_Strict):
    """Where the examples come from and how they are batched."""

    dataset: str = Field(
        "fashion_mnist_sample",
        description="data set name (`cnnrun list datasets`): mnist, fashion_mnist, cifar10, "
        "npz, folder (your own images), synthetic, fashion_mnist_sample (embedded)",
    )
    path: str | None = Field(
        None,
        description="local file or folder of the data (npz file, or a folder holding it; "
        "folder: DIR/<class>/*.jpg, or a CSV of path,label)",
    )
    validation: Literal["split", "test", "none"] = Field(
        "split",
        description="split: hold out `validation_split` of the training set; "
        "test: validate on the test set; none: no validation",
    )
    validation_split: FractionOrCount = Field(
        0.1,
        description="examples held out for validation (the last ones): a fraction in "
        "[0, 1), or an integer N >= 1: a count, the last N",
    )
    batch_size: Int = Field(32, ge=1, description="examples per training step")
    limit: Int | None = Field(
        None,
        ge=1,
        description="use only the first N training examples (synthetic: its size; a folder "
        "data set: read only N files, before test_split)",
    )
    test_limit: Int | None = Field(
        None, ge=1, description="use only the first N test examples (synthetic: its size)"
    )
    shuffle: Bool = Field(True, description="reshuffle the training set each epoch")
    test_split: Float = Field(
        0.1,
        ge=0.0,
        lt=1.0,
        description="for data sets without a test set of their own (oxford_pets, "
        "stanford_extra, a folder without test/): the fraction of examples held out for "
        "testing (the last ones)",
    )
    json_name: str | None = Field(
        None,
        description="stanford_extra: the keypoint JSON's file name in data.path "
        "(default StanfordExtra_v12.json)",
    )
    skip_bad_images: Bool = Field(
        False,
        description="skip (and count) images or masks that cannot be read; false: a bad "
        "file is an error naming it",
    )
    # Issue 12 (§7.2, §7.3): how folder photos are read, ordered and fed.
    pixel_range: Literal["unit", "raw"] = Field(
        "unit",
        description="unit: 0..255 pixels divided by 255 as they are fed; raw: fed as they "
        "are, 0..255 float32 (the §7.2 example)",
    )
    resize: Literal["pillow_bilinear", "tf_bilinear", "imgaug_linear"] = Field(
        "pillow_bilinear",
        description="folder data sets (oxford_pets, stanford_extra, folder): how photos are "
        "resized: Pillow bilinear (antialiased) to uint8; tf.image.resize bilinear kept "
        "float32 (4x the memory); imgaug/OpenCV linear to uint8. Masks: nearest",
    )
    order: FolderOrder = Field(
        default_factory=lambda: FolderOrder(),
        description="folder data sets: the order of the examples before the splits",
    )
    train_limit: Int | None = Field(
        None,
        ge=1,
        description="use only the first N training examples, counted after the test and "
        "validation examples were held out",
    )
    augment: list[Any] = Field(
        default_factory=list,
        description="imgaug augmenters applied to the training split, image and mask or "
        "keypoints together: [Fliplr: 0.3, {Sometimes: {p: 0.3, then: [Affine: {rotate: 10}]}}]",
    )
    # Issue 12 (§7.3): partial batches and how augmentation moves keypoints.
    drop_remainder: Bool = Field(
        False,
        description="true: floor(n / batch_size) steps per epoch for training and validation "
        "(the last partial batch is left out; the test set is always evaluated whole)",
    )
    keypoints: KeypointsConfig = Field(
        default_factory=KeypointsConfig,
        description="keypoints task: how data.augment moves the joints",
    )


Shape = list[Annotated[Int, Field(ge=1)]]


class StackModel(_Strict):
    """A stack of Keras layers applied to one input."""

    input_shape: Shape = Field(
        ..., min_length=1, description="shape of one example, without the batch axis"
    )
    layers: list[Layer] = Field(
        ...,
        min_length=1,
        description="Keras layers, in order; a keras.applications name (ResNet50V2, ...) "
        "is a pretrained backbone (`cnnrun list backbones`)",
    )


def _names(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


NodeNames = Annotated[list[str], BeforeValidator(_names)]


class GraphNode(_Strict):
    """One node of a functional graph: a layer applied to the output of other nodes."""

    name: str = Field(
        ...,
        pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$",
        description="the node's name: other nodes and `outputs` refer to it; also its "
        "Keras layer name",
    )
    layer: Layer = Field(..., description="the layer, written as in a stack's `layers`")
    input: str | None = Field(None, description="the one node (or model input) it reads")
    inputs: list[str] | None = Field(
        None, min_length=1, description="several nodes it reads, in order (Add, Concatenate...)"
    )

    @model_validator(mode="after")
    def _one_input_key(self) -> GraphNode:
        if (self.input is None) == (self.inputs is None):
            raise ValueError(
                "a node reads `input: NODE` or `inputs: [NODE, ...]` (exactly one of them)"
            )
        return self

    @model_serializer(mode="wrap")
    def _written_form(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        data.pop("inputs" if self.inputs is None else "input", None)
        return data

    @property
    def sources(self) -> list[str]:
        """The names of the nodes it reads, in order."""
        return [self.input] if self.input is not None else list(self.inputs or [])


class GraphModel(_Strict):
    """A functional graph of named nodes: skip connections, branches, several outputs."""

    input_shape: Shape | None = Field(
        None,
        min_length=1,
        description="shape of the one input, named `input` (or give `inputs` instead)",
    )
    inputs: dict[str, Shape] | None = Field(
        None, min_length=1, description="named inputs and their shapes: {image: [28, 28, 1]}"
    )
    graph: list[GraphNode] = Field(
        ..., min_length=1, description="the nodes, each a layer and the node(s) it reads"
    )
    outputs: NodeNames | None = Field(
        None, min_length=1, description="the node(s) the model outputs (default: the last)"
    )

    @model_validator(mode="after")
    def _one_input_form(self) -> GraphModel:
        if self.inputs is None:
            if self.input_shape is None:
                raise ValueError("a graph needs `input_shape` (one input) or `inputs`")
            return self
        single = list(self.inputs.values())[0] if len(self.inputs) == 1 else None
        if self.input_shape is not None and self.input_shape != single:
            raise ValueError("give `input_shape` (one input named `input`) or `inputs`, not both")
        # With one named input, `input_shape` is its shape (what training feeds).
        self.input_shape = single
        return self

    @model_serializer(mode="wrap")
    def _written_form(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        if self.inputs is not None:
            data.pop("input_shape", None)
        return data

    def input_shapes(self) -> dict[str, list[int]]:
        """The model's inputs by name (`input` when the graph gives `input_shape`)."""
        if self.inputs is not None:
            return {k: list(v) for k, v in self.inputs.items()}
        return {"input": list(self.input_shape or [])}

    def output_names(self) -> list[str]:
        """The output nodes (the last node by default)."""
        return list(self.outputs) if self.outputs else [self.graph[-1].name]


class BuilderModel(_Strict):
    """A model made by a registered Python function (`cnnrun list builders`)."""

    builder: str = Field(..., description="the builder's registered name")
    input_shape: Shape = Field(
        ..., min_length=1, description="shape of one example, passed to the builder"
    )
    args: dict[str, Any] = Field(
        default_factory=dict, description="the builder's other keyword arguments"
    )
    file: str | None = Field(
        None,
        description="a Python file that registers the builder (relative to this experiment "
        "file), for builders that do not ship with cnnrun",
    )


def _model_form(value: Any) -> str:
    if isinstance(value, dict):
        if "graph" in value:
            return "layer_graph"
        return "model_builder" if "builder" in value else "layer_stack"
    return {GraphModel: "layer_graph", BuilderModel: "model_builder"}.get(
        type(value), "layer_stack"
    )


ModelConfig = Annotated[
    Annotated[StackModel, Tag("layer_stack")]
    | Annotated[GraphModel, Tag("layer_graph")]
    | Annotated[BuilderModel, Tag("model_builder")],
    Discriminator(_model_form),
]
"""The model: a layer stack (`layers`), a functional graph (`graph`) or a builder (`builder`)."""

# The union tags of ModelConfig (they appear in pydantic's error locations).
MODEL_FORMS: dict[str, type[BaseModel]] = {
    "layer_stack": StackModel,
    "layer_graph": GraphModel,
    "model_builder": BuilderModel,
}


class FineTuneConfig(_Strict):
    """Train the head with the backbone frozen, then unfreeze it at a lower learning rate."""

    at_epoch: Int = Field(
        ...,
        ge=1,
        description="epochs trained with the backbone(s) frozen; fine-tuning starts after them",
    )
    unfreeze: Literal["all"] | Annotated[Int, Field(ge=1)] = Field(
        "all",
        description="all: the whole backbone; N: its top N layers (BatchNormalization "
        "layers stay frozen)",
    )
    learning_rate: Float = Field(
        1.0e-5, gt=0, description="the optimizer's learning rate while fine-tuning"
    )


class OptimizerConfig(BaseModel):
    """A Keras optimizer by name; other keys are passed to its constructor."""

    model_config = ConfigDict(extra="allow")

    name: str = Field("adam", description="Keras optimizer name (`cnnrun list optimizers`)")
    learning_rate: Float | None = Field(
        None, gt=0, description="initial learning rate (Keras's default when omitted)"
    )

    @property
    def kwargs(self) -> dict[str, Any]:
        """Constructor arguments other than the name."""
        extra = dict(self.model_extra or {})
        if self.learning_rate is not None:
            extra["learning_rate"] = self.learning_rate
        return extra


class ConstantSchedule(_Strict):
    """The optimizer's learning rate, unchanged."""

    name: Literal["constant"]


class ExponentialPerEpochSchedule(_Strict):
    """lr = initial_learning_rate · decay_rate^epoch (epoch from 0), as in the chapter's §5.4."""

    name: Literal["exponential_per_epoch"]
    initial_learning_rate: Float | None = Field(
        None, gt=0, description="lr of epoch 0 (default: the optimizer's)"
    )
    decay_rate: Float = Field(0.9, gt=0, description="factor applied at each epoch")


class StepSchedule(_Strict):
    """lr = initial_learning_rate · factor^(epoch // every)."""

    name: Literal["step"]
    initial_learning_rate: Float | None = Field(None, gt=0)
    factor: Float = Field(0.5, gt=0, description="multiplier at each step")
    every: Int = Field(10, ge=1, description="epochs between steps")


class CosineSchedule(_Strict):
    """Cosine decay from initial to min learning rate over the run, after a linear warm-up."""

    name: Literal["cosine"]
    initial_learning_rate: Float | None = Field(None, gt=0)
    min_learning_rate: Float = Field(0.0, ge=0)
    warmup_epochs: Int = Field(0, ge=0)


class ReduceOnPlateauSchedule(_Strict):
    """Keras's ReduceLROnPlateau: multiply lr by ``factor`` when ``monitor`` stalls."""

    name: Literal["reduce_on_plateau"]
    monitor: str = "val_loss"
    factor: Float = Field(0.1, gt=0, lt=1)
    patience: Int = Field(5, ge=0)
    min_delta: Float = Field(1e-4, ge=0)
    min_lr: Float = Field(0.0, ge=0)


Schedule = Annotated[
    ConstantSchedule
    | ExponentialPerEpochSchedule
    | StepSchedule
    | CosineSchedule
    | ReduceOnPlateauSchedule,
    Field(discriminator="name"),
]
SCHEDULE_NAMES = ("constant", "exponential_per_epoch", "step", "cosine", "reduce_on_plateau")


class LossConfig(BaseModel):
    """A Keras loss by name; other keys (``from_logits``, ...) go to its constructor."""

    model_config = ConfigDict(extra="allow")

    name: str


def _loss(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


def _ser_loss(loss: LossConfig) -> Any:
    return loss.name if not loss.model_extra else {"name": loss.name, **loss.model_extra}


Loss = Annotated[
    LossConfig,
    BeforeValidator(_loss),
    PlainSerializer(_ser_loss),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "description": "a Keras loss name (`cnnrun list losses`)"},
                {
                    "type": "object",
                    "properties": {"name": {"type": "string"}},
                    "required": ["name"],
                    "description": "a Keras loss name and its class's arguments",
                },
            ]
        }
    ),
]

CALLBACK_NAMES = tuple(CALLBACK_CLASSES)


def _callback(value: Any) -> Any:
    if isinstance(value, str):
        return {value: {}}
    if isinstance(value, dict) and len(value) == 1:
        ((name, args),) = value.items()
        return {name: {} if args is None else args}
    return value


Callback = Annotated[
    dict[str, dict[str, Any]],
    BeforeValidator(_callback),
    Field(min_length=1, max_length=1),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(CALLBACK_NAMES), "description": "a callback with no arguments"},
                {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "propertyNames": {"enum": list(CALLBACK_NAMES)},
                    "additionalProperties": {"type": ["object", "null"]},
                    "description": "callback name -> its arguments",
                },
            ]
        }
    ),
]


EXPECT_PATTERN = r"^\s*(>=|<=|==|>|<)\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$"
Expectation = Annotated[
    str,
    Field(
        pattern=EXPECT_PATTERN,
        description="a comparison with a number: '>= 0.92', '< 0.3'",
        examples=[">= 0.92"],
    ),
]


class InitFromConfig(_Strict):
    """Start from another run's weights: a run folder, or an experiment file trained first.

    ``init_from: RUN_DIR`` is ``{run: RUN_DIR}``; ``init_from: FILE.yaml`` (a ``.yaml`` or
    ``.yml`` name) is ``{config: FILE.yaml}``, which ``cnnrun train`` trains (or reuses) as
    its own run first and then records as ``{run: ...}``.
    """

    run: str | None = Field(
        None,
        min_length=1,
        description="a completed run folder (relative to the experiment file; saved absolute)",
    )
    # init_from's CONFIG form (issue 12, §5.4): an experiment file trained first.
    config: str | None = Field(
        None,
        min_length=1,
        description="an experiment file (relative to this one), trained first as its own run "
        "(or a completed run of it reused); the run folder is what config.yaml records",
    )
    checkpoint: Literal["last", "best"] = Field(
        "last", description="its checkpoints/last.keras (the model as it ended) or best.keras"
    )

    @model_validator(mode="after")
    def _one_source(self) -> InitFromConfig:
        if (self.run is None) == (self.config is None):
            raise PydanticCustomError(
                "init_from_source",
                "give `run` (a run folder) or `config` (an experiment file), one of them",
            )
        return self

    @model_serializer(mode="plain")
    def _serialize(self) -> dict[str, Any]:
        source = {"run": self.run} if self.run is not None else {"config": self.config}
        return {**source, "checkpoint": self.checkpoint}


INIT_FROM_CONFIG_SUFFIXES = (".yaml", ".yml")


def _init_from(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    is_config = value.lower().endswith(INIT_FROM_CONFIG_SUFFIXES)
    return {"config": value} if is_config else {"run": value}


InitFrom = Annotated[
    InitFromConfig,
    BeforeValidator(_init_from),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "string",
                    "description": "a completed run folder, or an experiment file "
                    "(.yaml/.yml) trained first as its own run",
                },
                {
                    "type": "object",
                    "properties": {
                        "run": {"type": "string", "description": "a completed run folder"},
                        "config": {"type": "string", "description": "an experiment file"},
                        "checkpoint": {"enum": ["last", "best"]},
                    },
                    "additionalProperties": False,
                    "description": "{run: RUN_DIR} or {config: FILE.yaml}, and checkpoint",
                },
            ]
        }
    ),
]


class DistributeConfig(_Strict):
    """Training on several devices or machines with tf.distribute."""

    strategy: Literal["default", "mirrored", "multi_worker"] = Field(
        "default",
        description="default: one device; mirrored: all local GPUs (or cpu_devices); "
        "multi_worker: several processes/machines described by $TF_CONFIG",
    )
    cpu_devices: Int | None = Field(
        None, ge=1, le=64, description="split the CPU into N logical devices (mirrored on CPU)"
    )


class Experiment(_Strict):
    """One experiment: data, model, optimization and training length."""

    name: str = Field(
        "experiment",
        min_length=1,
        max_length=80,
        description="run-name prefix: any text, made safe for the run folder and the model",
    )
    seed: Int = Field(1337, ge=0, le=2**32 - 1, description="seed of every random generator")
    task: Literal["classification", "segmentation", "keypoints"] = Field(
        "classification",
        description="what is predicted: a class per image, a class per pixel, or keypoints",
    )
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: Schedule | None = Field(None, description="learning-rate schedule (per epoch)")
    fine_tune: FineTuneConfig | None = Field(
        None, description="unfreeze the frozen backbone(s) after some epochs (two phases)"
    )
    loss: Loss = Field(
        default_factory=lambda: LossConfig(name="sparse_categorical_crossentropy"),
        description="Keras loss name, or {name: ..., other args}; visible_mse: keypoints' "
        "MSE over visible joints",
    )
    metrics: list[str] = Field(
        ["accuracy"],
        description="Keras metric names, or cnnrun's: mean_iou, pixel_accuracy "
        "(segmentation), keypoint_error_px, pck (keypoints)",
    )
    epochs: Int = Field(5, ge=1, description="passes over the training set")
    monitor: str = Field("val_loss", description="the quantity that picks the best checkpoint")
    precision: Literal["float32", "auto", "mixed_bfloat16", "mixed_float16"] = Field(
        "float32",
        description="float32 (the chapter's), or mixed precision; auto: bfloat16 on CPUs with "
        "AMX/AVX512-BF16 for large batches and models, float16 on CUDA GPUs with tensor cores",
    )
    jit_compile: Bool | Literal["auto"] = Field(
        "auto", description="XLA compilation: true, false, or auto (Keras's choice)"
    )
    distribute: DistributeConfig = Field(
        default_factory=DistributeConfig,
        description="tf.distribute strategy; data.batch_size is the global batch",
    )
    expect: dict[str, Expectation] = Field(
        default_factory=dict,
        description="results the run should reach, e.g. {test.accuracy: '>= 0.92'}; "
        "`cnnrun train --check` exits 3 when one is not met",
    )
    init_from: InitFrom | None = Field(
        None,
        description="start from a completed run's weights: RUN_DIR or {run: RUN_DIR, "
        "checkpoint: last|best}; or FILE.yaml / {config: FILE.yaml, checkpoint: ...}, "
        "trained first as its own run (or reused); a new optimizer, epochs counted from 1",
    )
    callbacks: list[Callback] = Field(
        default_factory=list,
        description="extra Keras callbacks: early_stopping, reduce_lr_on_plateau, "
        "tensorboard, terminate_on_nan",
    )
    tensorboard: Bool = Field(
        True,
        description="write TensorBoard logs (per-epoch scalars and the config as HParams) "
        "to RUN/tensorboard/; `tensorboard --logdir runs` compares runs",
    )

    @model_validator(mode="after")
    def _monitor_needs_validation(self) -> Experiment:
        if self.data.validation == "none" and self.monitor.startswith("val_"):
            self.monitor = self.monitor[len("val_") :]
        plateau = self.schedule if isinstance(self.schedule, ReduceOnPlateauSchedule) else None
        if (
            plateau is not None
            and self.data.validation == "none"
            and "monitor" not in plateau.model_fields_set  # its default, val_loss
        ):
            plateau.monitor = plateau.monitor.removeprefix("val_")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The resolved config, as it is written to the run folder's ``config.yaml``."""
        return self.model_dump(mode="python", exclude_none=False)


def json_schema() -> dict[str, Any]:
    """The experiment file's JSON Schema (for editors and the YAML language server).

    An editor checks a file alone, and a file that ``extends:`` another may leave out any
    key, nested ones included (``model.layers`` without ``model.input_shape``). So the
    schema's ``properties`` require nothing, and its ``else`` (no ``extends``) adds every
    key the schema requires, as a skeleton of ``required`` lists (``Required*`` defs).
    """
    full = _json_keywords(Experiment.model_json_schema())
    defs = full.pop("$defs", {})
    required = full.pop("required", [])
    skeleton = _skeleton(full)
    skeleton.pop("required", None)
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **_without_required(full),
        "title": "cnnrun experiment",
    }
    schema.setdefault("properties", {})["extends"] = {
        "type": "string",
        "description": "a base experiment file (relative to this one) whose keys this file changes",
    }
    schema["$defs"] = {name: _without_required(d) for name, d in defs.items()}
    schema["$defs"].update({f"Required{name}": _skeleton(d) for name, d in defs.items()})
    if required:
        schema["if"] = {"required": ["extends"]}
        schema["else"] = {"required": required, **skeleton}
    return schema


# pydantic's names of constraints that it sometimes emits as they are (Annotated types)
_KEYWORDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}
_NAME_MAPS = ("properties", "$defs", "patternProperties")


def _json_keywords(node: Any) -> Any:
    """``node`` with pydantic's ``ge``/``gt``/``le``/``lt`` as JSON Schema's keywords."""
    if isinstance(node, list):
        return [_json_keywords(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NAME_MAPS and isinstance(value, dict):
            out[key] = {name: _json_keywords(sub) for name, sub in value.items()}
        elif key in _KEYWORDS and isinstance(value, int | float):
            out[_KEYWORDS[key]] = value
        else:
            out[key] = _json_keywords(value)
    return out


def _without_required(node: Any) -> Any:
    """``node`` with no ``required`` list anywhere (for a file that extends another)."""
    if isinstance(node, list):
        return [_without_required(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NAME_MAPS and isinstance(value, dict):
            out[key] = {name: _without_required(sub) for name, sub in value.items()}
        elif key != "required":
            out[key] = _without_required(value)
    return out


def _skeleton(node: Any) -> dict[str, Any]:
    """Only the ``required`` lists of ``node`` (through properties, refs, unions, items)."""
    if not isinstance(node, dict):
        return {}
    out: dict[str, Any] = {}
    if "required" in node:
        out["required"] = node["required"]
    props = {k: sk for k, v in node.get("properties", {}).items() if (sk := _skeleton(v))}
    if props:
        out["properties"] = props
    if "$ref" in node:
        out["$ref"] = node["$ref"].replace("#/$defs/", "#/$defs/Required")
    for key in ("anyOf", "oneOf"):
        branches = [_skeleton(b) for b in node.get(key, [])]
        if any(branches):  # keep each branch's type, or an empty branch would match anything
            for branch, original in zip(branches, node[key], strict=True):
                if "type" in original:
                    branch["type"] = original["type"]
            out.setdefault("anyOf", []).extend(branches)  # anyOf: skeletons may coincide
    if any(sk := [_skeleton(b) for b in node.get("allOf", [])]):
        out["allOf"] = sk
    if isinstance(node.get("items"), dict) and (sk := _skeleton(node["items"])):
        out["items"] = sk
    return out
