"""The training run's output folder: what may be written where, and the final atomic save.

Rules: a run writes only into a new folder, an empty one, or one that holds an hf_lstm model or checkpoints; it
never deletes what it did not write. Files a user put beside a model (notes, data) are carried over when the model is
replaced; the previous run's checkpoints are set aside, not deleted, until the new model is saved.
"""

import json
import os
import shutil
from pathlib import Path

from .atomic import atomic_directory

MODEL_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")
# Where a new run (not resuming) sets aside the checkpoints of the run before it; dropped when its model is saved.
PREVIOUS_CHECKPOINTS = "previous-checkpoints"
# Files a training run writes into its model folder (beside the model and tokenizer files that `save_model` writes):
# a replaced model's copies of these are the old run's, not the user's, and go with it.
RUN_FILES = (
    "README.md", "all_results.json", "log_history.json", "training_curves.png", "training_args.json",
    "test_results.json", "test_predictions.jsonl", "confusion_matrix.png", "eval_results.json",
    "configuration_lstm.py", "modeling_lstm.py", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "generation_config.json", "training_args.bin", *MODEL_FILES,
)


class OutputFolderError(Exception):
    """An `--output_dir` the run must not write into, with what to do instead."""


def has_trained_model(directory):
    return any((Path(directory) / name).exists() for name in MODEL_FILES)


def _is_ours(directory):
    """Whether `directory` holds an hf_lstm model or a run's checkpoints (a folder a run may write into)."""
    config = Path(directory) / "config.json"
    if config.is_file():
        try:
            return json.loads(config.read_text()).get("model_type") == "hf_lstm"
        except (OSError, ValueError, AttributeError):
            return False
    return any(Path(directory).glob("checkpoint-*")) or (Path(directory) / PREVIOUS_CHECKPOINTS).is_dir()


def check_output_dir(output_dir, overwrite=False, resume=False):
    """Refuse an `--output_dir` the run would damage, before any data is read: the current folder or one above it
    (the final save swaps the folder), a non-empty folder that holds no hf_lstm model (naming what is in it), or a
    trained model without `--overwrite_output_dir` / `--resume`."""
    path = Path(output_dir).resolve()
    cwd = Path.cwd().resolve()
    if path == cwd or path in cwd.parents:
        raise OutputFolderError(
            f"--output_dir {output_dir} is the current folder or one above it; the trained model is swapped in as a "
            "whole folder, so give a folder of its own, e.g. outputs/my_model"
        )
    if path.exists() and not path.is_dir():
        raise OutputFolderError(f"--output_dir {output_dir} is a file, not a folder")
    if not path.is_dir() or not any(path.iterdir()):
        return
    if not _is_ours(path):
        entries = sorted(entry.name for entry in path.iterdir())
        shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
        raise OutputFolderError(
            f"--output_dir {output_dir} is not empty and holds no hf_lstm model ({shown}); give a new or empty folder "
            "(nothing in it is touched)"
        )
    if has_trained_model(path) and not (overwrite or resume):
        raise OutputFolderError(
            f"{output_dir} already holds a trained model; pass --overwrite_output_dir to replace it (the old one "
            "stays until the new one is saved) or --resume to continue its checkpoints"
        )


def set_aside_previous_checkpoints(output_dir):
    """A new run (not resuming) must not mix an earlier run's checkpoints into its own: they move to
    `previous-checkpoints/`, where they stay with the model they belong to until this run's model replaces it. If
    that folder already exists, the checkpoints beside it are a failed run's (it was not resumed) and are removed."""
    output_dir = Path(output_dir)
    stale = [path for path in output_dir.glob("checkpoint-*") if path.is_dir()]
    previous = output_dir / PREVIOUS_CHECKPOINTS
    if not stale:
        return
    if previous.is_dir():
        for path in stale:
            shutil.rmtree(path)
        return
    previous.mkdir()
    for path in stale:
        path.rename(previous / path.name)


def carried_over(name):
    """Whether an entry of a replaced model folder moves into the new one: this run's checkpoints, and everything no
    run wrote (a user's notes or data)."""
    return name.startswith("checkpoint-") or name not in (*RUN_FILES, PREVIOUS_CHECKPOINTS)


def save_final_model(trainer, output_dir, extra_files):
    """Write the trained model beside `output_dir`, then swap it in (`atomic_directory`): a reader never sees a
    half-written model, and a failed save leaves `output_dir` as it was.

    The new folder gets the model, tokenizer and `extra_files` ({name: text or bytes}); this run's checkpoints move
    along with it, and so does everything in the old folder that no run wrote (a user's notes or data). What goes
    is the old model and its run's files and checkpoints. Saved files are readable by the group (a shared disk).
    Only the main process writes.
    """
    if not trainer.is_world_process_zero():
        return
    output_dir = Path(output_dir).resolve()
    try:
        with atomic_directory(output_dir, carry_over=carried_over) as staging:
            trainer.save_model(str(staging))
            # The Trainer pickles its arguments beside the model; a model folder is what users download and load, so
            # it holds no pickle: the arguments go in as JSON (checkpoints keep the Trainer's own files for resuming).
            (staging / "training_args.bin").unlink(missing_ok=True)
            (staging / "training_args.json").write_text(trainer.args.to_json_string())
            for name, content in extra_files.items():
                path = staging / name
                path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
            make_group_readable(staging)
    except OSError as error:  # disk full, quota, permissions
        raise SystemExit(f"saving the trained model failed: {error}; {output_dir} is unchanged") from error


def make_group_readable(directory):
    """Give everything under `directory` the permissions a new file or folder gets here (libraries write some files
    owner-only), and the group read access (and entry to folders) whatever the umask."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [Path(directory), *Path(directory).rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask | 0o040 | (0o010 if path.is_dir() else 0))
