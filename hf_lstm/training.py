"""Train, select on validation, score the test split once, and save a Hugging Face model folder.

parse (`arguments.parse_arguments`) -> data -> model -> `LSTMTrainer` -> train / evaluate / test -> save
(`output_folder.save_final_model`) -> push.
"""

import json
import logging
import math
import os
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import torch
from sklearn.metrics import f1_score
from transformers import (
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    DataCollatorWithPadding,
    set_seed,
)
from transformers.tokenization_utils_base import VERY_LARGE_INTEGER

from .arguments import (
    SHAPE_FIELDS,
    ArgumentError,
    parse_arguments,
    reads_unlabelled_batches,
    settle_multi_label_settings,
)
from .baseline import fit_ngram_channel
from .configuration_lstm import LSTMConfig
from .data import DataError, is_multi_label, prepare_data
from .distillation import TeacherError, teacher_report
from .embeddings import train_word2vec_embeddings
from .hardware import cpu_threads, launch_problem
from .hub import HubError, push, resolve_model
from .loading import ModelFolderError, check_model_folder
from .metrics import build_compute_metrics, decision_thresholds, decisions, per_label_scores
from .model_card import build_model_card
from .modeling_lstm import LSTMForCausalLM, LSTMForSequenceClassification
from .output_folder import OutputFolderError, check_output_dir, save_final_model, set_aside_previous_checkpoints
from .plots import confusion_matrix_png, training_curves_png
from .prediction import prediction_records, results_from_logits
from .trainer import (
    CheckpointCompleteCallback,
    ElapsedTimeCallback,
    LSTMTrainer,
    ResumeError,
    last_complete_checkpoint,
    resume_checkpoint,
)

logger = logging.getLogger(__name__)


def build_model(model_args, data_args, tokenizer, label_names, base=None, multi_label=False):
    """An `LSTMForSequenceClassification` sized for the vocabulary and labels (an `LSTMForCausalLM` for language
    modelling), new or (`base`, a saved model folder) with that model's shape and encoder weights and a head that is
    new where the labels differ; `multi_label`: a sigmoid per label. A classifier's config carries the truncation
    (`truncation`, `max_tokens`) the training data was cut with, so the saved model cuts the same way."""
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
            "problem_type": "multi_label_classification" if multi_label else "single_label_classification",
            "id2label": dict(enumerate(label_names)),
            "label2id": {name: i for i, name in enumerate(label_names)},
        }
    config_fields = model_args.config_fields()
    config_fields.update(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
    if base is not None:
        base_config = LSTMConfig.from_pretrained(base)
        config_fields.update({name: getattr(base_config, name) for name in SHAPE_FIELDS})
    config = LSTMConfig(**truncation, **config_fields, **labels)
    if base is None:
        return model_class(config)
    check_model_folder(base)
    return model_class.from_pretrained(base, config=config, ignore_mismatched_sizes=True, use_safetensors=True)


@torch.no_grad()
def init_head_bias_from_labels(model, labels, task):
    """Set the head's bias to the labels' prior: their mean (regression), the log class shares (classification) or
    each label's log-odds (multi-label).

    With the bias at zero, a regression head must first climb to the labels' mean; the network then carries that
    offset in weights on pooled features whose size differs between training (dropout) and evaluation, which biases
    its predictions. Starting from the prior leaves the network only the deviations from it to learn."""
    labels = torch.tensor(list(labels))  # (num_reviews,)
    bias = model.classifier.bias
    if task == "regression":
        bias.fill_(labels.double().mean().item())
    elif labels.ndim == 2:  # multi-hot (num_reviews, num_labels)
        shares = labels.double().mean(dim=0).clamp(1e-4, 1 - 1e-4)  # a label never seen counts as rare, not absent
        bias.copy_((shares / (1 - shares)).log().to(bias.dtype))
    else:
        counts = torch.bincount(labels.long(), minlength=bias.numel()).double().clamp(min=1)  # (num_labels,)
        bias.copy_((counts / counts.sum()).log().to(bias.dtype))  # a class never seen counts as seen once


def score_test_split(trainer, test_split, label_names):
    """Score the test split once: (test metrics, {file name: content}, the logits) with test_results.json, every
    review's prediction in test_predictions.jsonl and, for single-label classification, the confusion matrix (for
    multi-label, each label's precision, recall and F1 in the results)."""
    test = trainer.predict_in_length_order(test_split, metric_key_prefix="test")  # (reviews, num_labels) logits
    thresholds = decision_thresholds(trainer.model.config)
    results = dict(test.metrics)
    if thresholds is not None:
        results["test_per_label"] = per_label_scores(test.predictions, test.label_ids, label_names, thresholds)
    files = {
        "test_results.json": json.dumps(results, indent=2),
        "test_predictions.jsonl": prediction_records(results_from_logits(test.predictions, label_names, thresholds),
                                                     test_split["row"], test_split["labels"], label_names),
    }
    if label_names is not None and thresholds is None:
        title = f"{Path(trainer.args.output_dir).name}: test"
        files["confusion_matrix.png"] = confusion_matrix_png(
            test.label_ids, test.predictions.argmax(axis=-1), label_names, title
        )
    return test.metrics, files, test.predictions


def guess_without_reading(splits, label_names, split):
    """What answering without reading a review scores on `split`: the majority class of `split` (its share), for
    multi-label data the training split's most common label set (micro-F1) or, for ratings, the training split's mean
    rating (the RMSE). Returns (what is answered, the score)."""
    train, gold = np.asarray(splits["train"]["labels"]), np.asarray(splits[split]["labels"])
    if gold.ndim == 2:
        sets, counts = np.unique(train, axis=0, return_counts=True)
        common = sets[counts.argmax()]
        guess = np.broadcast_to(common, gold.shape)
        names = [label_names[i] for i in np.flatnonzero(common)]
        return f"the label set {names}", float(f1_score(gold, guess, average="micro", zero_division=0.0))
    if label_names is None:
        return f"the mean rating {train.mean():.2f}", float(np.sqrt(((gold - train.mean()) ** 2).mean()))
    counts = np.bincount(gold, minlength=len(label_names))
    return f"the majority class {label_names[int(counts.argmax())]!r}", float(counts.max() / counts.sum())


def learned_nothing(logits, splits, label_names, thresholds=None):
    """A sentence saying the model learned nothing from its labels, judged on the test split, or None: it predicts one
    class (one label set) for every review, or it scores no better than `guess_without_reading`."""
    gold = np.asarray(splits["test"]["labels"])
    guess, baseline = guess_without_reading(splits, label_names, "test")
    if thresholds is not None:
        predicted = decisions(logits, thresholds)
        micro = float(f1_score(gold, predicted, average="micro", zero_division=0.0))
        failed = ("it predicts the same label set for every test review" if (predicted == predicted[0]).all()
                  else f"its test micro-F1 {micro:.4f} is no better than always answering {guess} ({baseline:.4f})"
                  if micro <= baseline else None)
    elif label_names is None:
        rmse = float(np.sqrt(((logits.reshape(-1) - gold) ** 2).mean()))
        failed = f"its test RMSE {rmse:.4f} is no lower than always answering {guess} ({baseline:.4f})"
        failed = failed if rmse >= baseline else None
    else:
        predicted = logits.argmax(axis=-1)
        accuracy = float((predicted == gold).mean())
        failed = (f"it predicts {label_names[predicted[0]]!r} for every test review" if len(set(predicted)) == 1
                  else f"its test accuracy {accuracy:.4f} is no better than always answering {guess} ({baseline:.4f})"
                  if accuracy <= baseline else None)
    if failed:
        return (f"{failed}: it learned nothing from its labels. Small data needs more optimiser steps: train with "
                "configs/small.yaml (see its comment)")
    return None


def run_summary(trainer, splits, scored, label_names):
    """One line: where the model was saved, which epoch was kept with its validation figure beside what answering
    without reading scores, and the test figure."""
    args, state = trainer.args, trainer.state
    folder = f"{args.output_dir}: saved"
    if "test" not in splits:  # a language model
        return f"{folder}; validation perplexity {scored['validation_perplexity']:.1f}"
    metric = args.metric_for_best_model
    kept = state.best_model_checkpoint if args.load_best_model_at_end and state.best_model_checkpoint else None
    step = int(kept.rsplit("-", 1)[1]) if kept else state.global_step
    entry = next((e for e in state.log_history if e.get("step") == step and f"eval_{metric}" in e), {})
    guess, baseline = guess_without_reading(splits, label_names, "validation")
    multi_label = decision_thresholds(trainer.model.config) is not None
    measure = "rmse" if label_names is None else "micro-F1" if multi_label else "accuracy"
    return (f"{folder}; epoch {round(entry.get('epoch', state.epoch))} of {round(state.epoch)} kept, validation {metric} "
            f"{entry.get(f'eval_{metric}', float('nan')):.4f} (always answering {guess}: "
            f"{measure} {baseline:.4f}); test {metric} "
            f"{scored.get(f'test_{metric}', float('nan')):.4f}")


def score_language_model(trainer):
    """A language model's scores: loss and perplexity on the validation text (it never reads test text)."""
    metrics = trainer.evaluate(metric_key_prefix="validation")
    metrics["validation_perplexity"] = math.exp(metrics["validation_loss"])
    trainer.log_metrics("validation", metrics)
    return metrics, {"eval_results.json": json.dumps(metrics, indent=2)}, None


def hub_revision(model, folder):
    """`org/name@<revision id>` for a model taken from a hub directory (its snapshot folder is named by the id), None
    for a model folder."""
    if folder is None or Path(folder) == Path(model):
        return None
    return f"{model.partition('@')[0]}@{Path(folder).name}"


def run(argv=None):
    """Parse, train, test and save; returns the `Trainer` and the test metrics (a language model's validation ones)."""
    model_args, data_args, training_args = parse_arguments(argv)
    set_up_process(training_args)
    check_output_dir(training_args.output_dir, training_args.overwrite_output_dir, training_args.resume)
    started = time.time()
    base, base_tokenizer = load_base(model_args.model_name_or_path, training_args.hub_dir)
    teachers = {name: resolve_model(name, training_args.hub_dir)
                for name in model_args.teacher_model_name_or_path or []}
    with training_args.main_process_first(desc="preparing data"):
        splits, tokenizer, label_names = prepare_data(data_args, base_tokenizer, teachers)
    multi_label = data_args.task == "classification" and is_multi_label(splits["train"].features["labels"])
    settle_multi_label_settings(model_args, training_args, multi_label)
    set_seed(training_args.seed)
    model = build_model(model_args, data_args, tokenizer, label_names, base, multi_label)
    embedding_start = start_weights(model, model_args, data_args, tokenizer, splits, training_args.seed)
    unlabelled = splits.get("unlabelled") if reads_unlabelled_batches(model_args, training_args) else None
    trainer = build_trainer(model, tokenizer, splits, label_names, unlabelled, training_args, started)
    checkpoint = None
    if training_args.resume:
        checkpoint = resume_checkpoint(training_args.output_dir, training_args.world_size,
                                       training_args.allow_inexact_resume, trainer.is_world_process_zero(), model.config)
        logger.info("resuming from %s", checkpoint)
    elif Path(training_args.output_dir).exists() and trainer.is_world_process_zero():
        set_aside_previous_checkpoints(training_args.output_dir)  # never mixed into this run, kept until it saves
    try:
        trainer.log_metrics("train", trainer.train(resume_from_checkpoint=checkpoint).metrics)
    except KeyboardInterrupt:
        raise Stopped(training_args.output_dir) from None
    # Score with the float32 model that is saved (not under the bf16 autocast that accelerate put around the forward
    # pass for training), so the saved model predicts exactly what was scored.
    trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)
    if data_args.task == "language_modeling":
        scored, files, logits = score_language_model(trainer)
    else:
        scored, files, logits = score_test_split(trainer, splits["test"], label_names)
    distilled = teacher_report(splits["test"], logits, label_names, list(teachers)) if teachers else None
    thresholds = decision_thresholds(model.config)
    warning = learned_nothing(logits, splits, label_names, thresholds) if logits is not None else None
    files |= run_files(trainer, model_args, data_args, splits, scored, embedding_start, started, argv, base, distilled,
                       warning)
    save_final_model(trainer, training_args.output_dir, files)
    if trainer.is_world_process_zero():
        print(json.dumps(scored, indent=2))
        logger.info("%s", run_summary(trainer, splits, scored, label_names))
        if warning:
            logger.warning("warning: %s", warning)
        if training_args.push_to_hub_dir is not None:
            revision = push(training_args.output_dir, training_args.hub_model_id, training_args.push_to_hub_dir)
            logger.info("pushed %s revision %s to %s", training_args.hub_model_id, revision, training_args.push_to_hub_dir)
    return trainer, scored


def set_up_process(training_args):
    """Refuse a launch that would not run what was asked; give torch its threads (`hardware.cpu_threads`)."""
    problem = launch_problem()
    if problem:
        raise ArgumentError(problem)
    torch.set_num_threads(cpu_threads(training_args.cpu_threads))


def load_base(model_name_or_path, hub_dir):
    """(folder, tokenizer) of the saved model a run starts from, or (None, None)."""
    if not model_name_or_path:
        return None, None
    base = resolve_model(model_name_or_path, hub_dir)
    tokenizer = AutoTokenizer.from_pretrained(base)
    tokenizer.model_max_length = VERY_LARGE_INTEGER  # the model truncates (its config), never the tokenizer
    return base, tokenizer


def start_weights(model, model_args, data_args, tokenizer, splits, seed):
    """The head bias from the labels' prior, the embedding from word2vec, and the n-gram channel
    (`baseline.fit_ngram_channel`), as asked; returns {"word2vec_vocabulary_share"} (and "ngram_channel") for the
    results file."""
    if model_args.model_name_or_path:
        logger.info("starting from %s: its vocabulary (%d entries), shape and encoder weights",
                    model_args.model_name_or_path, len(tokenizer))
    if model_args.head_bias_from_labels:
        init_head_bias_from_labels(model, splits["train"]["labels"], data_args.task)
    found = {"word2vec_vocabulary_share": None}
    text = training_text(splits)
    if model_args.word2vec_epochs:
        share = train_word2vec_embeddings(model, tokenizer, text, model_args.word2vec_epochs, seed=seed)
        found["word2vec_vocabulary_share"] = share
        logger.info("word2vec on the training split%s: vectors learned for %.1f%% of the vocabulary",
                    " and the unlabelled reviews" if "unlabelled" in splits else "", 100 * share)
    if model.config.normalize_embeddings:
        model.lstm.set_token_frequencies(token_counts(text, len(tokenizer)))
    if getattr(model, "ngrams", None) is not None:
        found["ngram_channel"] = fit_ngram_channel(model, splits)
        model.ngrams.requires_grad_(False)  # fitted, then fixed
        logger.info("n-gram channel fitted (NBSVM, C %s): validation accuracy %.4f alone",
                    found["ngram_channel"]["C"], found["ngram_channel"]["validation_accuracy"])
    return found


def training_text(splits):
    """The token ids a run learns word statistics from: the training split, and the unlabelled reviews if any."""
    if "unlabelled" not in splits:
        return splits["train"]
    return datasets.concatenate_datasets([splits[name].select_columns(["input_ids"]) for name in ("train", "unlabelled")])


def token_counts(dataset, vocab_size):
    """How often each vocabulary id occurs in `dataset`'s `input_ids` (vocab_size,)."""
    counts = np.zeros(vocab_size, dtype=np.int64)
    for batch in dataset.select_columns(["input_ids"]).iter(batch_size=5000):
        counts += np.bincount(np.concatenate([np.asarray(ids, dtype=np.int64) for ids in batch["input_ids"]] or [[]]),
                              minlength=vocab_size)[:vocab_size]
    return counts


def build_trainer(model, tokenizer, splits, label_names, unlabelled, training_args, started):
    """The `LSTMTrainer` of a run, with its collator, metrics and callbacks; `unlabelled`: the reviews whose batches
    the training objectives read, or None."""
    language_modeling = isinstance(model, LSTMForCausalLM)
    callbacks = [CheckpointCompleteCallback(), ElapsedTimeCallback(started)]
    return LSTMTrainer(
        model=model,
        args=training_args,
        train_dataset=splits["train"],
        eval_dataset=splits["validation"],
        processing_class=tokenizer,
        data_collator=(
            DataCollatorForLanguageModeling(tokenizer, mlm=False) if language_modeling
            else DataCollatorWithPadding(tokenizer)
        ),
        compute_metrics=(None if language_modeling
                         else build_compute_metrics(label_names, decision_thresholds(model.config))),
        callbacks=callbacks,
        unlabelled_dataset=unlabelled,
    )


def run_files(trainer, model_args, data_args, splits, scored, embedding_start, started, argv, base, distilled=None,
              warning=None):
    """The files a run writes beside its model: the card, all_results.json, log_history.json, the training curves;
    `distilled`: the teachers' test scores and the student's agreement with them (`distillation.teacher_report`)."""
    args = trainer.args
    elapsed = time.time() - started
    results = {
        "validation" if data_args.task == "language_modeling" else "test": scored,
        "best_validation": {
            "metric": args.metric_for_best_model,
            "value": trainer.state.best_metric,
            "checkpoint": Path(trainer.state.best_model_checkpoint or "").name or None,  # inside the output folder
        },
        "wall_time_s": round(elapsed, 1),  # data preparation, training, test and plots
        "device": str(args.device),
        "world_size": args.world_size,
        "cpu_threads": torch.get_num_threads(),
        **embedding_start,
        "distillation": distilled,
    }
    card = build_model_card(
        trainer.model.config,
        data_args,
        args,
        splits,
        scored,
        (args.metric_for_best_model, trainer.state.best_metric),
        elapsed,
        " ".join(["python scripts/train.py", *(sys.argv[1:] if argv is None else argv)]),
        base_model=hub_revision(model_args.model_name_or_path, base),
        distilled=distilled,
        word2vec=embedding_start["word2vec_vocabulary_share"] is not None,
        warning=warning,
    )
    return {
        "README.md": card,
        "all_results.json": json.dumps(results, indent=2),
        "log_history.json": json.dumps(trainer.state.log_history, indent=2),
        "training_curves.png": training_curves_png(
            trainer.state.log_history, args.metric_for_best_model, Path(args.output_dir).name
        ),
    }


class Stopped(Exception):
    """Training stopped by the user (Ctrl-C); the message says how to go on."""

    def __init__(self, output_dir):
        last = last_complete_checkpoint(output_dir, remove_partial=False) if Path(output_dir).is_dir() else None
        how = (f"its last complete checkpoint is {last}; continue it with the same command and --resume true" if last
               else "no checkpoint was complete yet; run the command again to start over")
        super().__init__(f"stopped (Ctrl-C): {how}")


def main(argv=None):
    """The command line: a bad argument or bad data ends with one `error: ...` line and exit status 1, written once
    however many processes were launched (by the main one)."""
    main_process = int(os.environ.get("RANK", "0")) == 0
    logging.basicConfig(format="%(message)s", level=logging.WARNING)  # other libraries: warnings only
    logging.getLogger("hf_lstm").setLevel(logging.INFO if main_process else logging.WARNING)
    try:
        run(argv)
    except Stopped as stopped:
        if main_process:
            logger.warning("%s", stopped)
        raise SystemExit(130) from None  # the shell's status for a run stopped by Ctrl-C
    except (ArgumentError, DataError, HubError, ModelFolderError, OutputFolderError, ResumeError,
            TeacherError) as error:
        raise SystemExit(f"error: {error}" if main_process else 1) from None
    except SystemExit as error:
        if isinstance(error.code, str):
            raise SystemExit(f"error: {error.code}" if main_process else 1) from None
        raise
