import errno
import json
import multiprocessing
import os
import subprocess
import sys
import textwrap

import pytest

from hf_lstm.hub import HubError, list_hub, pull, push, resolve, resolve_model, verify

from .conftest import save_tiny_model

STOCK_LOAD = textwrap.dedent("""
    import sys
    sys.modules["hf_lstm"] = None  # the package is not importable: only stock transformers code and the repo's files
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer
    kwargs = dict(trust_remote_code=True, revision=sys.argv[2])
    if sys.argv[1] != "-":
        kwargs["cache_dir"] = sys.argv[1]
    model = AutoModelForSequenceClassification.from_pretrained("team/sentiment", **kwargs)
    tokenizer = AutoTokenizer.from_pretrained("team/sentiment", **kwargs)
    encoder = AutoModel.from_pretrained("team/sentiment", **kwargs)  # the bare encoder, with the same weights
    same = all((encoder.state_dict()[name] == tensor).all() for name, tensor in model.lstm.state_dict().items())
    print(type(model).__name__, model.config.id2label[1], len(tokenizer), type(encoder).__name__, same)
""")


def stock_load(hub, revision, env_cache=False):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if env_cache:
        env["HF_HUB_CACHE"] = str(hub)
    args = [sys.executable, "-c", STOCK_LOAD, "-" if env_cache else str(hub), revision]
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd="/", timeout=120)


def test_push_is_content_addressed_and_refs_move(saved_model, tmp_path):
    hub = tmp_path / "hub"
    first = push(saved_model, "team/sentiment", hub, tag="v1")
    assert len(first) == 40 and push(saved_model, "team/sentiment", hub) == first  # same files, same revision
    (saved_model / "notes.txt").write_text("retrained")
    second = push(saved_model, "team/sentiment", hub)
    assert second != first
    listing = list_hub(hub)["team/sentiment"]
    assert listing["branches"] == {"main": second} and listing["tags"] == {"v1": first}
    assert sorted(listing["revisions"]) == sorted([first, second])
    repo = hub / "models--team--sentiment"
    assert (repo / "refs" / "main").read_text() == second
    link = repo / "snapshots" / first / "model.safetensors"
    assert link.is_symlink() and os.readlink(link).startswith("../../blobs/")


def test_stock_loader_reads_branch_tag_and_revision_offline_without_the_package(saved_model, tmp_path):
    hub = tmp_path / "hub"
    revision = push(saved_model, "team/sentiment", hub, tag="v1")
    for ref in ("main", "v1", revision):
        result = stock_load(hub, ref)
        assert result.returncode == 0, result.stderr[-2000:]
        words = result.stdout.split()
        assert words[:2] == ["LSTMForSequenceClassification", "pos"] and words[3:] == ["LSTMModel", "True"]
    result = stock_load(hub, "main", env_cache=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_pull_copies_a_verified_snapshot(saved_model, tmp_path):
    hub = tmp_path / "hub"
    push(saved_model, "team/sentiment", hub, tag="v1")
    target = pull("team/sentiment", hub, revision="v1", to=tmp_path / "copy")
    assert (target / "model.safetensors").read_bytes() == (saved_model / "model.safetensors").read_bytes()
    assert not (target / "model.safetensors").is_symlink()
    with pytest.raises(HubError, match="not empty"):
        pull("team/sentiment", hub, to=target)
    with pytest.raises(HubError, match="no branch, tag or revision 'v9'"):
        pull("team/sentiment", hub, revision="v9")


def test_tampered_blob_is_reported_with_the_file_name(saved_model, tmp_path):
    hub = tmp_path / "hub"
    push(saved_model, "team/sentiment", hub)
    blob = (resolve("team/sentiment", hub) / "config.json").resolve()
    blob.write_text(blob.read_text().replace('"hidden_size": 6', '"hidden_size": 7'))
    with pytest.raises(HubError, match=r"config\.json: content does not match its blob hash"):
        pull("team/sentiment", hub, to=tmp_path / "copy")
    assert not (tmp_path / "copy").exists()
    result = subprocess.run([sys.executable, "scripts/pull.py", "team/sentiment", "--verify", "--hub_dir", str(hub)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "config.json" in result.stderr


def test_a_revision_whose_link_is_repointed_to_another_blob_is_refused_naming_the_file(saved_model, tmp_path):
    hub = tmp_path / "hub"
    first = push(saved_model, "team/sentiment", hub, tag="v1")
    config = json.loads((saved_model / "config.json").read_text())
    (saved_model / "config.json").write_text(json.dumps({**config, "dropout": 0.5}))
    second = push(saved_model, "team/sentiment", hub, tag="v2")
    link = hub / "models--team--sentiment" / "snapshots" / first / "config.json"
    other = os.readlink(hub / "models--team--sentiment" / "snapshots" / second / "config.json")
    link.unlink()
    link.symlink_to(other)  # a valid blob, but revision v1 was pushed with another config.json
    with pytest.raises(HubError, match=rf"{first}/config\.json: not the content revision {first} was pushed with"):
        pull("team/sentiment", hub, revision="v1")
    result = subprocess.run([sys.executable, "scripts/pull.py", "team/sentiment", "--verify", "--hub_dir", str(hub)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and f"{first}/config.json: not the content revision" in result.stderr
    assert pull("team/sentiment", hub, revision="v2").name == second  # the other revision is untouched


@pytest.mark.parametrize(
    "repo_id", ["../x", "a/b/c", "/abs", "org--x", "x.git", "", "a" * 97, "café/x", "org/..", "org/x y"]
)
def test_bad_repo_ids_are_refused_before_touching_the_disk(saved_model, tmp_path, repo_id):
    hub = tmp_path / "hub"
    with pytest.raises(HubError, match="invalid repo id"):
        push(saved_model, repo_id, hub)
    with pytest.raises(HubError, match="invalid repo id"):
        pull(repo_id, hub)
    assert not hub.exists()


@pytest.mark.parametrize("name", ["../main", "..", "a/b", "/etc", "v1/../../x"])
def test_revision_names_cannot_escape_the_repo(saved_model, tmp_path, name):
    hub = tmp_path / "hub"
    with pytest.raises(HubError, match="invalid revision name"):
        push(saved_model, "team/sentiment", hub, tag=name)
    push(saved_model, "team/sentiment", hub)
    with pytest.raises(HubError, match="invalid revision name"):
        pull("team/sentiment", hub, revision=name)


def test_pickle_weights_are_never_pushed_or_loaded(saved_model, tmp_path):
    hub = tmp_path / "hub"
    (saved_model / "training_args.bin").write_bytes(b"pickle")
    revision = push(saved_model, "team/sentiment", hub)
    assert "training_args.bin" not in os.listdir(hub / "models--team--sentiment" / "snapshots" / revision)
    (hub / "models--team--sentiment" / "snapshots" / revision / "pytorch_model.bin").write_bytes(b"\x80\x04evil")
    with pytest.raises(HubError, match="pytorch_model.bin: pickle files are refused"):
        pull("team/sentiment", hub)
    (saved_model / "model.safetensors").rename(saved_model / "pytorch_model.bin")
    with pytest.raises(HubError, match="only model.safetensors is pushed"):
        push(saved_model, "team/other", hub)


def _push_worker(model_dir, hub, queue):
    queue.put(push(model_dir, "team/sentiment", hub))


def test_concurrent_pushes_both_complete(tmp_path, tokenizer):
    hub = tmp_path / "hub"
    first = save_tiny_model(tmp_path / "a", tokenizer)
    second = save_tiny_model(tmp_path / "b", tokenizer, regression=True)
    queue = multiprocessing.get_context("fork").Queue()
    workers = [multiprocessing.get_context("fork").Process(target=_push_worker, args=(m, hub, queue))
               for m in (first, second)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    revisions = {queue.get(), queue.get()}
    assert len(revisions) == 2
    for revision in revisions:
        assert "model.safetensors" in verify(resolve("team/sentiment", hub, revision))
    assert list_hub(hub)["team/sentiment"]["branches"]["main"] in revisions


KILL_AT = textwrap.dedent("""
    import os, shutil, signal, sys
    import hf_lstm.hub as hub
    calls = {"n": 0}
    def killing(original):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == int(sys.argv[3]):
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)
        return wrapper
    hub.os.replace = killing(os.replace)
    hub.shutil.copyfile = killing(shutil.copyfile)
    hub.push(sys.argv[1], "team/sentiment", sys.argv[2], tag="v2")
""")


def test_push_killed_at_any_step_leaves_every_ref_complete(saved_model, tmp_path):
    hub = tmp_path / "hub"
    push(saved_model, "team/sentiment", hub, tag="v1")
    (saved_model / "README.md").write_text("a new revision")
    for step in range(1, 40):
        result = subprocess.run([sys.executable, "-c", KILL_AT, str(saved_model), str(hub), str(step)])
        assert result.returncode in (0, -9)
        for ref, revision in {**list_hub(hub)["team/sentiment"]["branches"],
                              **list_hub(hub)["team/sentiment"]["tags"]}.items():
            assert "model.safetensors" in verify(resolve("team/sentiment", hub, ref)), (step, ref)
        if result.returncode == 0:  # the push got through without being killed: every step was covered
            break
    else:
        pytest.fail("the push never completed")
    assert step >= 5  # killed at the blob copy, blob rename, snapshot rename, tags write ... before getting through
    assert list_hub(hub)["team/sentiment"]["tags"].keys() == {"v1", "v2"}
    leftovers = [p for p in hub.rglob(".tmp-*")]
    assert not leftovers  # the completed push cleared what the killed ones left


def test_disk_full_during_push_is_a_clear_error_and_the_old_revision_stays(saved_model, tmp_path, monkeypatch):
    hub = tmp_path / "hub"
    old = push(saved_model, "team/sentiment", hub)
    (saved_model / "README.md").write_text("new card")

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("hf_lstm.hub.shutil.copyfile", disk_full)
    with pytest.raises(HubError, match="No space left on device; every ref still names its old revision"):
        push(saved_model, "team/sentiment", hub)
    assert list_hub(hub)["team/sentiment"]["branches"] == {"main": old}
    assert "model.safetensors" in verify(resolve("team/sentiment", hub))
    assert not list(hub.rglob(".tmp-*"))


def test_a_tag_names_one_revision_for_good_unless_moved_on_purpose(saved_model, tmp_path, caplog):
    hub = tmp_path / "hub"
    first = push(saved_model, "team/sentiment", hub, tag="v1")
    assert push(saved_model, "team/sentiment", hub, tag="v1") == first  # the same files again: nothing moves
    (saved_model / "notes.txt").write_text("retrained")
    with pytest.raises(HubError, match=f"team/sentiment: tag 'v1' already names revision {first}; tags do not move"):
        push(saved_model, "team/sentiment", hub, tag="v1")
    listing = list_hub(hub)["team/sentiment"]
    assert listing["tags"] == {"v1": first} and listing["branches"] == {"main": first}  # refused before any write
    assert listing["revisions"] == [first]
    with caplog.at_level("WARNING", logger="hf_lstm.hub"):
        second = push(saved_model, "team/sentiment", hub, tag="v1", force_tag=True)
    assert list_hub(hub)["team/sentiment"]["tags"] == {"v1": second}
    assert f"tag 'v1' moved from revision {first} to {second}" in caplog.text


def test_a_model_name_that_is_no_folder_resolves_through_huggingface_hubs_own_cache_rules(saved_model, tmp_path,
                                                                                         monkeypatch):
    hub = tmp_path / "hub"
    revision = push(saved_model, "team/sentiment", hub, tag="v1")
    from huggingface_hub import constants  # what HF_HUB_OFFLINE and HF_HUB_CACHE set when the process starts

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    with pytest.raises(HubError, match=r"team/sentiment@v1: no such model folder, and the Hugging Face Hub did not give "
                                       r"it \(LocalEntryNotFoundError\); .* pass --hub_dir DIR"):
        resolve_model("team/sentiment@v1")
    assert resolve_model(str(saved_model)) == str(saved_model)  # a folder is a folder
    snapshot = str(hub / "models--team--sentiment" / "snapshots" / revision)
    assert resolve_model("team/sentiment@v1", hub_dir=hub) == snapshot  # a hub directory: verified first
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub))  # a Hugging Face cache, read as huggingface_hub reads it
    assert resolve_model("team/sentiment@v1") == snapshot
    # a real cache names snapshots by git commit: huggingface_hub reads it where the hub directory's check would not
    (hub / "models--team--sentiment" / "snapshots" / revision).rename(hub / "models--team--sentiment" / "snapshots" / ("a" * 40))
    (hub / "models--team--sentiment" / "refs" / "v1").write_text("a" * 40)
    assert resolve_model("team/sentiment@v1").endswith("a" * 40)
