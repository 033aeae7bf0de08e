import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import torch
from transformers import pipeline

import hf_lstm  # noqa: F401
from hf_lstm import prediction
from hf_lstm.hub import push
from hf_lstm.prediction import load_classifier, predict

from .conftest import save_tiny_model


def test_pipeline_returns_the_dataset_label_names(saved_model):
    classifier = pipeline("text-classification", model=str(saved_model))
    (result,) = classifier(["a great film"])
    assert result["label"] in {"neg", "pos"} and 0.5 <= result["score"] <= 1.0


def test_regression_pipeline_returns_the_rating(tmp_path, tokenizer):
    model_dir = save_tiny_model(tmp_path / "regression", tokenizer, regression=True)
    classifier = load_classifier(str(model_dir))
    (result,) = predict(classifier, ["nice dress"])
    with torch.no_grad():
        raw = classifier.model(**tokenizer(["nice dress"], return_tensors="pt")).logits.item()
    assert result["rating"] == pytest.approx(raw, abs=1e-6)  # the raw output, no sigmoid


def test_predict_gives_every_class_probability_and_rejects_bad_input(saved_model):
    classifier = load_classifier(str(saved_model), batch_size=2)
    results = predict(classifier, ["great film", "", "!!!", "dull " * 1000])
    assert len(results) == 4
    for result in results:
        assert set(result["probabilities"]) == {"neg", "pos"}
        assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert result["score"] == max(result["probabilities"].values())
    with pytest.raises(ValueError, match="no texts"):
        predict(classifier, [])
    with pytest.raises(ValueError, match="text 1 is NoneType"):
        predict(classifier, ["fine", None])


class RecordingClassifier:
    """A pipeline stand-in that records the texts it is given, in order."""

    def __init__(self, classifier):
        self.classifier, self.model, self.fed = classifier, classifier.model, []

    def __call__(self, texts, **kwargs):
        self.fed.append(list(texts))
        return self.classifier(texts, **kwargs)


def test_predict_feeds_the_pipeline_shortest_first_and_answers_in_the_given_order(saved_model):
    texts = ["a great film, " * 40, "bad", "dull and long " * 10, "fine film", ""]
    recording = RecordingClassifier(load_classifier(str(saved_model), batch_size=2))
    results = predict(recording, texts)
    assert recording.fed == [["", "bad", "fine film", "dull and long " * 10, "a great film, " * 40]]
    one_at_a_time = load_classifier(str(saved_model), batch_size=1)
    for text, result in zip(texts, results):
        (alone,) = predict(one_at_a_time, [text])
        assert result["label"] == alone["label"]
        assert result["probabilities"]["pos"] == pytest.approx(alone["probabilities"]["pos"], abs=1e-6)


def test_predict_script_reads_arguments_stdin_and_hub_revisions(saved_model, tmp_path):
    hub = tmp_path / "hub"
    push(saved_model, "team/sentiment", hub, tag="v1")
    by_args = subprocess.run([sys.executable, "scripts/predict.py", "--model", str(saved_model), "good", "bad"],
                             capture_output=True, text=True, check=True)
    lines = [json.loads(line) for line in by_args.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["good", "bad"] and lines[0]["label"] in {"neg", "pos"}
    by_stdin = subprocess.run(
        [sys.executable, "scripts/predict.py", "--model", "team/sentiment@v1", "--hub_dir", str(hub)],
        input="good\nbad\n", capture_output=True, text=True, check=True,
    )
    assert [json.loads(line) for line in by_stdin.stdout.splitlines()] == lines


def test_int8_quantised_predictions_stay_close(saved_model):
    texts = ["a great film", "awful, boring plot"]
    fp32 = predict(load_classifier(str(saved_model)), texts)
    int8_classifier = load_classifier(str(saved_model), quantize="int8")
    assert any(module._get_name() == "DynamicQuantizedLSTM" for module in int8_classifier.model.modules())
    for a, b in zip(fp32, predict(int8_classifier, texts)):
        assert a["probabilities"]["pos"] == pytest.approx(b["probabilities"]["pos"], abs=0.02)


def test_bf16_predictions_stay_close_and_bad_quantize_is_refused(saved_model, monkeypatch):
    texts = ["a great film", "awful, boring plot"]
    fp32 = predict(load_classifier(str(saved_model)), texts)
    monkeypatch.setattr(prediction, "fast_bf16_available", lambda: True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bf16_classifier = load_classifier(str(saved_model), quantize="bf16")
    assert not [w for w in caught if "emulated" in str(w.message)]  # no slowness warning where bf16 is fast
    assert bf16_classifier.model.classifier.weight.dtype == torch.bfloat16
    for a, b in zip(fp32, predict(bf16_classifier, texts)):
        assert a["probabilities"]["pos"] == pytest.approx(b["probabilities"]["pos"], abs=0.02)
    with pytest.raises(ValueError, match="quantize must be one of.*'int4'"):
        load_classifier(str(saved_model), quantize="int4")


def test_bf16_where_it_is_emulated_warns_that_it_is_slow(saved_model, monkeypatch):
    monkeypatch.setattr(prediction, "fast_bf16_available", lambda: False)  # e.g. an AVX2 CPU without AMX
    with pytest.warns(UserWarning, match="bf16 is emulated and slow"):
        classifier = load_classifier(str(saved_model), quantize="bf16")
    assert classifier.model.classifier.weight.dtype == torch.bfloat16  # still does what was asked


@pytest.mark.parametrize("text", ["great " * 200_000, "x" * 1_000_000], ids=["words", "one-word"])
def test_a_million_character_review_is_truncated_in_bounded_time(saved_model, text):
    classifier = load_classifier(str(saved_model))
    started = time.perf_counter()
    (result,) = predict(classifier, [text])
    assert time.perf_counter() - started < 10
    # the model reads the review's first and last 16 tokens (head_tail, max_tokens 32), whatever the tokenizer is told
    ids = classifier.tokenizer(text)["input_ids"]
    kept = torch.tensor([ids[:16] + ids[-16:] if len(ids) > 32 else ids])
    with torch.no_grad():
        expected = classifier.model(input_ids=kept).logits.softmax(-1)[0, 1].item()
    assert result["probabilities"]["pos"] == pytest.approx(expected, abs=1e-6)
    assert classifier([text], truncation=True)[0] == classifier([text])[0]


ODD_TEXTS = ["", "   \t\n ", "?!...", "\x00\x00", "a\u200bb\u200e\u202ec", "😀🎬👍", "bad \ud800 surrogate", "\udfff"]


def test_empty_odd_and_broken_unicode_reviews_get_a_defined_prediction(saved_model):
    classifier = load_classifier(str(saved_model))
    results = predict(classifier, ODD_TEXTS)
    assert len(results) == len(ODD_TEXTS)
    empty = predict(classifier, [""])[0]
    # whitespace, punctuation-only text and the empty review all read as a single [PAD] token: one defined answer
    assert results[1]["probabilities"] == pytest.approx(empty["probabilities"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=2000), min_size=1, max_size=4), st.integers(0, 100_000))
def test_fuzzed_text_never_crashes_and_shapes_are_right(saved_model, texts, long_length):
    classifier = _cached_classifier(saved_model)  # the fixture is made once for all examples: load it once
    texts = texts + ["w " * (long_length // 2)]
    results = predict(classifier, texts)
    assert len(results) == len(texts)
    for result in results:
        assert set(result["probabilities"]) == {"neg", "pos"}
        assert all(0.0 <= p <= 1.0 for p in result["probabilities"].values())


_CLASSIFIERS = {}


def _cached_classifier(model_dir):
    if str(model_dir) not in _CLASSIFIERS:
        _CLASSIFIERS[str(model_dir)] = load_classifier(str(model_dir))
    return _CLASSIFIERS[str(model_dir)]


def test_a_model_saved_before_the_config_carried_truncation_keeps_cutting_the_head(tmp_path, tokenizer):
    model_dir = save_tiny_model(tmp_path / "old", tokenizer)
    config = json.loads((model_dir / "config.json").read_text())
    for key in ("truncation", "max_tokens"):
        del config[key]
    (model_dir / "config.json").write_text(json.dumps(config))
    settings = json.loads((model_dir / "tokenizer_config.json").read_text())
    (model_dir / "tokenizer_config.json").write_text(json.dumps({**settings, "model_max_length": 8}))
    classifier = load_classifier(str(model_dir))
    assert (classifier.model.config.truncation, classifier.model.config.max_tokens) == ("head", 8)
    text = "a wonderful film the acting is great and the story moving " * 3
    ids = classifier.tokenizer(text)["input_ids"]
    with torch.no_grad():
        head = classifier.model(input_ids=torch.tensor([ids[:8]])).logits.softmax(-1)[0, 1].item()
    (result,) = predict(classifier, [text])
    assert len(ids) > 8 and result["probabilities"]["pos"] == pytest.approx(head, abs=1e-6)


def test_predict_script_ends_with_one_error_line_for_a_folder_without_a_model(tmp_path):
    result = subprocess.run([sys.executable, "scripts/predict.py", "--model", str(tmp_path), "fine"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"error: {tmp_path}/model.safetensors: missing; found nothing. " \
                                                     "Only safetensors weights are loaded"


def run_script(*arguments, **kwargs):
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, timeout=120, **kwargs)


def test_predict_script_names_a_missing_or_non_utf8_file(saved_model, tmp_path):
    result = run_script("scripts/predict.py", "--model", str(saved_model), "--file", str(tmp_path / "missing.txt"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path}/missing.txt: cannot be read (No such file or directory)"
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("a fine film\nun très bon film\n".encode("latin-1"))
    result = run_script("scripts/predict.py", "--model", str(saved_model), "--file", str(latin1))
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {latin1}: line 2 is not UTF-8 (byte 0xe8); re-save the file")


def test_a_model_name_that_is_neither_a_folder_nor_on_the_hub_says_to_give_a_hub_directory(tmp_path):
    result = run_script("scripts/predict.py", "--model", "team/sentiment@v1", "fine",
                        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: team/sentiment@v1: no such model folder, and the Hugging Face Hub did not give it "
        "(LocalEntryNotFoundError); for a model in a hub directory pass --hub_dir DIR"
    )


def labelled_csv(path, count=30):
    path.write_text("review,sentiment\n" + "".join(
        f"{('a great film', 'a dull film')[i % 2]} {i},{('pos', 'neg')[i % 2]}\n" for i in range(count)))
    return path


def test_score_script_reports_the_training_metrics_and_writes_each_prediction_beside_its_gold_label(
        saved_model, tmp_path):
    data = labelled_csv(tmp_path / "new.csv")
    predictions = tmp_path / "predictions.jsonl"
    result = run_script("scripts/score.py", str(saved_model), str(data), "--text_columns", "review",
                        "--label_column", "sentiment", "--predictions", str(predictions))
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(result.stdout)
    records = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [record["row"] for record in records] == list(range(30))
    assert [record["gold"] for record in records] == [("pos", "neg")[i % 2] for i in range(30)]
    expected = predict(load_classifier(str(saved_model)), [f"{('a great film', 'a dull film')[i % 2]} {i}"
                                                            for i in range(30)])
    assert [record["label"] for record in records] == [result["label"] for result in expected]
    accuracy = sum(record["label"] == record["gold"] for record in records) / 30
    assert metrics["accuracy"] == pytest.approx(accuracy) and set(metrics) == {"accuracy", "f1_macro"}
    again = run_script("scripts/score.py", str(saved_model), str(data), "--text_columns", "review",
                       "--label_column", "sentiment", "--predictions", str(predictions))
    assert again.returncode == 1 and again.stderr.strip() == f"error: {predictions}: exists; choose a new file for " \
                                                             "the predictions"


def test_score_script_reports_each_group_of_a_column_beside_the_whole(saved_model, tmp_path):
    data = tmp_path / "domains.csv"
    data.write_text("text,label,domain\n" + "".join(
        f"{('a great film', 'a dull film')[i % 2]} {i},{('pos', 'neg')[i % 2]},{('books', 'dvd')[i % 3 == 0]}\n"
        for i in range(30)))
    predictions = tmp_path / "predictions.jsonl"
    result = run_script("scripts/score.py", str(saved_model), str(data), "--group_by", "domain",
                        "--predictions", str(predictions))
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads(result.stdout)
    records = [json.loads(line) for line in predictions.read_text().splitlines()]
    for domain, rows in (("dvd", range(0, 30, 3)), ("books", [i for i in range(30) if i % 3])):
        right = sum(records[i]["label"] == records[i]["gold"] for i in rows) / len(rows)
        assert metrics["by_domain"][domain]["accuracy"] == pytest.approx(right), domain
    missing = run_script("scripts/score.py", str(saved_model), str(data), "--group_by", "genre")
    assert missing.returncode == 1 and "column(s) ['genre'] not found" in missing.stderr


def test_score_script_names_a_label_the_model_does_not_know(saved_model, tmp_path):
    data = tmp_path / "odd.csv"
    data.write_text("text,label\nfine,pos\nodd,maybe\n")
    result = run_script("scripts/score.py", str(saved_model), str(data))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {data}: column 'label' has 1 invalid label(s), expected one of ['neg', 'pos']; first: row 1: 'maybe'"
    )


def test_regression_records_and_scores_hold_the_rating():
    results = [{"rating": 4.0}, {"rating": 2.0}]
    record = prediction.prediction_records(results, [7, 8], [5.0, 2.0], None)
    assert [json.loads(line) for line in record.splitlines()] == [
        {"row": 7, "gold": 5.0, "rating": 4.0}, {"row": 8, "gold": 2.0, "rating": 2.0}]
    metrics = prediction.score_predictions(results, [5.0, 2.0], None)
    assert metrics["mae"] == pytest.approx(0.5) and metrics["rmse"] == pytest.approx(0.5 ** 0.5)
    stored = float(np.float32(5.17))  # a rating as an Arrow float32 column gives it back: 5.170000076293945
    assert json.loads(prediction.prediction_records(results[:1], [0], [stored], None))["gold"] == 5.17


def test_probabilities_are_listed_in_class_order_wherever_a_prediction_is_recorded(saved_model):
    classifier = load_classifier(str(saved_model))
    names = prediction.label_names_of(classifier)
    for result in predict(classifier, ["a great film", "a dull film", "fine"]):
        assert list(result["probabilities"]) == names
    record = prediction.results_from_logits(np.array([[0.0, 2.0]]), names)[0]
    assert list(record["probabilities"]) == names
