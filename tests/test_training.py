import errno
import glob
import json
import math
import shutil
import signal
import time
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import psutil
import pytest
import torch
from huggingface_hub import ModelCard
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    pipeline,
)

import hf_lstm  # noqa: F401  (registers the Auto classes)
from hf_lstm import LSTMForSequenceClassification, arguments, training
from hf_lstm.arguments import ArgumentError
from hf_lstm.data import prepare_data
from hf_lstm.output_folder import OutputFolderError
from hf_lstm.prediction import load_classifier, predict
from hf_lstm.output_folder import save_final_model
from hf_lstm.trainer import ResumeError
from hf_lstm.training import init_head_bias_from_labels, parse_arguments, run

from .conftest import save_tiny_model, tiny_config

TINY = ["configs/tiny.yaml", "--num_train_epochs", "1", "--save_total_limit", "1"]


def test_config_file_values_are_defaults_and_command_line_overrides():
    model_args, data_args, training_args = parse_arguments(
        ["configs/tiny.yaml", "--hidden_size", "24", "--output_dir", "elsewhere"]
    )
    assert model_args.hidden_size == 24 and model_args.embedding_dim == 16  # flag beats file; file beats default
    assert data_args.max_train_samples == 320 and training_args.output_dir == "elsewhere"
    assert training_args.learning_rate == 2e-3  # the LSTM default, not Trainer's 5e-5


@pytest.mark.parametrize("fast", [False, True])
def test_bf16_defaults_to_on_only_where_it_is_fast_and_can_be_turned_off(monkeypatch, fast):
    monkeypatch.setattr(arguments, "fast_bf16_available", lambda: fast)
    assert parse_arguments(["configs/tiny.yaml"])[2].bf16 is fast
    assert parse_arguments(["configs/tiny.yaml"])[2].mixed_precision == ("bf16" if fast else "no")
    assert parse_arguments(["configs/tiny.yaml", "--bf16", "false"])[2].bf16 is False


@pytest.mark.parametrize("path", sorted(glob.glob("configs/**/*.yaml", recursive=True)))
def test_every_shipped_config_parses_and_names_its_own_output_folder(path):
    _, data_args, training_args = parse_arguments([path])
    name = os.path.splitext(os.path.basename(path))[0]
    assert training_args.output_dir.endswith(name) and os.path.exists(data_args.dataset_name)


@pytest.mark.parametrize("argument, way", [
    (["--do_train"], "always trains"), (["--do_predict", "true"], "scripts/predict.py"),
    (["--resume_from_checkpoint", "outputs/x/checkpoint-5"], "use --resume true"),
    (["--push_to_hub", "true"], "use --push_to_hub_dir HUB --hub_model_id org/name"),
])
def test_training_arguments_the_script_would_ignore_are_refused_naming_the_projects_way(argument, way):
    with pytest.raises(ArgumentError, match=f"--{argument[0][2:]} is not supported: .*{way}"):
        parse_arguments(["configs/tiny.yaml", *argument])


def test_run_classification_names_are_aliases_on_the_command_line_and_in_config_files(tmp_path):
    _, data_args, _ = parse_arguments(["configs/tiny.yaml", "--text_column_names", "title", "body",
                                          "--label_column_name", "stars", "--max_seq_length", "128"])
    assert (data_args.text_columns, data_args.label_column, data_args.max_length) == (["title", "body"], "stars", 128)
    config = tmp_path / "aliases.yaml"
    config.write_text("label_column_name: stars\nmax_seq_length: 99\noutput_dir: x\n")
    _, data_args, _ = parse_arguments([str(config)])
    assert (data_args.label_column, data_args.max_length) == ("stars", 99)


def test_a_data_error_ends_the_script_with_one_error_line(tmp_path):
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("review,sentiment\n" + "".join(f"review {i},{('good', 'bad')[i % 2]}\n" for i in range(30)))
    result = subprocess.run([sys.executable, "scripts/train.py", "configs/tiny.yaml", "--dataset_name", str(reviews),
                             "--text_columns", "review", "--label_column", "rating", "--output_dir",
                             str(tmp_path / "m"), "--cache_dir", str(tmp_path / "cache")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {reviews} [train]: label column 'rating' not found")


def test_a_csv_with_string_labels_trains_with_class_names_from_the_training_split(tmp_path):
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("review,sentiment\n" + "".join(
        f"{('a fine film', 'a dull film')[i % 2]} number {i},{('positive', 'negative')[i % 2]}\n" for i in range(80)))
    run(["configs/tiny.yaml", "--dataset_name", str(reviews), "--text_columns", "review", "--label_column",
         "sentiment", "--num_train_epochs", "1", "--output_dir", str(tmp_path / "m"), "--cache_dir", str(tmp_path / "c")])
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "m")
    assert model.config.id2label == {0: "negative", 1: "positive"}


def test_head_bias_starts_at_the_label_mean_or_the_log_class_shares():
    regression = LSTMForSequenceClassification(tiny_config(num_labels=1, problem_type="regression"))
    init_head_bias_from_labels(regression, [5.0, 4.0, 4.0, 3.0, 5.0], "regression")
    assert regression.classifier.bias.tolist() == pytest.approx([4.2])
    ratings = LSTMForSequenceClassification(tiny_config(num_labels=3))
    init_head_bias_from_labels(ratings, [2, 2, 2, 0], "classification")  # class 1 never seen: counted as once
    assert ratings.classifier.bias.tolist() == pytest.approx([math.log(1 / 5), math.log(1 / 5), math.log(3 / 5)])
    assert ratings.classifier.bias.softmax(-1).tolist() == pytest.approx([0.2, 0.2, 0.6])


def test_unknown_config_field_is_refused(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("hiden_size: 3\n")
    with pytest.raises(ArgumentError, match="unknown field in .*bad.yaml: hiden_size; did you mean hidden_size"):
        parse_arguments([str(config)])


def test_tiny_run_saves_a_model_that_reloads_with_the_auto_classes(tmp_path):
    output_dir = tmp_path / "model"
    trainer, metrics = run(TINY + ["--output_dir", str(output_dir), "--cache_dir", str(tmp_path / "cache")])
    results = json.loads((output_dir / "all_results.json").read_text())
    for name in ("config.json", "model.safetensors", "tokenizer.json", "test_results.json", "training_args.json"):
        assert (output_dir / name).is_file(), name
    assert not list(output_dir.glob("*.bin"))  # no pickle in what users download
    assert json.loads((output_dir / "training_args.json").read_text())["learning_rate"] == 2e-3
    assert json.loads((output_dir / "test_results.json").read_text())["test_accuracy"] == metrics["test_accuracy"]
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_loss"] > 0
    elapsed = [entry["elapsed_s"] for entry in json.loads((output_dir / "log_history.json").read_text())]
    assert elapsed == sorted(elapsed) and 0 < elapsed[-1] <= results["wall_time_s"]

    model = AutoModelForSequenceClassification.from_pretrained(output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    assert model.config.id2label == {0: "neg", 1: "pos"}
    trained = trainer.model.state_dict()  # (its forward may run under the Trainer's bf16 autocast; compare weights)
    assert all(torch.equal(tensor, trained[name]) for name, tensor in model.state_dict().items())
    batch = tokenizer(["a great film", "dull and far too long, i left"], padding=True, return_tensors="pt")
    with torch.no_grad():
        assert model(**batch).logits.shape == (2, 2)


STOCK_PIPELINE_WITHOUT_THE_PACKAGE = """
import json, sys
sys.modules["hf_lstm"] = None  # not importable: only stock transformers and the folder's own code
from transformers import pipeline
classifier = pipeline("text-classification", model=sys.argv[1], trust_remote_code=True, top_k=None)
print(json.dumps(classifier(json.load(open(sys.argv[2])))))
"""


def as_scored(outputs, regression):
    """Stock pipeline outputs (top_k=None) in the shape of test_predictions.jsonl."""
    if regression:
        return [{"rating": scores[0]["score"]} for scores in outputs]
    return [{"label": scores[0]["label"], "probabilities": {s["label"]: s["score"] for s in scores}} for scores in outputs]


def assert_same_predictions(got, scored):
    assert len(got) == len(scored)
    for row, (mine, theirs) in enumerate(zip(got, scored)):
        if "rating" in theirs:
            assert mine["rating"] == pytest.approx(theirs["rating"], abs=1e-5), row
        else:
            assert mine["label"] == theirs["label"], row
            assert mine["probabilities"] == pytest.approx(theirs["probabilities"], abs=1e-5), row


NGRAMS = ["--ngram_orders", "1", "2", "3", "--ngram_buckets", "4096"]


@pytest.mark.parametrize("truncation,task,extra", [("head_tail", "classification", []), ("head", "regression", []),
                                                   ("head_tail", "classification", NGRAMS)],
                         ids=["classification", "regression", "ngram-channel"])
def test_the_saved_model_predicts_exactly_what_the_training_run_scored(tmp_path, truncation, task, extra):
    output_dir = tmp_path / "model"
    arguments = TINY + extra + ["--output_dir", str(output_dir), "--cache_dir", str(tmp_path / "cache"),
                                "--truncation", truncation, "--max_length", "24", "--task", task]
    if task == "regression":
        arguments += ["--metric_for_best_model", "rmse", "--greater_is_better", "false"]
    _, metrics = run(arguments)
    splits, _, _ = prepare_data(parse_arguments(arguments)[1])
    texts, labels = list(splits["test"]["text"]), list(splits["test"]["labels"])
    assert sum(len(text.split()) > 24 for text in texts) > 100  # nearly every test review is cut
    scored = [json.loads(line) for line in (output_dir / "test_predictions.jsonl").read_text().splitlines()]
    assert [row["row"] for row in scored] == splits["test"]["row"]  # each review's row in the test split's source
    gold = [("neg", "pos")[label] if task == "classification" else label for label in labels]
    assert [row["gold"] for row in scored] == pytest.approx(gold) if task == "regression" else gold
    if task == "classification":  # the file holds what test_results.json scored
        accuracy = sum(row["label"] == ("neg", "pos")[label] for row, label in zip(scored, labels)) / len(labels)
        assert accuracy == pytest.approx(metrics["test_accuracy"])
    regression = task == "regression"

    classifier = pipeline("text-classification", model=str(output_dir), top_k=None)
    assert_same_predictions(as_scored(classifier(texts), regression), scored)
    assert_same_predictions(as_scored(classifier(texts, truncation=True), regression), scored)
    assert_same_predictions(predict(load_classifier(str(output_dir)), texts), scored)

    (tmp_path / "texts.json").write_text(json.dumps(texts))
    command = [sys.executable, "-c", STOCK_PIPELINE_WITHOUT_THE_PACKAGE, str(output_dir), str(tmp_path / "texts.json")]
    result = subprocess.run(command, capture_output=True, text=True, cwd="/", timeout=300,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert_same_predictions(as_scored(json.loads(result.stdout), regression), scored)


def test_existing_trained_model_is_not_overwritten(tmp_path):
    output_dir = tmp_path / "model"
    output_dir.mkdir()
    (output_dir / "config.json").write_text('{"model_type": "hf_lstm"}')
    (output_dir / "model.safetensors").write_bytes(b"precious")
    with pytest.raises(OutputFolderError, match="already holds a trained model"):
        run(TINY + ["--output_dir", str(output_dir)])
    assert (output_dir / "model.safetensors").read_bytes() == b"precious"


def test_overwriting_replaces_every_result_file_of_the_old_run(tmp_path, monkeypatch):
    calls = []
    original = training.init_head_bias_from_labels
    monkeypatch.setattr(training, "init_head_bias_from_labels", lambda *args: calls.append(args) or original(*args))
    output_dir = tmp_path / "model"
    output_dir.mkdir()
    (output_dir / "config.json").write_text('{"model_type": "hf_lstm"}')
    for name in ("model.safetensors", "all_results.json", "test_results.json", "log_history.json"):
        (output_dir / name).write_text('{"old": true}')
    _, metrics = run(TINY + ["--output_dir", str(output_dir), "--cache_dir", str(tmp_path / "cache"),
                             "--overwrite_output_dir", "true", "--word2vec_epochs", "1", "--head_bias_from_labels", "true"])
    (model, labels, task), = calls  # the bias start is wired in, with the training split's labels
    assert len(labels) == 320 and task == "classification"
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["test"] == metrics and 0.5 < results["word2vec_vocabulary_share"] <= 1.0
    assert json.loads((output_dir / "test_results.json").read_text()) == metrics
    assert "old" not in json.loads((output_dir / "log_history.json").read_text())


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


LAUNCH_ENV = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}


def two_process_launch(train_args, output_dir, cache_dir):
    """The command of a 2-process DDP launch of scripts/train.py on this CPU-only machine."""
    return [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(free_port()), "scripts/train.py", *train_args,
        "--output_dir", str(output_dir), "--cache_dir", str(cache_dir),
    ]


def test_two_process_cpu_launch_trains_on_both_ranks(tmp_path):
    output_dir = tmp_path / "ddp"
    command = two_process_launch(TINY, output_dir, tmp_path / "cache")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=LAUNCH_ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["world_size"] == 2
    # 320 reviews, 32 per rank: two ranks take 64 a step, so one epoch is 5 steps (one process would take 10)
    (checkpoint,) = output_dir.glob("checkpoint-*")
    assert json.loads((checkpoint / "trainer_state.json").read_text())["global_step"] == 5
    model = AutoModelForSequenceClassification.from_pretrained(output_dir)
    assert model.config.model_type == "hf_lstm"


ONE_STEP = [  # one optimiser step on the same 32 reviews, in order, with nothing random in the model
    "configs/tiny.yaml", "--max_steps", "1", "--logging_strategy", "steps", "--logging_steps", "1",
    "--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false", "--bf16", "false",
    "--train_sampling_strategy", "sequential", "--dataloader_num_workers", "0",
]


def first_step(output_dir):
    (entry, *_) = json.loads((output_dir / "log_history.json").read_text())
    return entry["loss"], entry["grad_norm"]


SEMI_SUPERVISED = [  # every loss term on, the unlabelled reviews read
    "--unlabelled_data", "unsupervised", "--max_unlabelled_samples", "200", "--normalize_embeddings", "true",
    "--virtual_adversarial_epsilon", "2", "--entropy_weight", "0.5",
]


@pytest.mark.parametrize("terms", [[], SEMI_SUPERVISED, "distilled", NGRAMS],
                         ids=["supervised", "semi-supervised", "distilled", "ngrams"])
def test_loss_and_gradient_are_the_same_for_one_process_two_processes_and_accumulation(tmp_path, terms, tokenizer):
    cache = tmp_path / "cache"
    if terms == "distilled":  # every term on, and two teachers' outputs on the labelled and unlabelled reviews
        teachers = [str(save_tiny_model(tmp_path / f"teacher_{seed}", tokenizer, seed=seed)) for seed in (0, 1)]
        terms = SEMI_SUPERVISED + ["--teacher_model_name_or_path", *teachers, "--distillation_alpha", "0.4"]
    run(ONE_STEP + terms + ["--per_device_train_batch_size", "32", "--output_dir", str(tmp_path / "one"),
                            "--cache_dir", str(cache)])
    run(ONE_STEP + terms + ["--per_device_train_batch_size", "16", "--gradient_accumulation_steps", "2",
                            "--output_dir", str(tmp_path / "accumulated"), "--cache_dir", str(cache)])
    command = two_process_launch(ONE_STEP + terms + ["--per_device_train_batch_size", "16"], tmp_path / "ddp", cache)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=LAUNCH_ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    loss, grad_norm = first_step(tmp_path / "one")
    (entry, *_) = json.loads((tmp_path / "one" / "log_history.json").read_text())
    named = [entry[name] for name in entry if name.startswith("loss_")]
    if terms and terms[:1] != NGRAMS[:1]:  # every term on: each logged, and the loss is their sum
        assert len(named) >= (4 if "--teacher_model_name_or_path" in terms else 3) and all(named)
        assert loss == pytest.approx(sum(named), abs=2e-3)
    else:  # the head's loss alone (with a channel: the encoder's, the fitted channel left out)
        assert 0.5 < loss < 1.0 and not named
    assert grad_norm > 0
    for other in ("accumulated", "ddp"):
        other_loss, other_grad_norm = first_step(tmp_path / other)
        assert other_loss == pytest.approx(loss, abs=1e-5), other
        assert other_grad_norm == pytest.approx(grad_norm, abs=1e-5), other


RESUMABLE = [
    "scripts/train.py", "configs/tiny.yaml", "--max_train_samples", "2000", "--per_device_train_batch_size", "16",
    "--num_train_epochs", "3", "--save_total_limit", "5", "--dataloader_num_workers", "0",
]


def train_process(output_dir, cache, *extra):
    return subprocess.Popen([sys.executable, *RESUMABLE, "--output_dir", str(output_dir), "--cache_dir", str(cache),
                             *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for(path, process, timeout=300):
    deadline = time.time() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read()[-3000:]
        assert time.time() < deadline
        time.sleep(0.02)


def finish(process):
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]


@pytest.mark.parametrize("extra", [[], NGRAMS], ids=["plain", "ngram-channel"])
def test_kill_9_mid_epoch_then_resume_equals_an_uninterrupted_run(tmp_path, extra):
    cache = tmp_path / "cache"
    finish(train_process(tmp_path / "straight", cache, *extra))

    interrupted = tmp_path / "interrupted"
    process = train_process(interrupted, cache, *extra)
    wait_for(interrupted / "checkpoint-125" / "checkpoint_complete", process)  # epoch 1 saved
    time.sleep(0.3)  # into epoch 2
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert not (interrupted / "model.safetensors").exists() and not (interrupted / "checkpoint-375").exists()
    # a checkpoint killed while being written: a newer folder without the completion marker
    shutil.copytree(interrupted / "checkpoint-125", interrupted / "checkpoint-300")
    (interrupted / "checkpoint-300" / "checkpoint_complete").unlink()
    (interrupted / "checkpoint-300" / "model.safetensors").write_bytes(b"truncat")

    finish(train_process(interrupted, cache, *extra, "--resume", "true"))
    assert (interrupted / "model.safetensors").read_bytes() == (tmp_path / "straight" / "model.safetensors").read_bytes()
    results = [json.loads((d / "test_results.json").read_text()) for d in (interrupted, tmp_path / "straight")]
    assert results[0]["test_loss"] == results[1]["test_loss"] and results[0]["test_accuracy"] == results[1]["test_accuracy"]


def test_a_run_that_reads_unlabelled_reviews_logs_each_term_and_resumes_exactly(tmp_path):
    arguments = TINY + SEMI_SUPERVISED + ["--num_train_epochs", "2", "--save_total_limit", "3", "--logging_steps", "2",
                                          "--cache_dir", str(tmp_path / "cache"), "--report_to", "none"]
    straight = tmp_path / "straight"
    run(arguments + ["--output_dir", str(straight)])
    history = json.loads((straight / "log_history.json").read_text())
    logged = [entry for entry in history if "loss" in entry]
    for term in ("loss_supervised", "loss_virtual_adversarial", "loss_entropy"):
        assert all(entry[term] > 0 for entry in logged), term
    # an interrupted run: only the first epoch's checkpoint is there; --resume continues it
    interrupted = tmp_path / "interrupted"
    interrupted.mkdir()
    first = min(straight.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
    shutil.copytree(first, interrupted / first.name)
    run(arguments + ["--output_dir", str(interrupted), "--resume", "true"])
    assert (interrupted / "model.safetensors").read_bytes() == (straight / "model.safetensors").read_bytes()
    model = AutoModelForSequenceClassification.from_pretrained(straight)
    assert model.config.normalize_embeddings and model.lstm.token_frequencies.sum() > 0
    assert ("also 200 unlabelled reviews (word frequencies of the normalised embeddings, virtual adversarial "
            "training, entropy minimisation;") in (straight / "README.md").read_text()


def test_unlabelled_reviews_read_by_word2vec_alone_feed_its_vectors_and_no_training_step(tmp_path, monkeypatch):
    learned = []
    original = training.train_word2vec_embeddings
    monkeypatch.setattr(training, "train_word2vec_embeddings",
                        lambda model, tokenizer, text, *args, **kwargs: learned.append(len(text))
                        or original(model, tokenizer, text, *args, **kwargs))
    output_dir = tmp_path / "model"
    trainer, _ = run(TINY + ["--unlabelled_data", "unsupervised", "--max_unlabelled_samples", "200", "--word2vec_epochs",
                             "1", "--logging_steps", "5", "--output_dir", str(output_dir), "--cache_dir", str(tmp_path / "cache")])
    assert learned == [320 + 200]  # the training split and the unlabelled reviews
    assert isinstance(trainer.train_dataset, datasets.Dataset)  # no term reads a batch of them
    logged = [entry for entry in json.loads((output_dir / "log_history.json").read_text()) if "loss" in entry]
    assert logged and all(set(entry) & {"loss_entropy", "loss_virtual_adversarial"} == set() for entry in logged)
    assert "also 200 unlabelled reviews (word2vec; never validation or test text)" in (output_dir / "README.md").read_text()


def test_resume_without_rng_state_is_refused_unless_inexact_is_allowed(tmp_path):
    output_dir, cache = tmp_path / "run", tmp_path / "cache"
    process = train_process(output_dir, cache, "--num_train_epochs", "2")
    finish(process)
    for path in output_dir.iterdir():  # keep only the checkpoints: as if killed before the end
        if path.is_file():
            path.unlink()
    (output_dir / "checkpoint-250" / "rng_state.pth").write_bytes(b"PK\x03\x04trunc")
    with pytest.raises(ResumeError, match=r"checkpoint-250/rng_state.pth: RNG state missing or damaged"):
        run(RESUMABLE[1:] + ["--output_dir", str(output_dir), "--cache_dir", str(cache), "--resume", "true"])
    (output_dir / "checkpoint-250" / "rng_state.pth").unlink()
    with pytest.raises(ResumeError, match="--allow_inexact_resume"):
        run(RESUMABLE[1:] + ["--output_dir", str(output_dir), "--cache_dir", str(cache), "--resume", "true"])
    run(RESUMABLE[1:] + ["--output_dir", str(output_dir), "--cache_dir", str(cache), "--resume", "true",
                         "--allow_inexact_resume", "true"])
    assert (output_dir / "model.safetensors").is_file()


def test_ctrl_c_says_which_checkpoint_to_resume_and_a_changed_shape_is_refused_naming_the_option(tmp_path):
    output_dir, cache = tmp_path / "run", tmp_path / "cache"
    process = train_process(output_dir, cache)
    wait_for(output_dir / "checkpoint-125" / "checkpoint_complete", process)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr
    assert (f"\nstopped (Ctrl-C): its last complete checkpoint is {output_dir}/checkpoint-125; continue it with the "
            "same command and --resume true\n") in stderr  # a line of its own
    with pytest.raises(ResumeError, match=r"checkpoint-125 holds a model with hidden_size 16, this run asks for 32; "
                                          r"resume with the --hidden_size it was trained with"):
        run(RESUMABLE[1:] + ["--output_dir", str(output_dir), "--cache_dir", str(cache), "--resume", "true",
                             "--hidden_size", "32"])


class DiskFullTrainer:
    """Stands in for a Trainer whose disk fills up half-way through saving the model."""

    def save_model(self, path):
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "model.safetensors"), "wb") as handle:
            handle.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    def is_world_process_zero(self):
        return True


def test_disk_full_while_saving_leaves_the_previous_model_intact(tmp_path):
    output_dir = tmp_path / "model"
    output_dir.mkdir()
    (output_dir / "model.safetensors").write_bytes(b"good model")
    with pytest.raises(SystemExit, match="No space left on device.*model is unchanged"):
        save_final_model(DiskFullTrainer(), output_dir, {"README.md": "card"})
    assert (output_dir / "model.safetensors").read_bytes() == b"good model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no half-written folder left beside it


def test_two_process_launch_fails_fast_when_one_process_dies(tmp_path):
    command = two_process_launch(["configs/tiny.yaml", "--num_train_epochs", "1000"], tmp_path / "ddp", tmp_path / "cache")
    launcher = subprocess.Popen(command, env=LAUNCH_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(tmp_path / "ddp" / "checkpoint-5" / "checkpoint_complete", launcher)  # both ranks are training
        workers = [p for p in psutil.Process(launcher.pid).children(recursive=True) if "train.py" in " ".join(p.cmdline())]
        assert len(workers) == 2
        workers[-1].kill()
        started = time.time()
        _, stderr = launcher.communicate(timeout=120)
        assert launcher.returncode != 0
        assert time.time() - started < 120
        assert not any(worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE for worker in workers)
    finally:
        if launcher.poll() is None:
            for child in psutil.Process(launcher.pid).children(recursive=True):
                child.kill()
            launcher.kill()


def test_a_model_started_from_a_saved_one_has_its_encoder_and_vocabulary_and_a_new_head(tmp_path, tokenizer):
    from .conftest import save_tiny_model

    base = save_tiny_model(tmp_path / "base", tokenizer)  # 2 classes
    model_args, data_args, _ = parse_arguments(["configs/tiny.yaml", "--model_name_or_path", str(base),
                                                   "--dropout", "0.3"])  # tiny.yaml's shape gives way to base's
    model = training.build_model(model_args, data_args, tokenizer, ["a", "b", "c"], base=str(base))
    original = LSTMForSequenceClassification.from_pretrained(base)
    assert model.config.hidden_size == original.config.hidden_size  # the shape is the saved model's
    assert model.config.dropout == 0.3 and model.config.num_labels == 3  # regularisation and labels are this run's
    assert all(torch.equal(tensor, original.lstm.state_dict()[name]) for name, tensor in model.lstm.state_dict().items())
    assert model.classifier.weight.shape == (3, original.classifier.weight.shape[1])  # a new head for 3 classes
    same_labels = training.build_model(model_args, data_args, tokenizer, ["neg", "pos"], base=str(base))
    assert torch.equal(same_labels.classifier.weight, original.classifier.weight)  # continued: the head is kept


def test_training_from_a_hub_revision_reuses_its_tokenizer_and_names_it_as_base_model(tmp_path):
    from hf_lstm.hub import push

    base, cache = tmp_path / "base", tmp_path / "cache"
    run(TINY + ["--output_dir", str(base), "--cache_dir", str(cache)])
    revision = push(base, "team/imdb-tiny", tmp_path / "hub", tag="v1")
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("review,stars\n" + "".join(
        f"{('a great film', 'a dull film', 'an odd film')[i % 3]} number {i},{i % 3 + 1}\n" for i in range(90)))
    output_dir = tmp_path / "stars"
    run(["configs/tiny.yaml", "--dataset_name", str(reviews), "--text_columns", "review", "--label_column", "stars",
         "--num_train_epochs", "1", "--model_name_or_path", "team/imdb-tiny@v1", "--hub_dir", str(tmp_path / "hub"),
         "--output_dir", str(output_dir), "--cache_dir", str(cache)])
    assert (output_dir / "tokenizer.json").read_text() == (base / "tokenizer.json").read_text()
    card = ModelCard.load(output_dir / "README.md").data
    assert (card.base_model, card.base_model_revision) == ("team/imdb-tiny", revision)  # @v1 pinned as its id
    assert AutoModelForSequenceClassification.from_pretrained(output_dir).config.id2label == {0: "1", 1: "2", 2: "3"}
    with pytest.raises(ArgumentError, match="--model_name_or_path brings its own embedding"):
        run(TINY + ["--model_name_or_path", str(base), "--word2vec_epochs", "2", "--output_dir", str(tmp_path / "x")])


def test_pretrain_a_two_way_language_model_then_start_a_classifier_from_it(tmp_path):
    lm_dir = tmp_path / "lm"
    _, metrics = run(["configs/tiny_lm.yaml", "--max_train_samples", "100", "--output_dir", str(lm_dir),
                      "--cache_dir", str(tmp_path / "cache")])
    assert metrics["validation_perplexity"] == pytest.approx(math.exp(metrics["validation_loss"]))
    assert json.loads((lm_dir / "eval_results.json").read_text()) == metrics
    assert not (lm_dir / "test_results.json").exists()  # a language model never reads test text
    assert ModelCard.load(lm_dir / "README.md").data.pipeline_tag == "feature-extraction"  # two-way: no generation
    lm = AutoModelForCausalLM.from_pretrained(lm_dir)
    assert type(lm).__name__ == "LSTMForCausalLM" and lm.config.separate_directions
    best = json.loads((lm_dir / "all_results.json").read_text())["best_validation"]
    assert best["metric"] == "loss" and best["value"] == pytest.approx(metrics["validation_loss"], rel=0.01)  # bf16

    model_args, data_args, _ = parse_arguments(["configs/tiny.yaml", "--model_name_or_path", str(lm_dir)])
    tokenizer = AutoTokenizer.from_pretrained(lm_dir)
    classifier = training.build_model(model_args, data_args, tokenizer, ["neg", "pos"], base=str(lm_dir))
    encoder = classifier.lstm.state_dict()
    assert all(torch.equal(tensor, encoder[name]) for name, tensor in lm.lstm.state_dict().items())  # weights equal
    assert classifier.config.separate_directions and classifier.classifier.weight.shape[0] == 2  # a new head


def test_the_folder_of_the_users_notes_and_data_is_refused_before_anything_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "prepare_data", lambda *args: pytest.fail("data prepared before the check"))
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "notes.txt").write_text("notes")
    shutil.copy("data/imdb/README.md", exp / "bin.csv")
    with pytest.raises(OutputFolderError, match=r"--output_dir .*exp is not empty and holds no hf_lstm model \(bin.csv, "
                                                 r"notes.txt\)"):
        run(TINY + ["--output_dir", str(exp)])
    assert sorted(p.name for p in exp.iterdir()) == ["bin.csv", "notes.txt"]
    config = os.path.abspath("configs/tiny.yaml")
    monkeypatch.chdir(exp)
    with pytest.raises(OutputFolderError, match="current folder or one above it"):
        run([config, "--output_dir", "."])  # it trained, then failed in the final save: the model was lost


def test_a_data_error_under_two_processes_is_written_once(tmp_path):
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("review,sentiment\n" + "".join(f"review {i},{('good', 'bad')[i % 2]}\n" for i in range(30)))
    command = two_process_launch(["configs/tiny.yaml", "--dataset_name", str(reviews), "--text_columns", "review",
                                  "--label_column", "rating"], tmp_path / "m", tmp_path / "cache")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=LAUNCH_ENV)
    assert result.returncode != 0
    assert result.stderr.count("label column 'rating' not found") == 1, result.stderr[-3000:]


def test_learned_nothing_names_one_class_answers_and_scores_no_better_than_the_majority():
    splits = {"train": {"labels": [0, 0, 1, 1]}, "test": {"labels": [0, 0, 0, 1]}}
    names = ["neg", "pos"]
    one_class = training.learned_nothing(np.array([[1.0, 0.0]] * 4), splits, names)
    assert one_class.startswith("it predicts 'neg' for every test review: it learned nothing from its labels")
    poor = training.learned_nothing(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]), splits, names)
    assert poor.startswith("its test accuracy 0.5000 is no better than always answering the majority class 'neg' "
                           "(0.7500)") and "configs/small.yaml" in poor
    assert training.learned_nothing(np.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]]), splits, names) is None
    ratings = {"train": {"labels": [1.0, 5.0]}, "test": {"labels": [2.0, 4.0]}}
    assert training.learned_nothing(np.array([[1.0], [5.0]]), ratings, None).startswith(
        "its test RMSE 1.0000 is no lower than always answering the mean rating 3.00 (1.0000)")
    assert training.learned_nothing(np.array([[2.0], [4.0]]), ratings, None) is None


def test_a_run_ends_with_one_line_saying_where_which_epoch_and_how_it_compares(tmp_path, caplog):
    output_dir = tmp_path / "model"
    with caplog.at_level("INFO", logger="hf_lstm"):
        run(TINY + ["--num_train_epochs", "2", "--output_dir", str(output_dir), "--cache_dir", str(tmp_path / "cache")])
    summary = next(record.getMessage() for record in caplog.records if "saved; epoch" in record.getMessage())
    assert re.fullmatch(rf"{output_dir}: saved; epoch [12] of 2 kept, validation accuracy 0\.\d{{4}} \(always "
                        r"answering the majority class '(neg|pos)': accuracy 0\.\d{4}\); test accuracy 0\.\d{4}",
                        summary), summary
    results = json.loads((output_dir / "all_results.json").read_text())
    assert re.fullmatch(r"checkpoint-\d+", results["best_validation"]["checkpoint"])  # inside the folder, not a path
    assert {path.stat().st_mode & 0o777 for path in output_dir.iterdir() if path.is_file()} == {0o644}  # umask 022
    from hf_lstm.output_folder import RUN_FILES  # the one list of what a run writes, which an overwrite replaces

    assert {path.name for path in output_dir.iterdir() if path.is_file()} <= set(RUN_FILES)


ROOT = Path(__file__).resolve().parent.parent


def test_the_readmes_own_data_command_learns_from_300_rows(tmp_path):
    """The README's first own-data command, run as written on a 300-row CSV whose labels its words decide: far above
    the majority share (configs/imdb.yaml takes 8 optimiser steps there and answers the majority class)."""
    import random

    rng = random.Random(0)
    filler = "the a film movie plot actor scene story it was and very quite rather".split()
    good, bad = "great wonderful superb moving brilliant".split(), "awful dull boring terrible weak".split()
    rows = []
    for i in range(300):
        label = ["neg", "pos"][i % 5 < 3]  # 180 pos, 120 neg
        words = rng.choices(filler, k=rng.randint(6, 20)) + [rng.choice(good if label == "pos" else bad)]
        rng.shuffle(words)
        rows.append(f"{' '.join(words)},{label}\n")
    (tmp_path / "reviews.csv").write_text("text,label\n" + "".join(rows))
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^python scripts/train.py (configs/small.yaml .*)$", readme, re.M).group(1).split()
    arguments = [{"reviews.csv": str(tmp_path / "reviews.csv"), "outputs/mine": str(tmp_path / "mine")}.get(word, word)
                 for word in command]
    _, scored = run(arguments + ["--cache_dir", str(tmp_path / "cache"), "--report_to", "none"])
    assert scored["test_accuracy"] >= 0.9  # the majority share is 0.6


def write_topic_stories(path, count=400, seed=0):
    """Stories whose words decide their topics (a list column): each of three topics is in about a third of them,
    a few stories have none."""
    random = np.random.default_rng(seed)
    words = {"sports": "match goal", "politics": "vote senate", "music": "guitar concert"}
    filler = "the a of on in report said today week year city people".split()
    lines = []
    for _ in range(count):
        tags = sorted(t for t in words if random.random() < 0.35)
        body = list(random.choice(filler, 8)) + " ".join(words[t] for t in tags).split()
        random.shuffle(body)
        lines.append(json.dumps({"text": " ".join(body), "topics": tags}) + "\n")
    path.write_text("".join(lines))
    return path


def test_a_multi_label_run_answers_the_same_label_sets_every_way_and_applies_thresholds_set_in_its_config(tmp_path):
    data = write_topic_stories(tmp_path / "stories.jsonl")
    output_dir = tmp_path / "model"
    arguments = [str(data), "--dataset_name", str(data), "--label_column", "topics", "--output_dir", str(output_dir),
                 "--cache_dir", str(tmp_path / "cache"), "--embedding_dim", "16", "--hidden_size", "16",
                 "--num_train_epochs", "8", "--per_device_train_batch_size", "16", "--learning_rate", "0.01",
                 "--save_total_limit", "1"]
    config_file = tmp_path / "run.yaml"
    config_file.write_text("max_vocab_size: 100\n")
    _, metrics = run([str(config_file), *arguments[1:]])
    assert metrics["test_f1_micro"] > 0.9  # the words decide the topics
    assert {"test_f1_macro", "test_f1_samples", "test_subset_accuracy", "test_hamming_loss"} <= set(metrics)
    config = json.loads((output_dir / "config.json").read_text())
    assert config["problem_type"] == "multi_label_classification" and config.get("decision_thresholds") is None
    assert config["id2label"] == {"0": "music", "1": "politics", "2": "sports"}
    per_label = json.loads((output_dir / "test_results.json").read_text())["test_per_label"]
    assert set(per_label) == {"music", "politics", "sports"} and set(per_label["music"]) >= {"precision", "recall"}
    splits, _, _ = prepare_data(parse_arguments([str(config_file), *arguments[1:]])[1])
    texts, names = list(splits["test"]["text"]), ["music", "politics", "sports"]

    def stock_label_sets(thresholds):  # the stock pipeline's sigmoid scores, cut at each label's threshold
        stock = pipeline("text-classification", model=str(output_dir), top_k=None)(texts)
        return [[name for name, t in zip(names, thresholds) if {s["label"]: s["score"] for s in row}[name] >= t]
                for row in stock]

    scored = [json.loads(line) for line in (output_dir / "test_predictions.jsonl").read_text().splitlines()]
    assert all(set(row["gold"]) <= set(names) and "scores" in row for row in scored)
    assert any(row["gold"] == [] for row in scored)
    assert stock_label_sets([0.5] * 3) == [row["labels"] for row in scored]
    predicted = predict(load_classifier(str(output_dir)), texts)
    assert [row["labels"] for row in predicted] == [row["labels"] for row in scored]
    assert predicted[0]["scores"] == pytest.approx(scored[0]["scores"], abs=1e-5)

    thresholds = [0.02, 0.98, 0.5]  # a user's own trade of precision for recall, per label, in config.json
    (output_dir / "config.json").write_text(json.dumps(config | {"decision_thresholds": thresholds}))
    expected = stock_label_sets(thresholds)
    assert expected != [row["labels"] for row in scored]  # the thresholds change answers
    assert [row["labels"] for row in predict(load_classifier(str(output_dir)), texts)] == expected

    from hf_lstm.onnx_model import export_onnx  # the [onnx] extra
    export_onnx(output_dir, tmp_path / "onnx")
    onnx_answers = predict(load_classifier(str(tmp_path / "onnx"), backend="onnx"), texts)
    assert [row["labels"] for row in onnx_answers] == expected

    score = subprocess.run([sys.executable, "scripts/score.py", str(output_dir), str(data), "--label_column",
                            "topics", "--predictions", str(tmp_path / "scored.jsonl")], capture_output=True, text=True)
    assert score.returncode == 0, score.stderr[-2000:]
    assert {"f1_micro", "f1_macro", "f1_samples", "subset_accuracy", "hamming_loss"} <= set(json.loads(score.stdout))
    rescored = [json.loads(line) for line in (tmp_path / "scored.jsonl").read_text().splitlines()]
    by_row = {row: labels for row, labels in zip(splits["test"]["row"], expected)}  # the file's rows: test held out
    assert all(row["labels"] == by_row[row["row"]] for row in rescored if row["row"] in by_row)


def test_multi_label_data_refuses_single_label_metrics_and_one_class_terms(tmp_path):
    data = write_topic_stories(tmp_path / "stories.jsonl", count=60)
    base = ["configs/tiny.yaml", "--dataset_name", str(data), "--label_column", "topics",
            "--output_dir", str(tmp_path / "model"), "--cache_dir", str(tmp_path / "cache")]
    with pytest.raises(ArgumentError, match="--metric_for_best_model accuracy is not a multi-label metric"):
        run(base)
    with pytest.raises(ArgumentError, match="--entropy_weight reads one class a review; the data is multi-label"):
        run(base + ["--metric_for_best_model", "f1_micro", "--entropy_weight", "0.1", "--unlabelled_data", "train"])
    with pytest.raises(ArgumentError, match="--metric_for_best_model f1_micro is for multi-label data"):
        run(TINY + ["--metric_for_best_model", "f1_micro", "--output_dir", str(tmp_path / "other")])


def test_the_ngram_channel_is_fitted_then_fixed_and_the_encoder_learns_as_if_alone(tmp_path):
    arguments = TINY + ["--cache_dir", str(tmp_path / "cache"), "--bf16", "false"]
    plain, _ = run(arguments + ["--output_dir", str(tmp_path / "plain")])
    separate, _ = run(arguments + NGRAMS + ["--output_dir", str(tmp_path / "separate")])
    channel = separate.model.ngrams
    assert channel.weight.abs().sum() > 0 and not channel.weight.requires_grad  # fitted, then fixed
    plain, separate = (trainer.model.state_dict() for trainer in (plain, separate))
    encoder_and_head = [name for name in plain if name.startswith(("lstm.", "classifier."))]
    assert all(torch.equal(plain[name], separate[name]) for name in encoder_and_head)  # learned as if alone
    results = json.loads((tmp_path / "separate" / "all_results.json").read_text())
    assert results["ngram_channel"]["C"] in (0.1, 0.3, 1.0, 3.0, 10.0)
    assert 0.5 < results["ngram_channel"]["validation_accuracy"] <= 1
    assert "plus an n-gram channel (word 1-2-3-grams" in (tmp_path / "separate" / "README.md").read_text()


@pytest.mark.parametrize("task,extra,message", [
    ("regression", ["--metric_for_best_model", "rmse"], "--ngram_orders: the n-gram channel is fitted as a classifier"),
    ("classification", ["--label_column", "tags", "--metric_for_best_model", "f1_micro"],
     "--ngram_orders reads one class a review"),
])
def test_an_ngram_channel_on_ratings_or_several_labels_a_review_is_refused(tmp_path, task, extra, message):
    arguments = TINY + NGRAMS + ["--output_dir", str(tmp_path / "model"), "--task", task, *extra]
    if task == "classification":
        rows = [{"text": f"review {i} about music and sport", "tags": [["music"], ["sports", "music"]][i % 2]}
                for i in range(40)]
        (tmp_path / "tags.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        arguments += ["--dataset_name", str(tmp_path / "tags.jsonl"), "--cache_dir", str(tmp_path / "cache")]
    with pytest.raises(ArgumentError, match=re.escape(message)):
        run(arguments)
