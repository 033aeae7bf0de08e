"""`LSTMTrainer`: the Hugging Face `Trainer` with what an hf_lstm run adds to it, and the callbacks and checkpoint
bookkeeping that go with it.

- `create_optimizer`: AdamW with ULMFiT's discriminative learning rates when `layer_learning_rate_decay` is not 1.
- `compute_loss`: in training, hands the model its share of the step's unlabelled batch (`UnlabelledBatches`) and the
  step's perturbation seed; the model's own loss plus any `loss_terms` (callables of the model, the batch and its
  outputs); each named term the model reports (`loss_terms` of its output) is logged beside `loss`.
- `predict_in_length_order`: a pass over a split in order of length (batches pad little), answered in the split's
  order.
- Checkpoints are marked complete once written (`CheckpointCompleteCallback`); resume trusts only marked ones.
"""

import os
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from transformers import Trainer, TrainerCallback
from transformers.trainer_utils import PredictionOutput

from .prediction import in_original_order, shortest_first

COMPLETE_MARKER = "checkpoint_complete"


class LSTMTrainer(Trainer):
    """A `Trainer` with discriminative learning rates, extra loss terms and a length-ordered prediction pass.

    Args:
        layer_learning_rate_decay (`float`, defaults to 1.0): the head trains at `learning_rate`, the top recurrent
            layer at `learning_rate / decay`, each layer below at a further `/ decay`, the embedding lowest.
        loss_terms (`list`, defaults to none): callables `(model, inputs, outputs) -> scalar tensor`, each added to the
            model's loss on every training and evaluation batch.
        unlabelled_dataset (`Dataset`, defaults to none): tokenized reviews without labels (`input_ids`, `length`,
            and `teacher_logits` when distilling); each training micro-batch also hands the model its piece of the
            step's unlabelled batch (`unlabelled_batch_ratio` times `per_device_train_batch_size` reviews;
            `UnlabelledBatches`).
    """

    def __init__(self, *args, layer_learning_rate_decay=1.0, loss_terms=(), unlabelled_dataset=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.layer_learning_rate_decay = layer_learning_rate_decay
        self.loss_terms = list(loss_terms)
        self.unlabelled_batches = None
        if unlabelled_dataset is not None:
            size = max(1, round(self.args.unlabelled_batch_ratio * self.args.per_device_train_batch_size))
            self.unlabelled_batches = UnlabelledBatches(unlabelled_dataset, size, self.args.seed, self.data_collator)
        self._logged_terms = {}  # name -> [sum, count] since the last log
        self._micro_step = (None, 0)  # (optimiser step, micro-batches of it seen)

    def create_optimizer(self):
        if self.optimizer is None and self.layer_learning_rate_decay != 1.0:
            self.optimizer = discriminative_optimizer(self.model, self.args, self.layer_learning_rate_decay)
        return super().create_optimizer()

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training:
            inputs = {**inputs, **self.training_extras(model)}
        loss, outputs = super().compute_loss(model, inputs, True, num_items_in_batch)
        for term in self.loss_terms:
            loss = loss + term(model, inputs, outputs)
        for name, value in (getattr(outputs, "loss_terms", None) or {}).items():
            total = self._logged_terms.setdefault(f"loss_{name}", [0.0, 0])
            total[0], total[1] = total[0] + value, total[1] + 1
        return (loss, outputs) if return_outputs else loss

    def training_extras(self, model):
        """What a training batch adds for the model's loss terms: the step's perturbation seed (virtual adversarial
        training) and this micro-batch's share of the step's unlabelled batch. Both follow the optimiser step, the
        micro-batch and the process only, so a resumed run and a run split over processes or accumulation steps read
        what one uninterrupted process reads."""
        step = self.state.global_step
        micro = self._micro_step[1] if self._micro_step[0] == step else 0
        self._micro_step = (step, micro + 1)
        extras = {}
        config = getattr(self.accelerator.unwrap_model(model), "config", None)
        if getattr(config, "virtual_adversarial_epsilon", 0):
            extras["perturbation_seed"] = self.args.seed * 1_000_003 + step
        if self.unlabelled_batches is not None:
            pieces = self.args.gradient_accumulation_steps * self.args.world_size
            batch = self.unlabelled_batches.piece(step, micro * self.args.world_size + self.args.process_index, pieces)
            extras["unsupervised_input_ids"] = batch["input_ids"].to(self.args.device)
            extras["unsupervised_attention_mask"] = batch["attention_mask"].to(self.args.device)
            if "teacher_logits" in batch:
                extras["unsupervised_teacher_logits"] = batch["teacher_logits"].to(self.args.device)
        return extras

    def log(self, logs, *args, **kwargs):
        """The Trainer's log, plus the mean of each named loss term since the last training-loss entry."""
        if "loss" in logs and self._logged_terms:
            for name, (total, count) in self._logged_terms.items():
                logs[name] = round(float(total) / count, 4)
            self._logged_terms = {}
        super().log(logs, *args, **kwargs)

    def predict_in_length_order(self, dataset, metric_key_prefix="test"):
        """`predict` over `dataset` read shortest first (by its `length` column), so that batches of similar length
        pad little (the Trainer's own length grouping is random); predictions and labels come back in the dataset's
        order."""
        order = shortest_first(dataset["length"])
        # what the model predicts from and is scored on; teachers' outputs on the test reviews only score the teachers
        unread = [name for name in ("teacher_logits",) if name in dataset.column_names]
        inputs = dataset.select(order).remove_columns(unread)
        sampling, self.args.train_sampling_strategy = self.args.train_sampling_strategy, "sequential"
        try:
            output = self.predict(inputs, metric_key_prefix=metric_key_prefix)
        finally:
            self.args.train_sampling_strategy = sampling
        return PredictionOutput(
            predictions=in_original_order(output.predictions, order),
            label_ids=in_original_order(output.label_ids, order),
            metrics=output.metrics,
        )


class UnlabelledBatches:
    """The unlabelled batches of a run: optimiser step `k` reads global batch `k` (`size` reviews for each of its
    pieces: one per process and accumulation step), drawn without replacement from a seeded permutation of the
    reviews, renewed each pass over them, and length-grouped as the Trainer groups labelled batches (within
    mega-batches of 50 batches, longest first), so its pieces pad little. Everything follows from (seed, step,
    piece), so nothing needs saving for an exact resume."""

    MEGABATCH = 50

    def __init__(self, dataset, size, seed, collator):
        self.columns = [name for name in ("input_ids", "teacher_logits") if name in dataset.column_names]
        self.dataset = dataset.select_columns(self.columns)
        self.lengths = np.asarray(dataset["length"])
        self.size, self.seed, self.collator = size, seed, collator
        self._order = (None, None)  # (global batch size, pass) -> its order of reviews

    def order(self, global_size, cycle):
        """The reviews' order in pass `cycle`, length-grouped in mega-batches; at least one global batch long."""
        if self._order[0] != (global_size, cycle):
            permutation = np.random.default_rng([self.seed, cycle]).permutation(len(self.lengths))
            if len(permutation) < global_size:  # fewer reviews than one batch: repeat them
                permutation = np.resize(permutation, global_size)
            mega = self.MEGABATCH * global_size
            grouped = [chunk[np.argsort(-self.lengths[chunk], kind="stable")]
                       for chunk in np.split(permutation, range(mega, len(permutation), mega))]
            self._order = ((global_size, cycle), np.concatenate(grouped))
        return self._order[1]

    def piece(self, step, piece, pieces):
        """Piece `piece` of `pieces` of step `step`'s global batch, collated: {"input_ids", "attention_mask"} (and
        "teacher_logits" when the reviews have them)."""
        global_size = self.size * pieces
        per_pass = max(1, len(self.lengths) // global_size)
        cycle, index = divmod(step, per_pass)
        rows = self.order(global_size, cycle)[index * global_size : (index + 1) * global_size]
        rows = rows[piece * self.size : (piece + 1) * self.size]
        columns = self.dataset[rows.tolist()]
        return self.collator([{name: columns[name][i] for name in self.columns} for i in range(len(rows))])


def encoder_stages(model):
    """The encoder's parameters by stage, bottom up: the embedding, then each recurrent layer."""
    encoder = model.lstm
    return [list(encoder.embeddings.parameters()), *(list(layer.parameters()) for layer in encoder.layers)]


def discriminative_optimizer(model, args, decay):
    """AdamW with ULMFiT's discriminative learning rates: the head at `args.learning_rate`, the top recurrent layer at
    that rate / `decay`, each layer below at a further / `decay`, the embedding lowest; biases without weight decay,
    as the Trainer's own optimizer has them."""
    stages = encoder_stages(model)
    in_encoder = {id(param) for stage in stages for param in stage}
    head = [param for param in model.parameters() if id(param) not in in_encoder]
    names = {id(param): name for name, param in model.named_parameters()}
    groups = []
    for depth, params in enumerate([head, *reversed(stages)]):  # the head first, then from the top layer down
        for is_bias in (False, True):
            chosen = [param for param in params if param.requires_grad and ("bias" in names[id(param)]) == is_bias]
            if chosen:
                groups.append({"params": chosen, "lr": args.learning_rate / decay**depth,
                               "weight_decay": 0.0 if is_bias else args.weight_decay})
    return torch.optim.AdamW(groups, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2),
                             eps=args.adam_epsilon)


class CheckpointCompleteCallback(TrainerCallback):
    """Marks a checkpoint complete once the Trainer has written all of it; resume only trusts marked checkpoints."""

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            partial = checkpoint / f"{COMPLETE_MARKER}.tmp"
            partial.write_text(str(state.global_step))
            os.replace(partial, checkpoint / COMPLETE_MARKER)


class ElapsedTimeCallback(TrainerCallback):
    """Adds `elapsed_s` (seconds since the run started, data preparation included) to every log_history entry."""

    def __init__(self, started):
        self.started = started

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.log_history:
            state.log_history[-1]["elapsed_s"] = round(time.time() - self.started, 1)


class GradualUnfreezingCallback(TrainerCallback):
    """ULMFiT's gradual unfreezing: epoch 0 trains the head only; epoch k also the top k encoder stages (the top
    recurrent layer first, the embedding last). A frozen parameter gets no gradient, so AdamW leaves it as it is.
    The stages follow the epoch number, so a resumed run freezes what the uninterrupted one froze."""

    def __init__(self, model, keep_embedding_frozen=False):
        self.stages = encoder_stages(model)[::-1]  # top layer first
        self.keep_embedding_frozen = keep_embedding_frozen

    def on_epoch_begin(self, args, state, control, **kwargs):
        epoch = int(state.epoch or 0)
        for depth, stage in enumerate(self.stages):
            is_embedding = depth == len(self.stages) - 1
            for param in stage:
                param.requires_grad = depth < epoch and not (is_embedding and self.keep_embedding_frozen)


def complete_checkpoints(output_dir, remove_partial=False):
    """The checkpoints the marker calls complete, oldest first; with `remove_partial`, half-written ones (killed
    mid-save) are removed."""
    complete = []
    for checkpoint in Path(output_dir).glob("checkpoint-*"):
        if (checkpoint / COMPLETE_MARKER).is_file():
            complete.append(checkpoint)
        elif remove_partial:
            shutil.rmtree(checkpoint)
    return sorted(complete, key=lambda path: int(path.name.split("-")[1]))


def last_complete_checkpoint(output_dir, remove_partial=True):
    """The newest checkpoint the marker calls complete; half-written ones (killed mid-save) are removed."""
    complete = complete_checkpoints(output_dir, remove_partial)
    return str(complete[-1]) if complete else None


class ResumeError(ValueError):
    """A resume that cannot be exact or has nothing to resume from."""


def resume_checkpoint(output_dir, world_size, allow_inexact, main_process=True):
    """The checkpoint `--resume` continues: the last complete one, after checking that every process's RNG state is
    there (an exact resume needs them), unless `allow_inexact`."""
    checkpoint = last_complete_checkpoint(output_dir, main_process) if Path(output_dir).is_dir() else None
    if checkpoint is None:
        raise ResumeError(f"--resume: no complete checkpoint in {output_dir}")
    names = ["rng_state.pth"] if world_size == 1 else [f"rng_state_{rank}.pth" for rank in range(world_size)]
    for name in names:
        path = Path(checkpoint) / name
        try:
            torch.load(path, weights_only=False)  # our own checkpoint file, written by this Trainer
        except Exception as error:
            if allow_inexact:
                break
            raise ResumeError(
                f"{path}: RNG state missing or damaged ({type(error).__name__}); an exact resume is impossible. "
                "Pass --allow_inexact_resume to resume anyway (results will differ from an uninterrupted run)."
            ) from error
    return checkpoint
