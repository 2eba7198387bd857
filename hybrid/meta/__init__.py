"""Learning to learn QAOA parameters: a sequence model meta-trained on many graphs proposes the Phase I start.

The package follows the data flow of meta-training, each module importing only those before it:

* :mod:`.data`: training and validation graph sets, graph features, parameter normalisation;
* :mod:`.checkpoint`: self-describing checkpoints (``torch.save``, ``weights_only=True``) and :class:`CheckpointError`;
* :mod:`.episode`: the model inputs, the episode oracle, unrolled episodes, meta-losses and
  :func:`phase_one` (Phase I at inference);
* :mod:`.training`: the training loop over stages, validation, resume, training seeds, the feedback ablation;
* :mod:`.pretrained`: the shipped models (``learned``, ``learned:NAME``), :func:`load_pretrained`, :func:`ship_model`.

The public names are re-exported here (``from hybrid.meta import train, phase_one``). The
training module is ``training`` rather than ``train`` so that the re-exported function does
not hide the module (``hybrid.meta.training.validate`` stays reachable, e.g. to patch it).
"""

from __future__ import annotations

from .checkpoint import CHECKPOINT_FORMAT, CheckpointError, config_json, load_checkpoint, save_checkpoint
from .data import (
    FEATURE_SETS,
    feature_matrix,
    num_model_features,
    param_scale,
    start_params,
    to_actual,
    training_graphs,
    validation_graphs,
)
from .episode import (
    FEEDBACK_GAIN,
    EpisodeOracle,
    FeedbackInputs,
    PhaseOneResult,
    Rollout,
    best_so_far,
    meta_loss,
    phase_one,
    rollout,
)
from .pretrained import PRETRAINED_DIR, check_ship_name, load_pretrained, pretrained_names, resolve_pretrained, ship_model
from .training import TrainingResult, check_meta_config, feedback_ablation, train, train_seeds, validate

__all__ = [
    "check_meta_config",
    "check_ship_name",
    "CHECKPOINT_FORMAT",
    "FEATURE_SETS",
    "FEEDBACK_GAIN",
    "PRETRAINED_DIR",
    "CheckpointError",
    "EpisodeOracle",
    "FeedbackInputs",
    "PhaseOneResult",
    "Rollout",
    "TrainingResult",
    "best_so_far",
    "config_json",
    "feature_matrix",
    "feedback_ablation",
    "load_checkpoint",
    "load_pretrained",
    "meta_loss",
    "num_model_features",
    "param_scale",
    "phase_one",
    "pretrained_names",
    "resolve_pretrained",
    "rollout",
    "save_checkpoint",
    "ship_model",
    "start_params",
    "to_actual",
    "train",
    "train_seeds",
    "training_graphs",
    "validate",
    "validation_graphs",
]
