"""Train, select on validation, score the test split once, and save a Hugging Face model folder.

parse (config file + command line) -> data -> tokenizer -> model -> Trainer -> train / evaluate / test -> save.
"""

import argparse
import difflib
import json
import logging
import math
import os
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
    set_seed,
)
from transformers.tokenization_utils_base import VERY_LARGE_INTEGER

from .arguments import (
    ArgumentError,
    DataArguments,
    LSTMTrainingArguments,
    ModelArguments,
    RunArguments,
    check_together,
)
from .averaging import use_checkpoint_average
from .configuration_lstm import LSTMConfig
from .data import DataError, prepare_data
from .embeddings import load_pretrained_embeddings, train_word2vec_embeddings
from .hardware import cpu_threads, launch_problem
from .hub import HubError, check_repo_id, push, resolve_model
from .loading import ModelFolderError, check_model_folder
from .metrics import build_compute_metrics
from .model_card import build_model_card
from .modeling_lstm import LSTMForCausalLM, LSTMForSequenceClassification
from .output_folder import (
    COMPLETE_MARKER,
    OutputFolderError,
    check_output_dir,
    complete_checkpoints,
    last_complete_checkpoint,
    save_final_model,
    set_aside_previous_checkpoints,
)
from .plots import confusion_matrix_png, training_curves_png
from .prediction import prediction_records, results_from_logits

logger = logging.getLogger(__name__)

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


class ArgumentParser(HfArgumentParser):
    """`HfArgumentParser` whose refusals are one line (argparse prints the whole usage first) naming the option."""

    def error(self, message):
        raise ArgumentError(message)


def option_names(parser):
    """{option name without dashes: field name}, aliases included (label_column_name for label_column)."""
    return {option.lstrip("-"): action.dest for action in parser._actions for option in action.option_strings}


def unknown_option(word, names, where="option"):
    close = difflib.get_close_matches(word, list(names), n=1)
    hint = f"; did you mean {close[0]}?" if close else "; `python scripts/train.py --help` lists them"
    return ArgumentError(f"unknown {where} {word}{hint}")


def read_config_file(path, parser):
    """A YAML or JSON config file's values, each checked as the command line checks it (type, choices), by field."""
    if not os.path.isfile(path):
        near = difflib.get_close_matches(path, [str(p) for p in Path(path).parent.glob("*.y*ml")], n=1)
        raise ArgumentError(f"{path}: no such config file" + (f"; did you mean {near[0]}?" if near else ""))
    try:
        with open(path, encoding="utf-8") as handle:
            values = yaml.safe_load(handle)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise ArgumentError(f"{path}: not valid YAML{line}: {getattr(error, 'problem', None) or error}") from None
    values = values or {}
    if not isinstance(values, dict):
        raise ArgumentError(f"{path}: expected `field: value` lines, got {type(values).__name__}")
    names = option_names(parser)
    actions = {action.dest: action for action in parser._actions}
    checked = {}
    for name, value in values.items():
        if name not in names:
            raise unknown_option(name, names, where=f"field in {path}:")
        action = actions[names[name]]
        items = value if isinstance(value, list) else [value]
        if value is not None and action.type is not None:
            try:
                items = [item if item is None else action.type(item if isinstance(item, str) else str(item))
                         for item in items]
            except (TypeError, ValueError, argparse.ArgumentTypeError):
                raise ArgumentError(f"{path}: {name}: {value!r} is not a valid value") from None
        if value is not None and action.choices is not None and any(item not in action.choices for item in items):
            raise ArgumentError(f"{path}: {name}: {value!r} is not one of {', '.join(map(str, action.choices))}")
        checked[action.dest] = items if isinstance(value, list) or action.nargs in ("+", "*") else items[0]
    return checked


def parse_arguments(argv=None):
    """Parse `[CONFIG.yaml|json] [--field value ...]`: the file's values become defaults, the command line overrides.
    Every value is checked here (types, choices, ranges, combinations), before any folder or data is touched."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = ArgumentParser(
        (ModelArguments, DataArguments, LSTMTrainingArguments, RunArguments),
        usage="python scripts/train.py [CONFIG.yaml] [--field value ...]",
    )
    names = option_names(parser)
    on_command_line = {names.get(word[2:].split("=")[0]) for word in argv if word.startswith("--")}
    given = set(on_command_line)
    if argv and argv[0].endswith((".yaml", ".yml", ".json")):
        values = read_config_file(argv.pop(0), parser)
        given |= set(values)
        parser.set_defaults(**values)
        for action in parser._actions:  # a required field given in the file is no longer required
            if action.dest in values:
                action.required = False
    refused = [name for name in REFUSED_TRAINING_ARGUMENTS if name in given]
    if refused:
        raise ArgumentError(f"--{refused[0]} is not supported: {REFUSED_TRAINING_ARGUMENTS[refused[0]]}")
    try:
        *parsed, remaining = parser.parse_args_into_dataclasses(args=argv, return_remaining_strings=True)
    except ValueError as error:  # a dataclass's __post_init__ refused a value
        raise ArgumentError(str(error)) from None
    if remaining:
        word = next((word for word in remaining if word.startswith("-")), remaining[0])
        raise unknown_option(word, [f"--{name}" for name in names])
    model_args, data_args, training_args, run_args = parsed
    check_together(model_args, data_args, training_args)
    if training_args.output_dir is None:
        raise ArgumentError("--output_dir is required (in the config file or on the command line)")
    if model_args.model_name_or_path and given & set(SHAPE_FIELDS):
        check_shape_fields(model_args, run_args.hub_dir, given & set(SHAPE_FIELDS), on_command_line)
    if run_args.push_to_hub_dir is not None:
        if training_args.hub_model_id is None:
            raise ArgumentError("--push_to_hub_dir needs --hub_model_id org/name")
        check_repo_id(training_args.hub_model_id)  # refuse a bad id before an hour of training
    return model_args, data_args, training_args, run_args


def check_shape_fields(model_args, hub_dir, named, on_command_line):
    """A model started from a saved one has that model's shape: refuse a shape field asked for on the command line
    with another value; one from the config file (written for a model trained from scratch) gives way, with a
    warning."""
    try:
        base = LSTMConfig.from_pretrained(resolve_model(model_args.model_name_or_path, hub_dir))
    except OSError as error:
        raise ArgumentError(f"--model_name_or_path {model_args.model_name_or_path}: {error}") from None
    for name in sorted(named):
        if getattr(base, name) == getattr(model_args, name):
            continue
        if name in on_command_line:
            raise ArgumentError(
                f"--{name} {getattr(model_args, name)} differs from {model_args.model_name_or_path}'s {name} "
                f"{getattr(base, name)}: a model started from a saved one keeps its shape; drop --{name}"
            )
        logger.warning("%s %s of %s is kept (the config file's %s gives way)", name, getattr(base, name),
                       model_args.model_name_or_path, getattr(model_args, name))


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
        "test_predictions.jsonl": prediction_records(
            results_from_logits(logits, label_names), test_split["row"], test_split["labels"], label_names
        ),
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


def hub_revision(model, folder):
    """`org/name@<revision id>` for a model taken from a hub directory (its snapshot folder is named by the id), None
    for a model folder."""
    if folder is None or Path(folder) == Path(model):
        return None
    return f"{model.partition('@')[0]}@{Path(folder).name}"


def run(argv=None):
    """Parse, train, test and save; returns the `Trainer` and the test metrics."""
    model_args, data_args, training_args, run_args = parse_arguments(argv)
    if launch_problem():
        raise SystemExit(launch_problem())
    torch.set_num_threads(cpu_threads(run_args.cpu_threads))
    check_output_dir(training_args.output_dir, run_args.overwrite_output_dir, run_args.resume)

    language_modeling = data_args.task == "language_modeling"
    if language_modeling:
        # blocks of equal length: nothing to group; the best checkpoint is the one with the lowest validation loss
        if training_args.train_sampling_strategy == "group_by_length":
            training_args.train_sampling_strategy = "random"
        training_args.metric_for_best_model, training_args.greater_is_better = "loss", False
        training_args.prediction_loss_only = True

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
        logger.info(f"starting from {model_args.model_name_or_path}: its vocabulary ({len(tokenizer)} entries), shape and "
              "encoder weights")
    if model_args.head_bias_from_labels:
        init_head_bias_from_labels(model, splits["train"]["labels"], data_args.task)
    vectors_found = None
    if model_args.pretrained_vectors:
        vectors_found = load_pretrained_embeddings(
            model, tokenizer, model_args.pretrained_vectors, freeze=model_args.freeze_embeddings
        )
        logger.info(f"{model_args.pretrained_vectors}: vectors found for {vectors_found:.1%} of the vocabulary")
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
        logger.info(f"word2vec on the training split: vectors learned for {word2vec_share:.1%} of the vocabulary")

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
        set_aside_previous_checkpoints(training_args.output_dir)  # never mixed into this run, kept until it saves
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
        "cpu_threads": torch.get_num_threads(),
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
        base_model=hub_revision(model_args.model_name_or_path, base),
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
            logger.info(f"pushed {training_args.hub_model_id} revision {revision} to {run_args.push_to_hub_dir}")
    return trainer, scored


def main(argv=None):
    """The command line: a bad argument or bad data ends with one `error: ...` line and exit status 1, written once
    however many processes were launched (by the main one)."""
    main_process = int(os.environ.get("RANK", "0")) == 0
    logging.basicConfig(format="%(message)s", level=logging.INFO if main_process else logging.WARNING)
    try:
        run(argv)
    except (ArgumentError, DataError, HubError, ModelFolderError, OutputFolderError) as error:
        raise SystemExit(f"error: {error}" if main_process else 1) from None
    except SystemExit as error:
        if isinstance(error.code, str):
            raise SystemExit(f"error: {error.code}" if main_process else 1) from None
        raise
