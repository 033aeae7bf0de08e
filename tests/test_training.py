import json
import os
import socket
import subprocess
import sys

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import hf_lstm  # noqa: F401  (registers the Auto classes)
from hf_lstm.training import parse_arguments, run

TINY = ["configs/tiny.yaml", "--num_train_epochs", "1", "--save_total_limit", "1"]


def test_config_file_values_are_defaults_and_command_line_overrides():
    model_args, data_args, training_args, _ = parse_arguments(
        ["configs/tiny.yaml", "--hidden_size", "24", "--output_dir", "elsewhere"]
    )
    assert model_args.hidden_size == 24 and model_args.embedding_dim == 16  # flag beats file; file beats default
    assert data_args.max_train_samples == 320 and training_args.output_dir == "elsewhere"
    assert training_args.learning_rate == 2e-3  # the LSTM default, not Trainer's 5e-5


def test_unknown_config_field_is_refused(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("hiden_size: 3\n")
    with pytest.raises(SystemExit, match="unknown field.*hiden_size"):
        parse_arguments([str(config)])


def test_tiny_run_saves_a_model_that_reloads_with_the_auto_classes(tmp_path):
    output_dir = tmp_path / "model"
    trainer, metrics = run(TINY + ["--output_dir", str(output_dir), "--cache_dir", str(tmp_path / "cache")])
    for name in ("config.json", "model.safetensors", "tokenizer.json", "test_results.json"):
        assert (output_dir / name).is_file(), name
    assert json.loads((output_dir / "test_results.json").read_text())["test_accuracy"] == metrics["test_accuracy"]
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and metrics["test_loss"] > 0

    model = AutoModelForSequenceClassification.from_pretrained(output_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    assert model.config.id2label == {0: "neg", 1: "pos"}
    batch = tokenizer(["a great film", "dull and far too long, i left"], padding=True, return_tensors="pt")
    trained = trainer.model.eval()
    with torch.no_grad():
        assert torch.allclose(model(**batch).logits, trained(**batch).logits, atol=1e-6)


def test_existing_trained_model_is_not_overwritten(tmp_path):
    output_dir = tmp_path / "model"
    output_dir.mkdir()
    (output_dir / "model.safetensors").write_bytes(b"precious")
    with pytest.raises(SystemExit, match="already holds a trained model"):
        run(TINY + ["--output_dir", str(output_dir)])
    assert (output_dir / "model.safetensors").read_bytes() == b"precious"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_process_cpu_launch_trains_on_both_ranks(tmp_path):
    output_dir = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "--main_process_port", str(free_port()), "scripts/train.py", *TINY,
        "--output_dir", str(output_dir), "--cache_dir", str(tmp_path / "cache"),
    ]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["world_size"] == 2
    # 320 reviews, 32 per rank: two ranks take 64 a step, so one epoch is 5 steps (one process would take 10)
    (checkpoint,) = output_dir.glob("checkpoint-*")
    assert json.loads((checkpoint / "trainer_state.json").read_text())["global_step"] == 5
    model = AutoModelForSequenceClassification.from_pretrained(output_dir)
    assert model.config.model_type == "hf_lstm"
