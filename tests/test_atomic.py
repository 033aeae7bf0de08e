import os
from pathlib import Path

import pytest

from hf_lstm import atomic
from hf_lstm.atomic import TEMPORARY, atomic_directory, write_file_atomically


def folder(path, **files):
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def test_a_folder_appears_whole_and_replaces_the_old_one(tmp_path):
    target = folder(tmp_path / "model", old="1")
    with atomic_directory(target) as staging:
        (staging / "new").write_text("2")
        assert not (target / "new").exists()  # nothing visible before the block ends
    assert sorted(p.name for p in target.iterdir()) == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging or old folder left


def test_an_error_leaves_the_target_as_it_was(tmp_path):
    target = folder(tmp_path / "model", old="1")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as staging:
            (staging / "new").write_text("2")
            raise RuntimeError("export failed")
    assert sorted(p.name for p in target.iterdir()) == ["old"]
    assert not list(tmp_path.glob(f"{TEMPORARY}*"))


def test_without_replace_the_first_writer_wins(tmp_path):
    target = folder(tmp_path / "cache", data="theirs")
    with atomic_directory(target, replace=False) as staging:
        (staging / "data").write_text("mine")
    assert (target / "data").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_carried_entries_move_across_and_come_back_if_the_swap_fails(tmp_path, monkeypatch):
    target = folder(tmp_path / "model", notes="mine", weights="old")
    with atomic_directory(target, carry_over=lambda name: name == "notes") as staging:
        (staging / "weights").write_text("new")
    assert {p.name: p.read_text() for p in target.iterdir()} == {"notes": "mine", "weights": "new"}

    replace, failed = os.replace, []

    def failing_swap(source, destination):  # the new folder cannot be renamed into place, once
        if destination == target and not failed and (Path(source) / "weights").read_text() == "newer":
            failed.append(source)
            raise OSError(28, "No space left on device")
        return replace(source, destination)

    monkeypatch.setattr(atomic.os, "replace", failing_swap)
    with pytest.raises(OSError, match="No space left"):
        with atomic_directory(target, carry_over=lambda name: name == "notes") as staging:
            (staging / "weights").write_text("newer")
    assert failed and {p.name: p.read_text() for p in target.iterdir()} == {"notes": "mine", "weights": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_file_is_written_through_a_temporary_name(tmp_path):
    write_file_atomically(tmp_path / "ref", b"abc")
    assert (tmp_path / "ref").read_bytes() == b"abc" and sorted(p.name for p in tmp_path.iterdir()) == ["ref"]
