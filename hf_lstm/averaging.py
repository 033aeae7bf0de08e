"""Checkpoint averaging: the mean of the weights of the last epochs' checkpoints, kept only if validation prefers it."""

import logging
from pathlib import Path

import torch
from safetensors.torch import load_file

logger = logging.getLogger(__name__)


def average_checkpoints(paths):
    """Element-wise mean of the floating-point tensors of the checkpoints' `model.safetensors` (other tensors are
    taken from the last checkpoint). All checkpoints must hold the same tensors; a mismatch names the folder."""
    states = [load_file(Path(path) / "model.safetensors") for path in paths]
    names = set(states[-1])
    for path, state in zip(paths, states):
        if set(state) != names:
            raise ValueError(f"{path}: its tensors differ from those of {paths[-1]}; cannot average them")
    averaged = {}
    for name, last in states[-1].items():
        if last.is_floating_point():
            averaged[name] = torch.stack([state[name].double() for state in states]).mean(dim=0).to(last.dtype)
        else:
            averaged[name] = last
    return averaged


def use_checkpoint_average(trainer, paths):
    """After `trainer.train()`: average the weights of the checkpoint folders `paths` (the last epochs') and keep the
    average in `trainer.model` only if its validation metric beats the best checkpoint's. Returns a summary for
    all_results.json (None when there are fewer than two checkpoints)."""
    if len(paths) < 2:
        logger.info(f"checkpoint averaging skipped: {len(paths)} complete checkpoint(s) in {trainer.args.output_dir}")
        return None
    metric = trainer.args.metric_for_best_model
    best = trainer.state.best_metric
    kept = {name: tensor.detach().clone() for name, tensor in trainer.model.state_dict().items()}
    trainer.model.load_state_dict(average_checkpoints(paths))
    value = trainer.evaluate(metric_key_prefix="average")[f"average_{metric}"]
    better = value > best if trainer.args.greater_is_better else value < best
    if not better:
        trainer.model.load_state_dict(kept)
    logger.info(f"average of {len(paths)} checkpoints: validation {metric} {value:.4f} vs best {best:.4f}; "
          f"{'using the average' if better else 'keeping the best checkpoint'}")
    return {"checkpoints": [Path(path).name for path in paths], "validation": value, "used": better}
