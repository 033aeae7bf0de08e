"""Folders and files written whole or not at all: filled under a temporary name beside their target (same file
system), then renamed into place. A reader never sees half of one; a writer killed at any moment leaves at most a
hidden `.tmp-*` entry, never a damaged target. The model folder, the ONNX export, the hub's snapshots and pulled
copies, and the prepared-data cache are all written this way."""

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

TEMPORARY = ".tmp-"  # the prefix of every entry still being written


def temporary_name(target):
    """A hidden name beside `target` that no other writer uses."""
    target = Path(target)
    return target.with_name(f"{TEMPORARY}{target.name}-{uuid.uuid4().hex}")


@contextmanager
def atomic_directory(target, replace=True, carry_over=None):
    """Yield an empty staging folder beside `target` to fill; when the block ends without an error, it becomes
    `target`. An existing `target` is replaced (`replace=True`: moved aside, then removed) or kept (`replace=False`:
    another writer finished the same content first, and the staging folder is dropped). `carry_over(name)` names the
    entries of the replaced folder that move into the new one (files a user put there) instead of going with it. On
    an error the staging folder is removed and `target` is as it was, carried entries back in place."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = temporary_name(target)
    staging.mkdir()
    try:
        yield staging
        if not target.exists():
            try:
                os.replace(staging, target)
            except OSError:
                if not (target.exists() and not replace):  # not a writer that finished first
                    raise
        elif replace:
            _swap_in(staging, target, carry_over or (lambda name: False))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging, target, carry_over):
    """Replace `target` by `staging`, moving the entries `carry_over` names across first; undone on an error."""
    carried, old = [], temporary_name(target)
    try:
        for entry in sorted(target.iterdir()):
            if carry_over(entry.name) and not (staging / entry.name).exists():
                os.replace(entry, staging / entry.name)
                carried.append(entry.name)
        os.replace(target, old)
        os.replace(staging, target)
    except OSError:
        if old.exists() and not target.exists():
            os.replace(old, target)
        for name in carried:
            os.replace(staging / name, target / name)
        raise
    shutil.rmtree(old)


def write_file_atomically(path, data):
    """Write `data` (bytes) to `path` through a temporary file that is flushed to disk, then renamed into place."""
    partial = temporary_name(path)
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
