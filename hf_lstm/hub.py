"""A hub directory: models shared through a plain folder (a shared disk, no server) in the Hugging Face cache layout.

    HUB/models--{org}--{name}/blobs/<sha256 of the file>
                             /snapshots/<revision id>/<file>  -> ../../blobs/<sha256>  (a copy where links fail)
                             /refs/<branch or tag>             holds the revision id

so the stock loader reads it with no project code:
`AutoModelForSequenceClassification.from_pretrained("org/name", cache_dir=HUB, revision="main" | tag | id)`.

Every write goes to a temporary name first and is renamed into place, under a per-repo lock: a push killed at any
moment leaves every ref naming a complete snapshot, and the next push clears what the killed one left behind.

A revision id is a hash over the revision's file names and contents, so it pins them: `verify` and `pull` recompute
it and refuse a snapshot whose files no longer give its id (a link repointed to another revision's blob, say).
`manifests/<revision id>.json` records the files each push wrote, to name the one that changed.
"""

import hashlib
import json
import logging
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock
from huggingface_hub import scan_cache_dir
from huggingface_hub.utils import HFValidationError, validate_repo_id

from .atomic import TEMPORARY, atomic_directory, temporary_name, write_file_atomically

logger = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
REVISION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


class HubError(ValueError):
    """A refused hub operation; the message names the repo, revision or file."""


def check_repo_id(repo_id):
    """Validate a repo id the way huggingface_hub does, and ASCII only; raises `HubError` before any disk access."""
    if not isinstance(repo_id, str) or not repo_id or not repo_id.isascii():
        raise HubError(f"invalid repo id {repo_id!r}: use 'name' or 'org/name' in ASCII letters, digits, '-', '_', '.'")
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise HubError(f"invalid repo id {repo_id!r}: {error}") from error
    return repo_id


def check_revision_name(name):
    """A branch, tag or revision id: one path component, no '..', nothing that leaves the refs folder."""
    if not isinstance(name, str) or not REVISION_NAME.match(name) or ".." in name:
        raise HubError(f"invalid revision name {name!r}: use letters, digits, '.', '_', '-' (no '..', no '/')")
    return name


def check_file_name(name):
    if not isinstance(name, str) or "/" in name or "\\" in name or name in ("", ".", "..") or ".." in name:
        raise HubError(f"invalid file name {name!r} in a model folder")
    return name


def repo_folder(hub_dir, repo_id):
    return Path(hub_dir) / ("models--" + check_repo_id(repo_id).replace("/", "--"))


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def revision_id(file_hashes):
    """A 40-hex revision id derived from the file names and their blob hashes: the same files give the same id."""
    blob = json.dumps(sorted(file_hashes.items())).encode()
    return hashlib.sha1(blob).hexdigest()


def model_files(model_dir):
    """The files of a saved model folder that a push takes: top-level files, never pickles; safetensors required."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise HubError(f"{model_dir}: not a folder")
    names = sorted(entry.name for entry in model_dir.iterdir() if entry.is_file() and not entry.name.startswith("."))
    if "pytorch_model.bin" in names and "model.safetensors" not in names:
        raise HubError(f"{model_dir}: weights are pytorch_model.bin (pickle); only model.safetensors is pushed")
    if "model.safetensors" not in names or "config.json" not in names:
        raise HubError(f"{model_dir}: not a saved model (config.json and model.safetensors are required)")
    return [check_file_name(name) for name in names if not name.endswith(PICKLE_SUFFIXES)]


@contextmanager
def repo_lock(repo):
    """Serialise writers of one repo (pushes from several processes or machines on a shared disk); `filelock` works
    on Linux, macOS and Windows alike."""
    repo.mkdir(parents=True, exist_ok=True)
    with FileLock(repo / ".lock"):
        yield


def clean_leftovers(repo):
    """Remove the temporary files and folders of pushes that were killed (called under the repo lock)."""
    for folder in (repo, repo / "blobs", repo / "snapshots", repo / "refs", repo / "manifests"):
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.name.startswith(TEMPORARY):
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def read_tag_names(repo):
    """Which refs are tags (the cache layout keeps branches and tags side by side in refs/)."""
    path = repo / "tags.json"
    return json.loads(path.read_text()) if path.is_file() else []


def _link_or_copy(blob, target):
    try:
        os.symlink(os.path.relpath(blob, target.parent), target)
    except OSError:  # no symlinks here (some Windows / network file systems): a copy reads the same
        shutil.copyfile(blob, target)


def push(model_dir, repo_id, hub_dir, branch="main", tag=None, force_tag=False):
    """Push a saved model folder as a revision of `repo_id`, move `branch` to it, optionally tag it; returns the id.

    Tags are immutable, as git and the Hub treat release tags: a tag that names another revision is refused (naming
    that revision) before anything is written, unless `force_tag`, which moves it and logs from where to where."""
    repo = repo_folder(hub_dir, repo_id)
    check_revision_name(branch)
    if tag is not None:
        check_revision_name(tag)
    names = model_files(model_dir)
    with repo_lock(repo):
        clean_leftovers(repo)
        try:
            return _write_revision(repo, model_dir, names, branch, tag, force_tag)
        except OSError as error:  # disk full, quota, permissions: nothing a ref names was touched
            clean_leftovers(repo)
            raise HubError(f"push of {model_dir} to {repo_id} failed: {error}; every ref still names its old revision") from error


def _write_revision(repo, model_dir, names, branch, tag, force_tag=False):
    """Blobs, then the snapshot, then the refs: each written under a temporary name and renamed into place."""
    hashes = {name: sha256_of(Path(model_dir) / name) for name in names}
    revision = revision_id(hashes)
    tagged = repo / "refs" / tag if tag is not None else None
    moved_from = tagged.read_text().strip() if tagged is not None and tagged.is_file() else None
    if moved_from == revision:
        moved_from = None
    elif moved_from is not None and not force_tag:
        raise HubError(
            f"{repo.name[len('models--'):].replace('--', '/')}: tag {tag!r} already names revision {moved_from}; tags do not move (everyone pinned to "
            f"@{tag} would get another model): choose a new tag, or pass --force_tag to move it"
        )
    (repo / "blobs").mkdir(exist_ok=True)
    (repo / "snapshots").mkdir(exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    for name, digest in hashes.items():
        source = Path(model_dir) / name
        blob = repo / "blobs" / digest
        if not blob.exists() or sha256_of(blob) != digest:
            partial = temporary_name(blob)
            shutil.copyfile(source, partial)
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
            if sha256_of(partial) != digest:
                partial.unlink()
                raise HubError(f"{source}: changed while it was being pushed")
            os.replace(partial, blob)
    manifest = repo / "manifests" / f"{revision}.json"
    if not manifest.is_file():
        manifest.parent.mkdir(exist_ok=True)
        write_file_atomically(manifest, json.dumps(hashes, indent=1, sort_keys=True).encode())
    snapshot = repo / "snapshots" / revision
    if not snapshot.is_dir():
        with atomic_directory(snapshot, replace=False) as partial:
            for name, digest in hashes.items():
                _link_or_copy(repo / "blobs" / digest, partial / name)
    if tag is not None and tag not in read_tag_names(repo):
        write_file_atomically(repo / "tags.json", json.dumps(sorted(read_tag_names(repo) + [tag])).encode())
    for ref in [branch] + ([tag] if tag else []):
        write_file_atomically(repo / "refs" / ref, revision.encode())  # no newline: the stock loader reads it verbatim
    if moved_from is not None:
        logger.warning("tag %r moved from revision %s to %s (--force_tag)", tag, moved_from, revision)
    return revision


def resolve(repo_id, hub_dir, revision="main"):
    """The snapshot folder of a branch, tag or revision id of `repo_id`."""
    repo = repo_folder(hub_dir, repo_id)
    check_revision_name(revision)
    if not repo.is_dir():
        raise HubError(f"{repo_id}: no such repo in {hub_dir}")
    ref = repo / "refs" / revision
    revision_id_ = ref.read_text().strip() if ref.is_file() else revision
    check_revision_name(revision_id_)
    snapshot = repo / "snapshots" / revision_id_
    if not snapshot.is_dir():
        raise HubError(f"{repo_id}: no branch, tag or revision {revision!r}")
    return snapshot


def verify(snapshot):
    """Check a snapshot: every file against its blob's name (its sha256), and the files together against the revision
    id (the snapshot folder's name), which pins their names and contents; refuse pickles. Returns the file names."""
    snapshot = Path(snapshot)
    names = sorted(entry.name for entry in snapshot.iterdir())
    hashes = {}
    for name in names:
        path = snapshot / name
        if name.endswith(PICKLE_SUFFIXES):
            raise HubError(f"{path}: pickle files are refused (never unpickled); only safetensors are loaded")
        actual = sha256_of(path) if path.exists() else None
        hashes[name] = actual
        if not path.is_symlink():  # a copied file (no symlinks here): it must be one of the repo's blobs
            if not (snapshot.parent.parent / "blobs" / actual).is_file():
                raise HubError(f"{path}: no blob matches this file's sha256 {actual}")
            continue
        expected = Path(os.readlink(path)).name
        if actual is None:
            raise HubError(f"{path}: its blob {expected} is missing")
        if actual != expected:
            raise HubError(f"{path}: content does not match its blob hash (expected sha256 {expected}, got {actual})")
    if revision_id(hashes) != snapshot.name:
        manifest = snapshot.parent.parent / "manifests" / f"{snapshot.name}.json"
        pushed = json.loads(manifest.read_text()) if manifest.is_file() else {}
        changed = sorted(name for name in set(pushed) | set(hashes) if pushed.get(name) != hashes.get(name))
        named = ", ".join(str(snapshot / name) for name in changed) if pushed else f"one of the files in {snapshot}"
        raise HubError(
            f"{named}: not the content revision {snapshot.name} was pushed with (its files no longer give its id); "
            "the revision was changed after the push"
        )
    return names


def pull(repo_id, hub_dir, revision="main", to=None):
    """Resolve and verify a revision; copy it to `to` (written beside it first, then renamed) or return its path."""
    snapshot = resolve(repo_id, hub_dir, revision)
    names = verify(snapshot)
    if to is None:
        return snapshot
    target = Path(to)
    if target.exists() and any(target.iterdir()):
        raise HubError(f"{target}: exists and is not empty; pull into a new folder")
    with atomic_directory(target) as partial:
        for name in names:
            shutil.copyfile(snapshot / name, partial / name)
    return target


# The files of a model folder that decide its outputs (weights, config, tokenizer): what a Hub id brings down.
MODEL_FILES = ("*.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
               "vocab.txt", "vocab.json", "merges.txt", "*.model", "*.py")


def resolve_model(model, hub_dir=None):
    """The local folder of `model`, the one way every command finds a model: a folder as it is; with `hub_dir`,
    `org/name[@revision]` in that hub directory (verified against its blob hashes first); otherwise a Hugging Face Hub
    id `org/name[@revision]` through huggingface_hub's own resolution and cache (`HF_HUB_CACHE`, `HF_HUB_OFFLINE`),
    as `from_pretrained` reads it: model files only (`MODEL_FILES`), a pickle never."""
    repo_id, _, revision = model.partition("@")
    if hub_dir is not None:
        return str(pull(repo_id, hub_dir, revision=revision or "main"))
    if Path(model).is_dir():
        return model
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id, revision=revision or None, allow_patterns=list(MODEL_FILES))
    except Exception as error:  # not a valid id, no network, no such repo, not in the cache offline
        raise HubError(f"{model}: no such model folder, and the Hugging Face Hub did not give it "
                       f"({type(error).__name__}); for a model in a hub directory pass --hub_dir DIR") from None


def list_hub(hub_dir):
    """{repo_id: {"branches": {name: id}, "tags": {name: id}, "revisions": [ids]}} for every repo of the hub, read
    with huggingface_hub's `scan_cache_dir` (the hub directory is a Hugging Face cache)."""
    if not Path(hub_dir).is_dir():
        return {}
    scanned = scan_cache_dir(hub_dir)
    if scanned.warnings:
        raise HubError(f"{hub_dir}: {scanned.warnings[0]}")
    listing = {}
    for repo in sorted(scanned.repos, key=lambda repo: repo.repo_id):
        if repo.repo_type != "model":
            continue
        tags = set(read_tag_names(Path(repo.repo_path)))
        refs = {name: info.commit_hash for name, info in repo.refs.items() if not name.startswith(TEMPORARY)}
        listing[repo.repo_id] = {
            "branches": {name: rev for name, rev in sorted(refs.items()) if name not in tags},
            "tags": {name: rev for name, rev in sorted(refs.items()) if name in tags},
            "revisions": sorted(
                info.commit_hash for info in repo.revisions if not info.commit_hash.startswith(TEMPORARY)
            ),
        }
    return listing
