import json
import subprocess
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file, save_file

from hf_lstm.averaging import average_checkpoints, use_checkpoint_average
from hf_lstm import training
from hf_lstm.arguments import ArgumentError
from hf_lstm.training import run

from .test_training import LAUNCH_ENV, two_process_launch


def write_checkpoint(folder, tensors):
    folder.mkdir(parents=True)
    save_file(tensors, str(folder / "model.safetensors"))
    return folder


def test_average_is_the_mean_of_float_tensors_and_the_last_of_the_others(tmp_path):
    first = write_checkpoint(tmp_path / "checkpoint-10", {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor([1])})
    second = write_checkpoint(tmp_path / "checkpoint-20", {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor([2])})
    averaged = average_checkpoints([first, second])
    assert torch.equal(averaged["w"], torch.tensor([2.0, 4.0])) and averaged["w"].dtype == torch.float32
    assert torch.equal(averaged["n"], torch.tensor([2]))


def test_checkpoints_with_different_tensors_are_refused_naming_the_folder(tmp_path):
    first = write_checkpoint(tmp_path / "checkpoint-10", {"w": torch.zeros(2)})
    second = write_checkpoint(tmp_path / "checkpoint-20", {"w": torch.zeros(2), "extra": torch.zeros(1)})
    with pytest.raises(ValueError, match="checkpoint-10: its tensors differ"):
        average_checkpoints([first, second])


@pytest.mark.parametrize("average_accuracy, used", [(0.8, True), (0.6, False)])
def test_the_average_is_kept_only_if_validation_prefers_it(tmp_path, average_accuracy, used):
    model = torch.nn.Linear(2, 1, bias=False)
    paths = [write_checkpoint(tmp_path / f"checkpoint-{step}", {"weight": torch.full((1, 2), value)})
             for step, value in ((20, 2.0), (30, 4.0))]
    with torch.no_grad():
        model.weight.fill_(4.0)  # the trained model holds the best checkpoint
    seen = []

    def evaluate(metric_key_prefix):
        seen.append(model.weight.detach().clone())
        return {f"{metric_key_prefix}_accuracy": average_accuracy}

    trainer = SimpleNamespace(
        args=SimpleNamespace(output_dir=str(tmp_path), metric_for_best_model="accuracy", greater_is_better=True),
        state=SimpleNamespace(best_metric=0.7),
        model=model,
        evaluate=evaluate,
    )
    summary = use_checkpoint_average(trainer, paths)
    assert summary == {"checkpoints": ["checkpoint-20", "checkpoint-30"], "validation": average_accuracy, "used": used}
    assert torch.equal(seen[0], torch.full((1, 2), 3.0))  # evaluated: the mean of the two
    assert torch.equal(model.weight.detach(), torch.full((1, 2), 3.0 if used else 4.0))


def test_tiny_run_with_averaging_saves_the_weights_validation_chose(tmp_path):
    output_dir = tmp_path / "model"
    run(["configs/tiny.yaml", "--num_train_epochs", "3", "--average_last_checkpoints", "2",
         "--output_dir", str(output_dir), "--cache_dir", str(tmp_path / "cache")])
    results = json.loads((output_dir / "all_results.json").read_text())
    average = results["checkpoint_average"]
    assert average["checkpoints"] == ["checkpoint-20", "checkpoint-30"] and 0.0 <= average["validation"] <= 1.0
    saved = load_file(output_dir / "model.safetensors")
    if average["used"]:
        expected = average_checkpoints([output_dir / name for name in average["checkpoints"]])
    else:
        expected = load_file(output_dir / results["best_validation"]["checkpoint"].split("/")[-1] / "model.safetensors")
    assert saved.keys() == expected.keys()
    assert all(torch.equal(saved[name], expected[name]) for name in saved)
    history = json.loads((output_dir / "log_history.json").read_text())
    assert any("average_accuracy" in entry for entry in history)
    assert ("average of the last 2 epoch checkpoints" in (output_dir / "README.md").read_text()) == average["used"]


@pytest.mark.parametrize("count", ["1", "-2"])
def test_averaging_fewer_than_two_checkpoints_is_refused_before_any_work(tmp_path, count, monkeypatch):
    monkeypatch.setattr(training, "prepare_data", lambda *args: pytest.fail("data prepared before the check"))
    with pytest.raises(ArgumentError, match=f"at least 2, got {count}"):
        run(["configs/tiny.yaml", "--average_last_checkpoints", count, "--output_dir", str(tmp_path / "model")])


def test_averaging_in_a_two_process_launch(tmp_path):
    output_dir = tmp_path / "ddp"
    train_args = ["configs/tiny.yaml", "--num_train_epochs", "2", "--average_last_checkpoints", "2"]
    result = subprocess.run(two_process_launch(train_args, output_dir, tmp_path / "cache"),
                            capture_output=True, text=True, timeout=300, env=LAUNCH_ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((output_dir / "all_results.json").read_text())
    assert results["world_size"] == 2  # 5 steps an epoch on two ranks
    assert results["checkpoint_average"]["checkpoints"] == ["checkpoint-5", "checkpoint-10"]
