"""`LSTMTrainer`: the Hugging Face `Trainer` with what an hf_lstm run adds to it, and the callbacks and checkpoint
bookkeeping that go with it.

- The training loss: the head's standard loss plus the training objectives asked for (`objectives.loss_terms`), each
  logged beside `loss`. A model's fitted n-gram channel stays out of it (the encoder and head learn as if alone);
  evaluation and prediction read it.
- Unlabelled reviews and teachers' outputs come out of the training dataloader with the labelled batch
  (`WithUnlabelled`, `UnlabelledCollator`), so resume, several processes and accumulation read them from the same
  sampler state as the labelled reviews.
- `predict_in_length_order`: a pass over a split in order of length (batches pad little), answered in the split's
  order.
- Checkpoints are marked complete once written (`CheckpointCompleteCallback`); resume trusts only marked ones.
"""

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import torch
from transformers import ProgressCallback, Trainer, TrainerCallback
from transformers.trainer_utils import PredictionOutput

from .objectives import loss_terms
from .prediction import in_original_order, shortest_first

COMPLETE_MARKER = "checkpoint_complete"
# What a training batch brings besides the model's inputs; read by the objectives, never by the model.
BATCH_EXTRAS = ("teacher_logits", "unlabelled_input_ids", "unlabelled_attention_mask", "unlabelled_teacher_logits")


class LSTMTrainer(Trainer):
    """A `Trainer` whose training loss adds the objectives of `args` (virtual adversarial, entropy, distillation) and
    whose training batches may carry unlabelled reviews.

    Args:
        unlabelled_dataset (`Dataset`, defaults to none): tokenized reviews without labels (`input_ids`, `length`,
            and `teacher_logits` when distilling); each labelled review of a training batch brings
            `unlabelled_batch_ratio` of them (`WithUnlabelled`).
    """

    def __init__(self, *args, unlabelled_dataset=None, **kwargs):
        super().__init__(*args, **kwargs)
        if unlabelled_dataset is not None:
            self.train_dataset = WithUnlabelled(self.train_dataset, unlabelled_dataset,
                                                self.args.unlabelled_batch_ratio, self.args.seed)
            self.data_collator = UnlabelledCollator(self.data_collator)
            self.add_callback(EpochCallback(self.train_dataset))
        self._logged_terms = {}  # name -> [sum, count] since the last log

    def train(self, *args, **kwargs):
        try:
            return super().train(*args, **kwargs)
        except KeyboardInterrupt:  # Ctrl-C: end the progress bar's line, so that what follows starts a line
            for callback in self.callback_handler.callbacks:
                if isinstance(callback, ProgressCallback) and callback.training_bar is not None:
                    callback.training_bar.close()
            raise

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        self._signature_columns = [*self._signature_columns, "unlabelled", *BATCH_EXTRAS]

    def _get_train_sampler(self, train_dataset=None):
        train_dataset = train_dataset if train_dataset is not None else self.train_dataset
        return super()._get_train_sampler(getattr(train_dataset, "labelled", train_dataset))

    def _get_eval_sampler(self, eval_dataset):
        """Shortest first, so that batches of similar length pad little (`predict_in_length_order` puts the
        predictions back in the split's order)."""
        return shortest_first(review_lengths(eval_dataset)).tolist()

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        unwrapped = self.accelerator.unwrap_model(model)
        channel = getattr(unwrapped, "ngrams", None)
        if model.training and channel is not None:
            unwrapped.ngrams = None  # the encoder learns as if alone; the fitted channel's logits join it to predict
            try:
                return self.compute_loss(model, inputs, return_outputs, num_items_in_batch)
            finally:
                unwrapped.ngrams = channel
        extras = {name: inputs.pop(name) for name in BATCH_EXTRAS if name in inputs}
        if not (model.training and (extras or self.args.adds_loss_terms)):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        outputs = model(**inputs, output_hidden_states=True)
        seed = self.args.seed * 1_000_003 + self.state.global_step  # virtual adversarial training's directions
        terms = loss_terms(unwrapped, inputs, outputs, extras, self.args, seed)
        for name, value in terms.items():
            total = self._logged_terms.setdefault(f"loss_{name}", [0.0, 0])
            total[0], total[1] = total[0] + value.detach(), total[1] + 1
        loss = sum(terms.values())
        return (loss, outputs) if return_outputs else loss

    def log(self, logs, *args, **kwargs):
        """The Trainer's log, plus the mean of each named loss term since the last training-loss entry."""
        if "loss" in logs and self._logged_terms:
            for name, (total, count) in self._logged_terms.items():
                logs[name] = round(float(total) / count, 4)
            self._logged_terms = {}
        super().log(logs, *args, **kwargs)

    def predict_in_length_order(self, dataset, metric_key_prefix="test"):
        """`predict` over `dataset`, read shortest first (`_get_eval_sampler`); predictions and labels come back in
        the dataset's order. Teachers' outputs on these reviews only score the teachers: they are not read."""
        order = shortest_first(review_lengths(dataset))
        unread = [name for name in ("teacher_logits",) if name in dataset.column_names]
        output = self.predict(dataset.remove_columns(unread), metric_key_prefix=metric_key_prefix)
        return PredictionOutput(
            predictions=in_original_order(output.predictions, order),
            label_ids=in_original_order(output.label_ids, order),
            metrics=output.metrics,
        )


def review_lengths(dataset):
    """Each review's number of token ids (reviews,), read from the Arrow column without decoding it."""
    return pc.list_value_length(dataset.with_format("arrow")["input_ids"]).to_numpy(zero_copy_only=False)


class WithUnlabelled(torch.utils.data.Dataset):
    """The training split, each review carrying `ratio` unlabelled reviews (on average, for a ratio below 1) in an
    `unlabelled` list. Reviews are paired by length rank: a labelled review of rank q (by length) takes unlabelled
    reviews of about rank q among the unlabelled ones, so a length-grouped batch brings unlabelled reviews that pad
    little. Each of its slots owns a band of unlabelled reviews and takes the next one of the band each epoch, so every
    unlabelled review is read once every few epochs. The pairing follows (seed, epoch, review) alone: resume, several
    processes and accumulation read what one process reads."""

    def __init__(self, labelled, unlabelled, ratio, seed):
        self.labelled, self.epoch = labelled, 0
        self.unlabelled = unlabelled.select_columns(
            [name for name in ("input_ids", "teacher_logits") if name in unlabelled.column_names])
        rank = np.empty(len(labelled), dtype=np.int64)
        rank[np.argsort(labelled["length"], kind="stable")] = np.arange(len(labelled))  # (labelled,)
        self.slots = [np.arange(int(q * ratio), int((q + 1) * ratio)) for q in rank]  # each review's slots
        self.by_length = np.argsort(unlabelled["length"], kind="stable")  # (unlabelled,)
        self.per_slot = len(self.by_length) / max(1, int(len(labelled) * ratio))
        self.offset = np.random.default_rng(seed).integers(0, max(1, int(self.per_slot)), len(labelled))

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.labelled)

    def __getitem__(self, index):
        item = self.labelled[int(index)]
        step = (self.offset[index] + self.epoch) % max(1, int(self.per_slot))
        rows = np.minimum((self.slots[index] * self.per_slot).astype(np.int64) + step, len(self.by_length) - 1)
        item["unlabelled"] = [self.unlabelled[int(row)] for row in self.by_length[rows]]
        return item


class UnlabelledCollator:
    """Pads a training batch as `collator` does; the unlabelled reviews its reviews brought become one more padded
    batch: `unlabelled_input_ids`, `unlabelled_attention_mask` (and `unlabelled_teacher_logits`)."""

    def __init__(self, collator):
        self.collator = collator

    def __call__(self, features):
        unlabelled = [row for feature in features for row in feature.pop("unlabelled", [])]
        batch = self.collator(features)
        if unlabelled:
            batch.update({f"unlabelled_{name}": value for name, value in self.collator(unlabelled).items()})
        return batch


class EpochCallback(TrainerCallback):
    """Tells the training dataset which epoch begins (a resumed run included), before its batches are drawn."""

    def __init__(self, dataset):
        self.dataset = dataset

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.dataset.set_epoch(int(state.epoch or 0))


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


def resume_checkpoint(output_dir, world_size, allow_inexact, main_process=True, config=None):
    """The checkpoint `--resume` continues: the last complete one, after checking that it holds the model `config`
    describes and that every process's RNG state is there (an exact resume needs them), unless `allow_inexact`."""
    checkpoint = last_complete_checkpoint(output_dir, main_process) if Path(output_dir).is_dir() else None
    if checkpoint is None:
        raise ResumeError(f"--resume: no complete checkpoint in {output_dir}")
    saved = json.loads((Path(checkpoint) / "config.json").read_text()) if config is not None else {}
    for name in [name for name in type(config).__annotations__ if name in saved] if config is not None else []:
        if saved[name] != getattr(config, name):
            option = {"max_tokens": "max_length", "vocab_size": "max_vocab_size"}.get(name, name)
            raise ResumeError(f"--resume: {checkpoint} holds a model with {name} {saved[name]!r}, this run asks for "
                              f"{getattr(config, name)!r}; resume with the --{option} it was trained with, or train "
                              "into a new --output_dir")
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
