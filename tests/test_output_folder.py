import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from hf_lstm.output_folder import (
    PREVIOUS_CHECKPOINTS,
    OutputFolderError,
    check_output_dir,
    save_final_model,
    set_aside_previous_checkpoints,
)
from hf_lstm.trainer import COMPLETE_MARKER, last_complete_checkpoint


def model_folder(path, checkpoints=()):
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({"model_type": "hf_lstm"}))
    (path / "model.safetensors").write_bytes(b"old weights")
    (path / "README.md").write_text("old card")
    for step in checkpoints:
        (path / f"checkpoint-{step}").mkdir()
        (path / f"checkpoint-{step}" / COMPLETE_MARKER).write_text("")
    return path


class FakeTrainer:
    """What save_final_model uses of a Trainer: it writes a model folder."""

    args = SimpleNamespace(to_json_string=lambda: "{}")

    def save_model(self, folder):
        model_folder(Path(folder))
        (Path(folder) / "model.safetensors").write_bytes(b"new weights")

    def is_world_process_zero(self):
        return True


def test_a_folder_with_someone_elses_files_is_refused_naming_them(tmp_path):
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "notes.txt").write_text("notes")
    (folder / "bin.csv").write_text("review,sentiment\n")
    with pytest.raises(OutputFolderError, match=r"holds no hf_lstm model \(bin.csv, notes.txt\)"):
        check_output_dir(folder)
    assert (folder / "notes.txt").read_text() == "notes"


@pytest.mark.parametrize("where", [".", ".."])
def test_the_current_folder_and_those_above_it_are_refused(tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputFolderError, match="current folder or one above it"):
        check_output_dir(where)


def test_a_trained_model_needs_overwrite_or_resume(tmp_path):
    folder = model_folder(tmp_path / "model")
    with pytest.raises(OutputFolderError, match="already holds a trained model; pass --overwrite_output_dir"):
        check_output_dir(folder)
    check_output_dir(folder, overwrite=True)
    check_output_dir(folder, resume=True)
    check_output_dir(tmp_path / "new")  # a new folder and an empty one are fine
    (tmp_path / "empty").mkdir()
    check_output_dir(tmp_path / "empty")


def test_a_file_is_refused(tmp_path):
    (tmp_path / "model").write_text("")
    with pytest.raises(OutputFolderError, match="is a file, not a folder"):
        check_output_dir(tmp_path / "model")


def test_a_new_run_sets_the_old_checkpoints_aside_and_a_failed_one_leaves_them(tmp_path):
    folder = model_folder(tmp_path / "model", checkpoints=(10, 20))
    set_aside_previous_checkpoints(folder)  # the overwriting run starts...
    assert sorted(p.name for p in (folder / PREVIOUS_CHECKPOINTS).iterdir()) == ["checkpoint-10", "checkpoint-20"]
    assert last_complete_checkpoint(folder) is None  # ...and never resumes from the old run's checkpoints
    (folder / "checkpoint-5").mkdir()  # ...then fails after one checkpoint of its own
    check_output_dir(folder, overwrite=True)  # the next try still may write there
    set_aside_previous_checkpoints(folder)
    assert not (folder / "checkpoint-5").exists()  # the failed run's checkpoint goes
    assert (folder / PREVIOUS_CHECKPOINTS / "checkpoint-20" / COMPLETE_MARKER).is_file()  # the model's stay
    assert (folder / "model.safetensors").read_bytes() == b"old weights"


def test_replacing_a_model_keeps_the_users_files_and_this_runs_checkpoints(tmp_path):
    folder = model_folder(tmp_path / "model", checkpoints=(10,))
    (folder / "notes.txt").write_text("my notes")
    (folder / "data").mkdir()
    (folder / "data" / "train.csv").write_text("text,label\n")
    set_aside_previous_checkpoints(folder)
    (folder / "checkpoint-7").mkdir()  # the new run's
    save_final_model(FakeTrainer(), folder, {"all_results.json": "{}"})
    assert (folder / "model.safetensors").read_bytes() == b"new weights"
    assert (folder / "notes.txt").read_text() == "my notes"
    assert (folder / "data" / "train.csv").read_text() == "text,label\n"
    assert (folder / "checkpoint-7").is_dir() and not (folder / "checkpoint-10").exists()
    assert not (folder / PREVIOUS_CHECKPOINTS).exists()  # they belonged to the replaced model
    assert (folder / "all_results.json").read_text() == "{}"
    assert (folder / "config.json").stat().st_mode & 0o040  # group-readable on a shared disk
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging or old folder left


def test_a_relative_output_dir_is_saved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_final_model(FakeTrainer(), "model", {})
    assert (tmp_path / "model" / "model.safetensors").read_bytes() == b"new weights"
