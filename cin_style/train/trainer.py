"""Multi-style training: the custom loop, checkpoints, resume, divergence guard, logging.

Layout of a training output directory::

    train_config.json   the configuration of the run (checked on --resume)
    checkpoints/        tf.train.CheckpointManager files: step, weights, optimizer state
    logs/               TensorBoard scalars (every loss term, the luminance correlation) and sample images
    model/              the model in the core format (a snapshot at every
                        checkpoint, the final model at the end)

Styles are assigned per example (each example of a batch draws its own style):
every step then updates the gamma/beta of several styles and the shared
convolutions see a mix of styles, instead of being pulled toward one style per
step. The style targets are gathered per example, so this costs nothing extra.

Each progress line also shows the batch's luminance correlation (output luma against
the photo's, as in :func:`cin_style.quality.evaluation.luminance_correlation`): VGG losses
barely tell a photo's negative from the photo, and a run can settle on painting
negatives; the trainer warns when it does (:mod:`cin_style.polarity` flips such a
model exactly).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf
import tf_keras as keras

from cin_style.train.data import content_dataset, load_style_image, scan_content, style_name_from_path
from cin_style.errors import ModelError
from cin_style.quality.evaluation import luminance_correlation_tensor
from cin_style.train import recipe
from cin_style.train.hardware import bfloat16_training_pays
from cin_style.train.losses import LossConfig, PerceptualLoss
from cin_style.model.format import CinModel, StyleInfo, assign_weights, load_model, save_model
from cin_style.model.architecture import Architecture

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "train"]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


#: Training strategies (:attr:`TrainConfig.strategy`).
STRATEGIES = ("default", "mirrored", "multi_worker")


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run needs (the CLI builds one from its flags).

    Attributes:
      content_dir: folder of training photos (searched recursively).
      image_size: side of the square random crops.
      photo_short_side: photos are resized to this short side before cropping
        (default ``image_size``).
      style_images: style image paths; style names come from the file names.
      output_dir: where checkpoints, logs and the model go.
      style_strengths: per-style multipliers of the style loss, by style name.
      base_model: add the styles to this trained model (only their gamma/beta train).
      init_model: start from this model's weights (same styles), e.g. a committed
        snapshot on a new machine; the data stream continues at its recorded step.
      teacher_model: distil from this model (same styles): ``distill_weight`` times
        the mean squared difference between the student's and the teacher's outputs
        is added to the loss (term ``distill``). Used to fine-tune slim models.
      strategy: ``"default"`` (one device), ``"mirrored"`` (all local GPUs, or CPUs) or ``"multi_worker"``
        (``tf.distribute.MultiWorkerMirroredStrategy`` over the machines that the ``TF_CONFIG`` environment
        variable lists; every worker runs the same command; the chief, worker 0 where the cluster has no
        ``chief`` task, writes the checkpoints, snapshots, logs and the model, the others keep their
        checkpoints in a temporary folder; after a kill, every worker resumes with ``--resume`` from the
        chief's checkpoints). Each step's batch of ``batch_size`` photos is split between the replicas.
      precision: ``"float32"``, ``"mixed_bfloat16"``, or ``"auto"``: bfloat16 where it
        trains faster (AMX-BF16, Arm BF16 or a GPU; :mod:`cin_style.train.hardware`), else float32; resolved
        when the config is made, so the saved config names the precision that ran.
        bf16 kept the loss within 2% of float32 after equal steps (README, benchmarks).
    """

    content_dir: str
    style_images: list[str]
    output_dir: str
    image_size: int = recipe.IMAGE_SIZE
    photo_short_side: int | None = None
    batch_size: int = recipe.BATCH_SIZE
    num_steps: int = recipe.NUM_STEPS
    learning_rate: float = recipe.LEARNING_RATE
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    alpha: float = 1.0
    num_residual_blocks: int = 5
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    sample_every: int = 500
    snapshot_every: int = 0
    style_strengths: dict[str, float] = dataclasses.field(default_factory=dict)
    base_model: str | None = None
    init_model: str | None = None
    teacher_model: str | None = None
    distill_weight: float = 0.0
    strategy: str = "default"
    precision: str = "float32"
    jit_compile: bool = False
    max_checkpoints: int = 3

    def __post_init__(self):
        checks = {"image_size": self.image_size >= 16, "batch_size": self.batch_size >= 1,
                  "num_steps": self.num_steps >= 0, "learning_rate": self.learning_rate > 0,
                  "checkpoint_every": self.checkpoint_every >= 1, "log_every": self.log_every >= 1,
                  "snapshot_every": self.snapshot_every >= 0}
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{name} = {getattr(self, name)} is out of range")
        if os.path.exists(self.output_dir) and not os.path.isdir(self.output_dir):
            raise ValueError(f"{self.output_dir}: exists and is not a folder; the output directory is the run's "
                             "folder (checkpoints, logs, snapshots, model)")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if self.precision not in ("float32", "mixed_bfloat16", "auto"):
            raise ValueError(f"precision must be 'float32', 'mixed_bfloat16' or 'auto', got {self.precision!r}")
        if self.precision == "auto":
            self.precision = "mixed_bfloat16" if bfloat16_training_pays() else "float32"
        if not self.style_images:
            raise ValueError("at least one style image is needed")
        if self.base_model and self.init_model:
            raise ValueError("base_model and init_model cannot be combined")

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["loss"] = self.loss.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        data = dict(data)
        data["loss"] = LossConfig.from_dict(data.get("loss", {}))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# Fields that may differ between a run and its resumption.
# (precision too: variables and optimizer slots are float32 under both policies, so a run may
# continue on a machine with or without bfloat16 instructions.)
_RESUMABLE_CHANGES = {"num_steps", "checkpoint_every", "log_every", "sample_every", "max_checkpoints", "jit_compile",
                      "strategy", "precision", "snapshot_every",
                      "output_dir"}  # the run folder may move: --resume is given the folder it is now in
_PATH_SETTINGS = ("content_dir", "init_model", "base_model", "teacher_model")
# What a run writes in its folder (hidden names too: a killed save's staging folders).
_RUN_FOLDER_ENTRIES = {"checkpoints", "logs", "snapshots", "model", "train_config.json", "train_config.json.tmp"}


def _comparable(settings: dict) -> dict:
    """Settings as --resume compares them: paths normalized (``photos/`` is ``photos``), loss settings recorded
    before a term existed read as that term's off value."""
    result = dict(settings)
    if isinstance(result.get("loss"), dict):
        result["loss"] = json.loads(json.dumps(LossConfig.from_dict(result["loss"]).to_dict()))
    for key in _PATH_SETTINGS:
        if isinstance(result.get(key), str):
            result[key] = os.path.normpath(result[key])
    if isinstance(result.get("style_images"), list):
        result["style_images"] = [os.path.normpath(p) if isinstance(p, str) else p for p in result["style_images"]]
    return result


def _strategy(name: str) -> tf.distribute.Strategy:
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multi_worker":
        cluster = _cluster_from_environment()
        if "worker" not in cluster["cluster"] and "chief" not in cluster["cluster"]:
            raise ValueError("TF_CONFIG: the cluster lists no \"worker\" or \"chief\" tasks")
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _cluster_from_environment() -> dict:
    """TF_CONFIG, checked: ``{"cluster": {"worker": ["host:port", ...]}, "task": {"type": ..., "index": ...}}``."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise ValueError("strategy multi_worker needs the TF_CONFIG environment variable: "
                         '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", '
                         '"index": 0}} on the first machine, index 1 on the second, ...')
    try:
        cluster = json.loads(text)
        task = cluster["task"]
        tasks = cluster["cluster"][task["type"]]
        if not isinstance(tasks, list) or not 0 <= int(task["index"]) < len(tasks):
            raise ValueError("task index out of range")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"TF_CONFIG is not a usable cluster description ({exc}); expected "
                         '{"cluster": {"worker": [...]}, "task": {"type": "worker", "index": N}}') from None
    return cluster


def _is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files: always, except on the non-chief workers of a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in resolver.cluster_spec().as_dict()


# After this many steps of a run (or half of a shorter run), a negative mean luminance correlation
# over the last logged windows triggers the warning (early steps of a fresh network are noise).
_POLARITY_WARMUP_STEPS = 200


def _format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class Trainer:
    """Trains (or extends) a multi-style model as described by a :class:`TrainConfig`.

    Args:
      config: the run's configuration.
      log: a callable taking one line of progress text (default: stderr).
    """

    def __init__(self, config: TrainConfig, log: Callable[[str], None] | None = None):
        self.config = config
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.strategy = _strategy(config.strategy)
        self.is_chief = _is_chief(self.strategy)
        if config.precision == "mixed_bfloat16" and not bfloat16_training_pays():
            self.log("warning: precision mixed_bfloat16 on a processor without fast bfloat16 instructions "
                     "(no AMX-BF16, Arm BF16 or AMD AVX512-BF16, no GPU): slower than float32 here, up to "
                     "several times where TensorFlow emulates bf16. Use --precision float32.")
        self.log(f"precision: {config.precision}")
        self.stop_reason: str | None = None
        self._prepare_styles()
        self._prepare_content()
        keras.utils.set_random_seed(config.seed)  # same seed, same initial weights
        keras.mixed_precision.set_global_policy(config.precision)
        try:
            with self.strategy.scope():
                self._build_model()
                self.loss = PerceptualLoss(config.loss)
                self.optimizer = keras.optimizers.Adam(config.learning_rate)
                # Slots made now, not in the step's first call: the step is then traced once, not twice.
                self.optimizer.build(self.trainable)
                self.teacher = None
                if config.teacher_model:
                    self.teacher = load_model(config.teacher_model)
                    if self.teacher.style_names != self.model.style_names:
                        raise ModelError(f"{config.teacher_model}: the teacher's styles differ from this run's")
                self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step",
                                        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        finally:
            keras.mixed_precision.set_global_policy("float32")
        self._prepare_targets()
        self.checkpoint = tf.train.Checkpoint(network=self.model.network, optimizer=self.optimizer, step=self.step)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(config.output_dir, "checkpoints"), max_to_keep=config.max_checkpoints)
        # Every worker of a cluster saves (the strategy may need them all); only the chief into the run folder.
        self._save_manager = self.manager
        if not self.is_chief:
            self._worker_folder = tempfile.mkdtemp(prefix="cin-style-worker-checkpoints-")
            self._save_manager = tf.train.CheckpointManager(self.checkpoint, self._worker_folder, max_to_keep=1)

    @property
    def current_step(self) -> int:
        return int(self.step.numpy())

    # ----------------------------------------------------------------- setup
    def _prepare_styles(self):
        config = self.config
        self.new_styles = [StyleInfo(style_name_from_path(p), source_image=os.path.basename(p))
                           for p in config.style_images]
        names = [s.name for s in self.new_styles]
        if len(set(names)) != len(names):
            raise ValueError(f"style images must have distinct names, got {names}")
        unknown = sorted(set(config.style_strengths) - set(names))
        if unknown:
            raise ValueError(f"style_strengths names {unknown} are not among the styles {names}")
        self.style_pixels = [load_style_image(p, config.loss.style_image_size) for p in config.style_images]

    def _prepare_content(self):
        content = scan_content(self.config.content_dir, self.config.image_size)
        self.content_paths = content.paths
        self.skipped = content.skipped
        self.log(f"content: {len(content.paths)} photos, {len(content.skipped)} skipped")
        for path, reason in content.skipped[:10]:
            self.log(f"  skipped {path}: {reason}")

    def _build_model(self):
        config = self.config
        self._init_from_checkpoint = False  # set below when --resume finds the init model gone
        if config.base_model:
            base = load_model(config.base_model)
            clash = sorted(set(base.style_names) & {s.name for s in self.new_styles})
            if clash:
                raise ValueError(f"styles {clash} are already in the base model {config.base_model}")
            arch = dataclasses.replace(base.architecture,
                                       num_styles=base.num_styles + len(self.new_styles))
            self.model = CinModel(arch, [*base.styles, *self.new_styles],
                                  training_config={"base_model": base.training_config})
            _extend_styles(base, self.model)
            self.first_trained_style = base.num_styles
        else:
            arch = Architecture(len(self.new_styles), config.alpha, config.num_residual_blocks)
            self.model = CinModel(arch, self.new_styles)
            self.first_trained_style = 0
            checkpoints = os.path.join(config.output_dir, "checkpoints")
            self._init_from_checkpoint = bool(config.init_model and not os.path.isdir(config.init_model)
                                              and tf.train.latest_checkpoint(checkpoints))
            if self._init_from_checkpoint:
                # The run's checkpoint holds every weight, so --resume does not need the init model.
                self.log(f"init model {config.init_model} is gone; the weights come from {checkpoints} (--resume)")
            elif config.init_model:
                init = load_model(config.init_model)
                if init.style_names != self.model.style_names or init.architecture != arch:
                    raise ModelError(f"{config.init_model}: its styles/architecture do not match this run "
                                     f"(styles {init.style_names} vs {self.model.style_names}; {init.architecture} vs "
                                     f"{arch}): pass the same style images, --alpha and --num_residual_blocks")
                self.model.network.set_weights(init.network.get_weights())
        if config.base_model:
            # Only the new styles' gamma/beta rows train; masks zero the old rows' gradients.
            self.trainable = [v for v in self.model.network.trainable_variables
                              if v.name.endswith(("gamma:0", "beta:0"))]
            mask = np.zeros((self.model.num_styles, 1), np.float32)
            mask[self.first_trained_style:] = 1.0
            self.gradient_masks = [tf.constant(mask) for _ in self.trainable]
        else:
            self.trainable = list(self.model.network.trainable_variables)
            self.gradient_masks = [None] * len(self.trainable)

    def _prepare_targets(self):
        n, first = self.model.num_styles, self.first_trained_style
        per_style = [self.loss.style_targets(pixels[None]) for pixels in self.style_pixels]
        # Rows for styles that are not trained here (a base model's) are never gathered.
        self.style_targets = {}
        for key in per_style[0]:
            rows = [targets[key][0] for targets in per_style]
            self.style_targets[key] = tf.stack([tf.zeros_like(rows[0])] * first + rows)
        strengths = np.ones(n, np.float32)
        for i, style in enumerate(self.new_styles):
            strengths[first + i] = self.config.style_strengths.get(style.name, 1.0)
        self.style_strengths = tf.constant(strengths)

    # --------------------------------------------------------------- the step
    def _replica_step(self, images, style_index):
        global_batch = self.config.batch_size
        weights = tf.one_hot(style_index, self.model.num_styles)
        targets = {key: tf.gather(t, style_index) for key, t in self.style_targets.items()}
        strength = tf.gather(self.style_strengths, style_index)
        content_features = tf.stop_gradient(self.loss.content_features(images))
        teacher_outputs = None
        if self.teacher is not None:
            teacher_outputs = tf.stop_gradient(self.teacher.network([images, weights], training=False))
        with tf.GradientTape() as tape:
            outputs = self.model.network([images, weights], training=True)
            terms = self.loss.per_example(outputs, content_features, targets, strength, content_images=images)
            if teacher_outputs is not None:
                difference = tf.cast(outputs, tf.float32) - tf.cast(teacher_outputs, tf.float32)
                terms["distill"] = self.config.distill_weight * tf.reduce_mean(tf.square(difference), axis=[1, 2, 3])
                terms["total"] = terms["total"] + terms["distill"]
            loss = tf.reduce_sum(terms["total"]) / global_batch
        terms["luminance_correlation"] = tf.stop_gradient(luminance_correlation_tensor(outputs, images))
        gradients = tape.gradient(loss, self.trainable)
        gradients = [g if m is None else g * m for g, m in zip(gradients, self.gradient_masks)]
        finite = tf.math.is_finite(loss)
        for g in gradients:
            finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(g)))
        # Non-finite gradients are zeroed so the weights stay finite; the loop then stops the run.
        gradients = [tf.where(finite, g, tf.zeros_like(g)) for g in gradients]
        self.optimizer.apply_gradients(zip(gradients, self.trainable))
        summed = {name: tf.reduce_sum(value) / global_batch for name, value in terms.items()}
        return summed, tf.cast(finite, tf.int32)

    def _make_step(self):
        def step(images, style_index):
            terms, finite = self.strategy.run(self._replica_step, args=(images, style_index))
            reduce = lambda v: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)  # noqa: E731
            return {k: reduce(v) for k, v in terms.items()}, reduce(finite)
        return tf.function(step, jit_compile=self.config.jit_compile or None)

    # ------------------------------------------------------------- lifecycle
    def _check_output_dir(self, resume: bool):
        config_path = os.path.join(self.config.output_dir, "train_config.json")
        if not self.is_chief:  # the chief checks and writes the run folder; the others only read it
            if resume and self.manager.latest_checkpoint is None:
                self.log(f"--resume: no checkpoint in {self.manager.directory} yet; starting at step 0")
            return
        has_checkpoint = self.manager.latest_checkpoint is not None
        if resume and not has_checkpoint:
            entries = os.listdir(self.config.output_dir) if os.path.isdir(self.config.output_dir) else []
            others = sorted(e for e in entries if e not in _RUN_FOLDER_ENTRIES and not e.startswith("."))
            if others:  # not a run killed before its first checkpoint: some other folder, given by mistake
                raise ValueError(f"--resume: {self.config.output_dir} holds no training run (no checkpoint) but "
                                 f"other files ({', '.join(others[:3])}); give the run's folder, or a new one "
                                 "without --resume")
            self.log(f"--resume: no checkpoint in {self.manager.directory} yet; starting at step 0")
        elif resume:
            with open(config_path, encoding="utf-8") as handle:
                saved = json.load(handle)
            mine = _comparable(json.loads(json.dumps(self.config.to_dict())))  # tuples -> lists, as saved
            saved = _comparable(saved)
            changed = sorted(k for k in mine if k not in _RESUMABLE_CHANGES and saved.get(k) != mine[k])
            if changed:
                raise ValueError(f"--resume: settings {changed} differ from the run in {self.config.output_dir}")
        elif has_checkpoint:
            raise ValueError(f"{self.config.output_dir} already holds checkpoints: pass --resume to continue "
                             "that run, or choose another output directory")
        os.makedirs(self.config.output_dir, exist_ok=True)
        tmp = config_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.config.to_dict(), handle, indent=2)
        os.replace(tmp, config_path)

    def _restore_newest_intact_checkpoint(self) -> None:
        """Restores the newest checkpoint that reads; a damaged one (a disk error, a copy cut short) is
        skipped for the one before it, with a line in the log. None intact: a ModelError."""
        damaged = []
        for path in reversed(self.manager.checkpoints):
            try:
                self.checkpoint.restore(path).expect_partial()
            except (tf.errors.OpError, ValueError, OSError, IndexError) as exc:  # IndexError: a file cut short
                damaged.append(path)
                self.log(f"checkpoint {path} is damaged ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
                         "trying the one before it")
                continue
            self.log(f"resumed from {path} at step {self.current_step}" +
                     (f" ({len(damaged)} newer damaged checkpoint(s) skipped)" if damaged else ""))
            return
        raise ModelError(f"{self.manager.directory}: every checkpoint is damaged ({', '.join(damaged)}); "
                         "start a new run or restore the folder from a backup")

    def _weights_are_finite(self) -> bool:
        return all(bool(tf.reduce_all(tf.math.is_finite(v))) for v in self.model.network.weights)

    def save_checkpoint(self) -> None:
        """Writes a checkpoint and a model snapshot, unless some weight is NaN/Inf."""
        self._check_finite()
        self._save_manager.save(checkpoint_number=self.current_step)
        if self.is_chief:
            self._save_model(os.path.join(self.config.output_dir, "model"))

    def save_snapshot(self) -> None:
        """Keeps the current weights as ``snapshots/step_<N>`` (for weight averaging,
        tools/averaging.py); checkpoints are pruned, snapshots are not."""
        self._check_finite()
        if self.is_chief:
            self._save_model(os.path.join(self.config.output_dir, "snapshots", f"step_{self.current_step}"))

    def _check_finite(self) -> None:
        if not self._weights_are_finite():
            raise TrainingDiverged(f"weights are not finite at step {self.current_step}; nothing was saved")

    def _save_model(self, path: str) -> None:
        self.model.training_config = {**self.model.training_config, **self.config.to_dict(), "step": self.current_step}
        save_model(self.model, path, overwrite=True)

    def _install_signal_handlers(self):
        previous = {}

        def request_stop(signum, _frame):
            self.stop_reason = signal.Signals(signum).name

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[sig] = signal.signal(sig, request_stop)
            except ValueError:  # not the main thread: no handlers, checkpoints still every K steps
                pass
        return previous

    def run(self, resume: bool = False) -> CinModel:
        """Trains to ``config.num_steps`` and returns the model (also saved in ``output_dir/model``).

        Raises:
          TrainingDiverged: the loss became NaN/Inf (the last checkpoint stays valid).
        """
        config = self.config
        self._check_output_dir(resume)
        if resume and self.manager.checkpoints:
            self._restore_newest_intact_checkpoint()
        elif self._init_from_checkpoint:
            raise ModelError(f"{config.init_model}: no such model directory (only --resume can do without it)")
        elif config.init_model:
            self.step.assign(int(load_model(config.init_model).training_config.get("step", 0)))
        self._check_workers_agree()
        start = self.current_step
        self._recent_correlations: list[float] = []
        self._run_start, self._polarity_warned = start, False
        dataset = content_dataset(self.content_paths, self.model.num_styles - self.first_trained_style,
                                  config.image_size, config.batch_size, config.seed, start_step=start,
                                  short_side=config.photo_short_side)
        offset = self.first_trained_style
        dataset = dataset.map(lambda images, styles: (images, styles + offset))
        iterator = iter(self._distribute(dataset))
        step_fn = self._make_step()
        writer = (tf.summary.create_file_writer(os.path.join(config.output_dir, "logs")) if self.is_chief
                  else tf.summary.create_noop_writer())
        previous_handlers = self._install_signal_handlers()
        sample = None
        window_start, window_images = time.monotonic(), 0
        try:
            while self.current_step < config.num_steps:
                images, style_index = next(iterator)
                if sample is None:
                    sample = self.strategy.experimental_local_results(images)[0][:1]
                terms, finite = step_fn(images, style_index)
                if int(finite) != self.strategy.num_replicas_in_sync:
                    raise TrainingDiverged(
                        f"loss became {float(terms['total'])} at step {self.current_step + 1}; training stopped "
                        f"without saving. The last good checkpoint is {self.manager.latest_checkpoint}. "
                        "Lower --learning_rate (or the loss weights) and continue with --resume.")
                self.step.assign_add(1)
                step = self.current_step
                window_images += config.batch_size
                if step % config.log_every == 0 or step == config.num_steps:
                    elapsed = time.monotonic() - window_start
                    rate = window_images / max(elapsed, 1e-9)
                    eta = (config.num_steps - step) * config.batch_size / max(rate, 1e-9)
                    self._log_progress(step, rate, eta, terms, writer)
                    window_start, window_images = time.monotonic(), 0
                if config.sample_every and step % config.sample_every == 0:
                    self._write_samples(sample, writer, step)
                if step % config.checkpoint_every == 0:
                    self.save_checkpoint()
                if config.snapshot_every and step % config.snapshot_every == 0:
                    self.save_snapshot()
                if self.stop_reason:
                    self.save_checkpoint()
                    self.log(f"stopped by {self.stop_reason} at step {step}; checkpoint saved. "
                             "Continue with the same command plus --resume.")
                    return self.model
            self.save_checkpoint()
        finally:
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
            writer.close()
            if not self.is_chief:
                shutil.rmtree(self._worker_folder, ignore_errors=True)
        self.log(f"done: {self.current_step} steps; model saved in {os.path.join(config.output_dir, 'model')}")
        return self.model

    def _check_workers_agree(self) -> None:
        """On a cluster, every worker must start at the same step: one that found no checkpoint to resume
        from (the run folder not shared) would train other batches with other weights."""
        if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return
        # The strategy reduces by sums only: the steps are all equal exactly when n * sum(s^2) == sum(s)^2
        # (float64 holds both exactly for any step count a run reaches).
        powers = self.strategy.run(lambda: tf.cast(self.step, tf.float64) ** tf.constant([1.0, 2.0], tf.float64))
        total, squares = (float(v) for v in self.strategy.reduce(tf.distribute.ReduceOp.SUM, powers, axis=None))
        if self.strategy.num_replicas_in_sync * squares != total * total:
            raise ValueError(f"the workers start at different steps (this one at {self.current_step}): every worker "
                             f"must read the chief's checkpoints in {self.manager.directory} (a shared folder or a "
                             "gs:// path)")

    def _distribute(self, dataset: tf.data.Dataset):
        """Every replica's share of each step's batch. On a cluster each worker reads the same photo stream
        and keeps its contiguous slice of every batch, as one machine's replicas split it: the workers
        together see exactly the batches one process would."""
        if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return self.strategy.experimental_distribute_dataset(dataset)
        global_batch = self.config.batch_size

        def worker_dataset(context: tf.distribute.InputContext) -> tf.data.Dataset:
            share = context.get_per_replica_batch_size(global_batch)
            per_worker = share * (self.strategy.num_replicas_in_sync // context.num_input_pipelines)
            first = context.input_pipeline_id * per_worker
            end = first + per_worker
            return dataset.map(lambda images, styles: (images[first:end], styles[first:end]))

        options = tf.distribute.InputOptions(experimental_fetch_to_device=False)
        return self.strategy.distribute_datasets_from_function(worker_dataset, options)

    def _log_progress(self, step, rate, eta, terms, writer):
        values = {k: float(v) for k, v in terms.items()}
        correlation = values.pop("luminance_correlation")
        with writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(f"loss/{name}", value)
            tf.summary.scalar("luminance_correlation", correlation)
            tf.summary.scalar("images_per_s", rate)
        shown = "  ".join(f"{k} {values[k]:.4g}" for k in ("total", "content", "style", "tv", "laplacian")
                          if k in values)
        self.log(f"step {step}/{self.config.num_steps}  {rate:.2f} img/s  ETA {_format_duration(eta)}  {shown}"
                 f"  lum corr {correlation:+.2f}")
        self._watch_polarity(step, correlation)

    def _watch_polarity(self, step, correlation):
        """Warns once per run when the recent luminance correlation is negative."""
        self._recent_correlations = (self._recent_correlations + [correlation])[-20:]
        warmup = min(_POLARITY_WARMUP_STEPS, (self.config.num_steps - self._run_start) // 2)
        if self._polarity_warned or step - self._run_start < warmup:
            return
        mean = float(np.mean(self._recent_correlations))
        if mean < 0:
            self._polarity_warned = True
            self.log(f"warning: the network paints the photos' negatives (luminance correlation {mean:+.2f} over "
                     f"the last {len(self._recent_correlations)} logs); the loss barely tells, the pictures do. "
                     "In a source checkout, `python tools/package_model.py --model <model> --invert_input --output "
                     "<dir>` flips a trained model exactly, at about 1% of the loss; continue from the flipped model "
                     "with --init-model.")

    def _write_samples(self, sample, writer, step):
        trained = range(self.first_trained_style, self.model.num_styles)
        weights = tf.one_hot(list(trained), self.model.num_styles)
        images = tf.repeat(tf.cast(sample, tf.float32), len(trained), axis=0)
        outputs = tf.cast(self.model.network([images, weights], training=False), tf.float32)  # bf16 under mixed
        with writer.as_default(step=step):
            tf.summary.image("samples", tf.concat([tf.cast(sample, tf.float32), outputs], 0),
                             max_outputs=len(trained) + 1)


def _extend_styles(base: CinModel, extended: CinModel) -> None:
    """Copies ``base``'s weights into ``extended`` (which has extra styles); new gamma/beta
    rows start at the mean of the existing styles' rows."""
    weights = base.weights_dict()
    extra = extended.num_styles - base.num_styles
    for key, value in weights.items():
        if key.endswith(("/gamma", "/beta")):
            weights[key] = np.concatenate([value, np.repeat(value.mean(axis=0, keepdims=True), extra, axis=0)])
    assign_weights(extended.network, weights)


def train(config: TrainConfig, resume: bool = False, log: Callable[[str], None] | None = None) -> CinModel:
    """Runs a training job described by ``config``; see :class:`Trainer`."""
    return Trainer(config, log=log).run(resume=resume)
