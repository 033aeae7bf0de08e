"""Train, select on validation, score the test split once, and save a Hugging Face model folder.

parse (config file + command line) -> data -> tokenizer -> model -> Trainer -> train / evaluate / test -> save.
"""

import json
import math
import os
import shutil
import sys
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch
import yaml
from transformers import (
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    HfArgumentParser,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)
from transformers.tokenization_utils_base import VERY_LARGE_INTEGER

from .arguments import DataArguments, ModelArguments, RunArguments
from .averaging import use_checkpoint_average
from .configuration_lstm import LSTMConfig
from .data import DataError, prepare_data
from .embeddings import load_pretrained_embeddings, train_word2vec_embeddings
from .hardware import fast_bf16_available, has_accelerator
from .hub import HubError, check_repo_id, push, resolve_model
from .loading import ModelFolderError, check_model_folder
from .metrics import build_compute_metrics
from .model_card import build_model_card
from .modeling_lstm import LSTMForCausalLM, LSTMForSequenceClassification
from .plots import confusion_matrix_png, training_curves_png

# TrainingArguments defaults that suit a small recurrent model better than the transformer ones.
LSTM_TRAINING_DEFAULTS = {
    "learning_rate": 2e-3,
    "weight_decay": 0.01,
    "per_device_train_batch_size": 64,
    "per_device_eval_batch_size": 256,
    "num_train_epochs": 5,
    "lr_scheduler_type": "linear",
    "warmup_steps": 0.05,
    "max_grad_norm": 1.0,
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "logging_strategy": "epoch",
    "load_best_model_at_end": True,
    "save_total_limit": 2,
    "train_sampling_strategy": "group_by_length",
    "report_to": "none",
    "dataloader_pin_memory": False,
}

# TrainingArguments fields that transformers leaves to the script, or that would bypass what the project does, with
# the project's way: refused rather than parsed and silently ignored.
REFUSED_TRAINING_ARGUMENTS = {
    "do_train": "scripts/train.py always trains, selects on validation and scores the test split once",
    "do_eval": "scripts/train.py always trains, selects on validation and scores the test split once",
    "do_predict": "scripts/train.py always trains, selects on validation and scores the test split once; "
    "predict with scripts/predict.py",
    "resume_from_checkpoint": "use --resume true: it continues the last complete checkpoint in --output_dir exactly",
    "push_to_hub": "use --push_to_hub_dir HUB --hub_model_id org/name: it pushes the complete saved model, with its "
    "model card, to a hub directory (upload that folder to the Hugging Face Hub with `hf upload` if you wish)",
}
MODEL_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")
COMPLETE_MARKER = "checkpoint_complete"


def parse_arguments(argv=None):
    """Parse `[CONFIG.yaml|json] [--field value ...]`: the file's values become defaults, the command line overrides."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainingArguments, RunArguments))
    parser.set_defaults(**LSTM_TRAINING_DEFAULTS)
    # With no accelerator, use_cpu lets `accelerate launch --multi_gpu` run DDP over gloo; with one, it would hide it.
    parser.set_defaults(use_cpu=not has_accelerator())
    # bf16 autocast by default only where the hardware runs it fast; `bf16: false` (or --bf16 false) turns it off.
    parser.set_defaults(bf16=fast_bf16_available())
    # a field may be named as on the command line's aliases too (label_column_name for label_column)
    dests = {option.lstrip("-"): action.dest for action in parser._actions for option in action.option_strings}
    given = {dests.get(word[2:].split("=")[0]) for word in argv if word.startswith("--")}
    if argv and argv[0].endswith((".yaml", ".yml", ".json")):
        config_path = argv.pop(0)
        with open(config_path) as handle:
            values = yaml.safe_load(handle) or {}
        unknown = sorted(set(values) - set(dests))
        if unknown:
            raise SystemExit(f"{config_path}: unknown field(s) {unknown}")
        values = {dests[name]: value for name, value in values.items()}
        given |= set(values)
        parser.set_defaults(**values)
        for action in parser._actions:  # a required field given in the file is no longer required
            if action.dest in values:
                action.required = False
    refused = [name for name in REFUSED_TRAINING_ARGUMENTS if name in given]
    if refused:
        raise SystemExit(f"--{refused[0]} is not supported: {REFUSED_TRAINING_ARGUMENTS[refused[0]]}")
    return parser.parse_args_into_dataclasses(args=argv)


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


def check_rng_state(checkpoint, world_size, allow_inexact):
    """Exact resume needs every process's RNG state; refuse a missing or damaged one unless told otherwise."""
    names = ["rng_state.pth"] if world_size == 1 else [f"rng_state_{rank}.pth" for rank in range(world_size)]
    for name in names:
        path = Path(checkpoint) / name
        try:
            torch.load(path, weights_only=False)  # our own checkpoint file, written by this Trainer
        except Exception as error:
            if allow_inexact:
                return
            raise SystemExit(
                f"{path}: RNG state missing or damaged ({type(error).__name__}); an exact resume is impossible. "
                "Pass --allow_inexact_resume to resume anyway (results will differ from an uninterrupted run)."
            ) from error


def has_trained_model(directory):
    return any((Path(directory) / name).exists() for name in MODEL_FILES)


# The fields of a model that its weights depend on: a model started from a saved one takes them from that model.
SHAPE_FIELDS = (
    "vocab_size", "embedding_dim", "hidden_size", "num_layers", "bidirectional", "separate_directions", "cell_type",
    "pad_token_id",
)


def build_model(model_args, data_args, tokenizer, label_names, base=None):
    """An `LSTMForSequenceClassification` sized for the vocabulary and labels (an `LSTMForCausalLM` for language
    modelling), new or (`base`, a saved model folder) with that model's shape and encoder weights and a head that is
    new where the labels differ. A classifier's config carries the truncation (`truncation`, `max_tokens`) the
    training data was cut with, so the saved model cuts the same way."""
    model_class, truncation = LSTMForSequenceClassification, {
        "truncation": data_args.truncation, "max_tokens": data_args.max_length
    }
    if data_args.task == "language_modeling":
        model_class, truncation, labels = LSTMForCausalLM, {}, {}
    elif data_args.task == "regression":
        labels = {"num_labels": 1, "problem_type": "regression", "id2label": {0: "rating"}, "label2id": {"rating": 0}}
    else:
        labels = {
            "num_labels": len(label_names),
            "problem_type": "single_label_classification",
            "id2label": dict(enumerate(label_names)),
            "label2id": {name: i for i, name in enumerate(label_names)},
        }
    config_fields = {f.name: getattr(model_args, f.name) for f in fields(model_args) if hasattr(LSTMConfig(), f.name)}
    config_fields.update(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
    if base is not None:
        base_config = LSTMConfig.from_pretrained(base)
        config_fields.update({name: getattr(base_config, name) for name in SHAPE_FIELDS})
    config = LSTMConfig(**truncation, **config_fields, **labels)
    if base is None:
        return model_class(config)
    check_model_folder(base)
    return model_class.from_pretrained(base, config=config, ignore_mismatched_sizes=True, use_safetensors=True)


def encoder_stages(model):
    """The encoder's parameters by stage, bottom up: the embedding, then each recurrent layer."""
    encoder = model.lstm
    return [list(encoder.embeddings.parameters()), *(list(layer.parameters()) for layer in encoder.layers)]


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


@torch.no_grad()
def init_head_bias_from_labels(model, labels, task):
    """Set the head's bias to the labels' prior: their mean (regression) or the log class shares (classification).

    With the bias at zero, a regression head must first climb to the labels' mean; the network then carries that
    offset in weights on pooled features whose size differs between training (dropout) and evaluation, which biases
    its predictions. Starting from the prior leaves the network only the deviations from it to learn."""
    labels = torch.tensor(list(labels))  # (num_reviews,)
    bias = model.classifier.bias
    if task == "regression":
        bias.fill_(labels.double().mean().item())
    else:
        counts = torch.bincount(labels.long(), minlength=bias.numel()).double().clamp(min=1)  # (num_labels,)
        bias.copy_((counts / counts.sum()).log().to(bias.dtype))  # a class never seen counts as seen once


def save_final_model(trainer, output_dir, extra_files):
    """Write the trained model beside `output_dir`, then swap it in: a reader never sees a half-written model.

    The new folder gets the model, tokenizer and `extra_files` ({name: text or bytes}); checkpoints move along with it.
    """
    output_dir = Path(output_dir)
    staging = output_dir.with_name(f"{output_dir.name}.saving")
    if staging.exists() and trainer.is_world_process_zero():
        shutil.rmtree(staging)  # left by a run killed while saving
    try:
        trainer.save_model(str(staging))
        if not trainer.is_world_process_zero():
            return
        # The Trainer pickles its arguments beside the model; a model folder is what users download and load, so it
        # holds no pickle: the arguments go in as JSON (checkpoints keep the Trainer's own files for resuming).
        (staging / "training_args.bin").unlink(missing_ok=True)
        (staging / "training_args.json").write_text(trainer.args.to_json_string())
        for name, content in extra_files.items():
            path = staging / name
            path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    except OSError as error:  # disk full, quota, permissions
        shutil.rmtree(staging, ignore_errors=True)
        raise SystemExit(f"saving the trained model failed: {error}; {output_dir} is unchanged") from error
    old = None
    if output_dir.exists():
        for entry in output_dir.iterdir():  # this run's checkpoints (an earlier run's were removed at its start)
            if entry.name.startswith("checkpoint-"):
                entry.rename(staging / entry.name)
        old = output_dir.with_name(f"{output_dir.name}.old-{os.getpid()}")
        output_dir.rename(old)
    staging.rename(output_dir)
    if old is not None:
        shutil.rmtree(old)


def test_predictions_jsonl(logits, label_names):
    """The test split's predictions, one JSON line per review of `logits` (reviews, num_labels): `{"label",
    "probabilities"}` (every class's probability) or `{"rating"}` for regression, as `hf_lstm.prediction.predict`
    answers."""
    logits = torch.from_numpy(logits).double()  # (reviews, num_labels)
    if label_names is None:
        rows = [{"rating": value} for value in logits[:, 0].tolist()]
    else:
        probabilities = logits.softmax(dim=-1).tolist()
        rows = [
            {"label": label_names[max(range(len(row)), key=row.__getitem__)],
             "probabilities": dict(zip(label_names, row))}
            for row in probabilities
        ]
    return "".join(json.dumps(row) + "\n" for row in rows)


def score_test_split(trainer, test_split, label_names):
    """Score the test split once: (test metrics, {file name: content}) with test_results.json, every review's
    prediction in test_predictions.jsonl and, for classification, the confusion matrix."""
    # Batches of reviews of similar length pad little; the Trainer's own length-grouped order is random, so the test
    # split is sorted here and read in that order, and the predictions are put back in the split's order.
    order = np.argsort(np.asarray(test_split["length"]), kind="stable")
    args = trainer.args
    sampling, args.train_sampling_strategy = args.train_sampling_strategy, "sequential"
    test = trainer.predict(test_split.select(order), metric_key_prefix="test")
    args.train_sampling_strategy = sampling
    logits = np.empty_like(test.predictions)
    logits[order] = test.predictions  # (reviews, num_labels), in the test split's order
    trainer.log_metrics("test", test.metrics)
    files = {
        "test_results.json": json.dumps(test.metrics, indent=2),
        "test_predictions.jsonl": test_predictions_jsonl(logits, label_names),
    }
    if label_names is not None:
        title = f"{Path(args.output_dir).name}: test"
        files["confusion_matrix.png"] = confusion_matrix_png(
            test.label_ids, test.predictions.argmax(axis=-1), label_names, title
        )
    return test.metrics, files


def score_language_model(trainer):
    """A language model's scores: loss and perplexity on the validation text (it never reads test text)."""
    metrics = trainer.evaluate(metric_key_prefix="validation")
    metrics["validation_perplexity"] = math.exp(metrics["validation_loss"])
    trainer.log_metrics("validation", metrics)
    return metrics, {"eval_results.json": json.dumps(metrics, indent=2)}


def run(argv=None):
    """Parse, train, test and save; returns the `Trainer` and the test metrics."""
    model_args, data_args, training_args, run_args = parse_arguments(argv)
    if training_args.output_dir is None:
        raise SystemExit("--output_dir is required (in the config file or on the command line)")
    if has_trained_model(training_args.output_dir) and not (run_args.overwrite_output_dir or run_args.resume):
        raise SystemExit(
            f"{training_args.output_dir} already holds a trained model; pass --overwrite_output_dir to replace it "
            "(the old one stays until the new one is saved) or --resume to continue its checkpoints"
        )
    if model_args.pretrained_vectors and model_args.word2vec_epochs:
        raise SystemExit("give either --pretrained_vectors or --word2vec_epochs, not both: each sets the embedding")
    if model_args.model_name_or_path and (model_args.pretrained_vectors or model_args.word2vec_epochs):
        raise SystemExit("--model_name_or_path brings its own embedding: drop --pretrained_vectors / --word2vec_epochs")
    if model_args.adversarial_epsilon and model_args.freeze_embeddings:
        raise SystemExit("--adversarial_epsilon needs trainable embeddings: drop --freeze_embeddings")
    if model_args.gradual_unfreezing and training_args.world_size > 1:
        raise SystemExit("--gradual_unfreezing runs in one process: DDP fixes the trainable parameters at its start")
    if run_args.average_last_checkpoints == 1 or run_args.average_last_checkpoints < 0:
        count = run_args.average_last_checkpoints
        raise SystemExit(f"--average_last_checkpoints must be 0 (off) or at least 2, got {count}")
    if run_args.push_to_hub_dir is not None:
        if training_args.hub_model_id is None:
            raise SystemExit("--push_to_hub_dir needs --hub_model_id org/name")
        check_repo_id(training_args.hub_model_id)  # refuse a bad id before an hour of training

    language_modeling = data_args.task == "language_modeling"
    if language_modeling:
        # blocks of equal length: nothing to group; the best checkpoint is the one with the lowest validation loss
        if training_args.train_sampling_strategy == "group_by_length":
            training_args.train_sampling_strategy = "random"
        training_args.metric_for_best_model, training_args.greater_is_better = "loss", False
        training_args.prediction_loss_only = True
        if model_args.head_bias_from_labels:
            raise SystemExit("--head_bias_from_labels is for classification and regression heads")

    started = time.time()
    base, base_tokenizer = None, None
    if model_args.model_name_or_path:
        base = resolve_model(model_args.model_name_or_path, run_args.hub_dir)
        base_tokenizer = AutoTokenizer.from_pretrained(base)
        base_tokenizer.model_max_length = VERY_LARGE_INTEGER  # the model truncates (its config), never the tokenizer
    with training_args.main_process_first(desc="preparing data"):
        splits, tokenizer, label_names = prepare_data(data_args, base_tokenizer)
    set_seed(training_args.seed)
    model = build_model(model_args, data_args, tokenizer, label_names, base)
    if base is not None:
        print(f"starting from {model_args.model_name_or_path}: its vocabulary ({len(tokenizer)} entries), shape and "
              "encoder weights")
    if model_args.head_bias_from_labels:
        init_head_bias_from_labels(model, splits["train"]["labels"], data_args.task)
    vectors_found = None
    if model_args.pretrained_vectors:
        vectors_found = load_pretrained_embeddings(
            model, tokenizer, model_args.pretrained_vectors, freeze=model_args.freeze_embeddings
        )
        print(f"{model_args.pretrained_vectors}: vectors found for {vectors_found:.1%} of the vocabulary")
    word2vec_share = None
    if model_args.word2vec_epochs:
        word2vec_share = train_word2vec_embeddings(
            model,
            tokenizer,
            splits["train"],
            model_args.word2vec_epochs,
            seed=training_args.seed,
            skipgram=model_args.word2vec_skipgram,
        )
        print(f"word2vec on the training split: vectors learned for {word2vec_share:.1%} of the vocabulary")

    checkpoint = None
    if run_args.resume:
        if Path(training_args.output_dir).is_dir():
            checkpoint = last_complete_checkpoint(training_args.output_dir, training_args.process_index == 0)
        if checkpoint is None:
            raise SystemExit(f"--resume: no complete checkpoint in {training_args.output_dir}")
        check_rng_state(checkpoint, training_args.world_size, run_args.allow_inexact_resume)
    if run_args.average_last_checkpoints and training_args.save_total_limit is not None:
        # keep the last N checkpoints besides the best one
        training_args.save_total_limit = max(training_args.save_total_limit, run_args.average_last_checkpoints + 1)
    optimizer = None
    if model_args.layer_learning_rate_decay != 1.0:
        optimizer = discriminative_optimizer(model, training_args, model_args.layer_learning_rate_decay)
    callbacks = [CheckpointCompleteCallback(), ElapsedTimeCallback(started)]
    if model_args.gradual_unfreezing:
        callbacks.append(GradualUnfreezingCallback(model, keep_embedding_frozen=model_args.freeze_embeddings))
    if run_args.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=run_args.early_stopping_patience))
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=splits["train"],
        eval_dataset=splits["validation"],
        processing_class=tokenizer,
        data_collator=(
            DataCollatorForLanguageModeling(tokenizer, mlm=False) if language_modeling
            else DataCollatorWithPadding(tokenizer)
        ),
        compute_metrics=None if language_modeling else build_compute_metrics(label_names),
        callbacks=callbacks,
        optimizers=(optimizer, None),
    )
    if not run_args.resume and Path(training_args.output_dir).exists() and trainer.is_world_process_zero():
        for stale in Path(training_args.output_dir).glob("checkpoint-*"):
            shutil.rmtree(stale)  # checkpoints of an earlier run must not be mixed into this one
    train_result = trainer.train(resume_from_checkpoint=checkpoint)
    trainer.log_metrics("train", train_result.metrics)
    average = None
    if run_args.average_last_checkpoints:
        trainer.accelerator.wait_for_everyone()  # with several processes, the main one writes the checkpoints
        recent = complete_checkpoints(training_args.output_dir)[-run_args.average_last_checkpoints :]
        average = use_checkpoint_average(trainer, recent)
    if average and average["used"]:
        weights = f"the average of the last {len(average['checkpoints'])} epoch checkpoints"
        validation_value = average["validation"]
    else:
        weights, validation_value = "the best epoch", trainer.state.best_metric

    # Score with the float32 model that is saved (not under the bf16 autocast that accelerate put around the forward
    # pass for training), so the saved model predicts exactly what was scored.
    trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    if language_modeling:
        scored, scored_files = score_language_model(trainer)
    else:
        scored, scored_files = score_test_split(trainer, splits["test"], label_names)
    elapsed = time.time() - started
    results = {
        "validation" if language_modeling else "test": scored,
        "best_validation": {
            "metric": training_args.metric_for_best_model,
            "value": trainer.state.best_metric,
            "checkpoint": trainer.state.best_model_checkpoint,
        },
        "wall_time_s": round(elapsed, 1),  # data preparation, training, test and plots
        "device": str(training_args.device),
        "world_size": training_args.world_size,
        "pretrained_vectors_found": vectors_found,
        "word2vec_vocabulary_share": word2vec_share,
        "checkpoint_average": average,
    }
    card = build_model_card(
        model.config,
        data_args,
        training_args,
        splits,
        scored,
        (training_args.metric_for_best_model, validation_value),
        elapsed,
        " ".join(["python scripts/train.py", *(sys.argv[1:] if argv is None else argv)]),
        weights=weights,
        base_model=model_args.model_name_or_path if run_args.hub_dir else None,
    )
    save_final_model(
        trainer,
        training_args.output_dir,
        {
            "README.md": card,
            "all_results.json": json.dumps(results, indent=2),
            "log_history.json": json.dumps(trainer.state.log_history, indent=2),
            "training_curves.png": training_curves_png(
                trainer.state.log_history, training_args.metric_for_best_model, Path(training_args.output_dir).name
            ),
            **scored_files,
        },
    )
    if trainer.is_world_process_zero():
        print(json.dumps(scored, indent=2))
        if run_args.push_to_hub_dir is not None:
            revision = push(training_args.output_dir, training_args.hub_model_id, run_args.push_to_hub_dir)
            print(f"pushed {training_args.hub_model_id} revision {revision} to {run_args.push_to_hub_dir}")
    return trainer, scored


def main(argv=None):
    """The command line: a bad argument or bad data ends with one `error: ...` line and exit status 1."""
    try:
        run(argv)
    except (DataError, HubError, ModelFolderError) as error:
        raise SystemExit(f"error: {error}") from None
    except SystemExit as error:
        if isinstance(error.code, str):
            raise SystemExit(f"error: {error.code}") from None
        raise
