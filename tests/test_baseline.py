import json

import numpy as np
import pytest
from datasets import Dataset
import torch
from scipy import sparse

from hf_lstm import LSTMForSequenceClassification
from hf_lstm.baseline import C_GRID, NBSVM, fit_ngram_channel, log_count_ratio, nbsvm_baseline, ngram_features
from hf_lstm.modeling_lstm import tokens_read

from .conftest import tiny_config


def test_log_count_ratio_by_hand():
    features = sparse.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1]]))
    ratio = log_count_ratio(features, np.array([True, True, False]))
    # in class: counts 2, 1, 0 (+1 each: 3, 2, 1, sum 6); other: 0, 0, 1 (+1: 1, 1, 2, sum 4)
    assert ratio == pytest.approx(np.log([(3 / 6) / (1 / 4), (2 / 6) / (1 / 4), (1 / 6) / (2 / 4)]))


def splits(labels_of, count=60):
    words = ["good", "bad", "fine"]
    rows = [(f"the film was {words[i % 3]} and {words[i % 3]} indeed", labels_of(i)) for i in range(count)]
    make = lambda part: Dataset.from_dict({"text": [t for t, _ in part], "labels": [l for _, l in part]})  # noqa
    return {"train": make(rows[:40]), "validation": make(rows[40:50]), "test": make(rows[50:])}


@pytest.mark.parametrize("names", [["neg", "pos"], ["bad", "fine", "good"]])
def test_nbsvm_learns_the_words_of_each_class_and_picks_c_on_validation(names):
    if len(names) == 2:
        data = splits(lambda i: int(i % 3 == 0))  # "good" reviews are positive
    else:
        data = splits(lambda i: [2, 0, 1][i % 3])
    figures = nbsvm_baseline(data, names)
    assert figures["test"]["accuracy"] == 1.0 and figures["validation"]["accuracy"] == 1.0
    assert figures["C"] in (0.1, 0.3, 1.0, 3.0, 10.0) and figures["features"] > 10
    model = NBSVM(num_classes=len(names))
    assert model.fit(sparse.eye(3, format="csr"), np.array([0, 1, 1 if len(names) == 2 else 2])).decision(
        sparse.eye(3, format="csr")).shape == (3, len(names))


def test_other_data_is_scored_by_the_chosen_model_as_a_whole_and_per_group():
    data = splits(lambda i: int(i % 3 == 0))
    other = Dataset.from_dict({"text": ["good good", "bad", "fine", "good"], "labels": [1, 0, 0, 0],
                               "domain": ["a", "a", "b", "b"]})
    figures = nbsvm_baseline(data, ["neg", "pos"], other=other, group_by="domain")
    assert figures["other"]["accuracy"] == pytest.approx(0.75)  # "good" alone is called positive
    assert figures["other"]["by_domain"] == {"a": pytest.approx({"accuracy": 1.0, "f1_macro": 1.0}),
                                             "b": pytest.approx({"accuracy": 0.5, "f1_macro": 1 / 3})}


def test_a_rating_task_gets_ridge_regression_scored_by_rmse():
    data = splits(lambda i: float(1 + 2 * (i % 3)))
    figures = nbsvm_baseline(data, None)
    assert figures["model"].startswith("ridge") and figures["test"]["rmse"] < 0.5 and "alpha" in figures


def test_multi_label_data_gets_a_one_vs_rest_linear_svm_scored_by_micro_f1():
    topics = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]  # good -> a, bad -> b, both words -> both, fine -> none
    words = ["good", "bad", "good bad", "fine"]
    rows = [(f"the film was {words[i % 4]} indeed {i}", topics[i % 4]) for i in range(80)]
    make = lambda part: Dataset.from_dict({"text": [t for t, _ in part], "labels": [l for _, l in part]})  # noqa
    figures = nbsvm_baseline({"train": make(rows[:50]), "validation": make(rows[50:65]), "test": make(rows[65:])},
                             ["a", "b"])
    assert figures["model"] == "one-vs-rest linear SVM, TF-IDF word 1-2-grams"
    assert figures["test"]["f1_micro"] == 1.0 and figures["test"]["subset_accuracy"] == 1.0
    assert figures["C"] in (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def test_the_script_scores_a_configs_own_splits(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("baseline_script", "scripts/baseline.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(["configs/tiny.yaml", "--output", str(tmp_path / "tiny.json"), "--ngrams", "2"])
    figures = json.loads((tmp_path / "tiny.json").read_text())
    assert figures == json.loads(capsys.readouterr().out)
    assert 0.5 < figures["test"]["accuracy"] <= 1.0 and figures["config"] == "configs/tiny.yaml"
    # the config's data options can be overridden after it, as for training (e.g. your own --dataset_name)
    script.main(["configs/tiny.yaml", "--max_train_samples", "40", "--output", str(tmp_path / "few.json"), "--ngrams", "2"])
    assert json.loads((tmp_path / "few.json").read_text())["features"] < figures["features"]


@pytest.mark.parametrize("num_labels", [2, 3])
def test_the_ngram_channel_is_fitted_as_nbsvm_on_its_own_hashed_ngrams(num_labels):
    rng = np.random.default_rng(0)

    def reviews(count):  # class k: tokens 3 + k are frequent; the rest are noise over ids 10-39
        labels = rng.integers(0, num_labels, count)
        ids = [[int(3 + label)] * 2 + rng.integers(10, 40, rng.integers(1, 12)).tolist() for label in labels]
        return Dataset.from_dict({"input_ids": ids, "labels": labels.tolist()})

    splits = {"train": reviews(200), "validation": reviews(60)}
    model = LSTMForSequenceClassification(tiny_config(num_labels=num_labels, ngram_orders=[1, 2], ngram_buckets=256,
                                                      truncation="head", max_tokens=8))
    fitted = fit_ngram_channel(model, splits)
    assert fitted["C"] in C_GRID and fitted["validation_accuracy"] > 0.9
    features = ngram_features(model.config, splits["validation"])
    assert features.shape == (60, 256) and features.max() == 1  # binarised: a bucket counts once
    assert features[0].sum() <= 8 + 7  # the model's truncation: 8 tokens at most, so at most 15 n-grams
    nbsvm = NBSVM(C=fitted["C"], num_classes=num_labels).fit(ngram_features(model.config, splits["train"]),
                                                           np.asarray(splits["train"]["labels"]))
    ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(row) for row in splits["validation"]["input_ids"]],
                                          batch_first=True)
    with torch.no_grad():
        _, _, lengths = tokens_read(ids, (ids > 0).long(), model.config)
        channel = model.ngrams(tokens_read(ids, (ids > 0).long(), model.config)[0], lengths)
    np.testing.assert_allclose(channel.numpy(), nbsvm.decision(features), atol=1e-4)
    accuracy = float((channel.argmax(1).numpy() == np.asarray(splits["validation"]["labels"])).mean())
    assert accuracy == pytest.approx(fitted["validation_accuracy"])
