"""The strongest simple baseline for a config's dataset: NBSVM (Wang & Manning, 2012) on binarised word n-grams.

Each review becomes the set of its word 1..n-grams (binary counts, scikit-learn's `CountVectorizer` on the training
split), scaled by the naive-Bayes log-count ratio r = log((p / |p|_1) / (q / |q|_1)) of the n-grams in one class
against the rest (smoothing alpha 1), and a logistic regression learns on the scaled features; several classes take
one ratio and one regression per class, the largest score wins. For a regression task there is no class ratio:
ridge regression learns on the binarised n-grams. For multi-label data, the usual linear model of the literature:
TF-IDF word 1-2-grams and a linear SVM per label (one-vs-rest), a label predicted where its score is above 0. The
regularisation (`C`, or ridge's `alpha`) is chosen on the validation split; the test split is scored once.
"""

import logging
import time

import numpy as np
import torch
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC
from transformers import EvalPrediction

from .data import is_multi_label
from .metrics import build_compute_metrics
from .modeling_lstm import distinct_ngrams, tokens_read
from .prediction import scores_by_group

logger = logging.getLogger(__name__)

C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
SVM_C_GRID = C_GRID + (30.0, 100.0)  # TF-IDF rows have unit length: a linear SVM's best C runs higher
ALPHA_GRID = (3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)


def log_count_ratio(features, in_class, alpha=1.0):
    """The naive-Bayes log-count ratio of each n-gram (num_features,) for the rows `in_class` against the others."""
    p = alpha + np.asarray(features[in_class].sum(axis=0)).ravel()
    q = alpha + np.asarray(features[~in_class].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


class NBSVM:
    """NBSVM with a logistic regression per class (one for two classes): `fit(features, labels)`, `decision(features)`
    -> (rows, num_classes) scores whose arg-max is the predicted class."""

    def __init__(self, C=1.0, num_classes=2):
        self.C, self.num_classes = C, num_classes

    def fit(self, features, labels):
        classes = [1] if self.num_classes == 2 else range(self.num_classes)
        self.models = []
        for label in classes:
            ratio = log_count_ratio(features, labels == label)
            model = LogisticRegression(C=self.C, max_iter=1000, solver="liblinear")
            model.fit(features @ sparse.diags(ratio), labels == label)
            self.models.append((ratio, model))
        return self

    def decision(self, features):
        scores = np.stack([model.decision_function(features @ sparse.diags(ratio)) for ratio, model in self.models], 1)
        if self.num_classes == 2:  # one regression: class 1's score against class 0's (zero)
            scores = np.concatenate([np.zeros_like(scores), scores], axis=1)
        return scores  # (rows, num_classes)


def nbsvm_baseline(splits, label_names, ngrams=None, other=None, group_by=None):
    """Fit on `splits["train"]`, choose the regularisation on validation, score the test split once with the same
    metrics a training run reports. `ngrams`: the longest n-gram (default 3; 2 for multi-label data). Returns
    {"validation": ..., "test": ..., "C" or "alpha": ..., "wall_time_s": ...}; with `other` (a labelled dataset, as
    `data.labelled_split` gives), also its scores ("other"), per `group_by`."""
    started = time.time()
    regression = label_names is None
    multi_label = is_multi_label(splits["train"].features["labels"])
    ngrams = ngrams or (2 if multi_label else 3)
    vectorizer = (TfidfVectorizer(ngram_range=(1, ngrams), sublinear_tf=True) if multi_label else
                  CountVectorizer(ngram_range=(1, ngrams), binary=True, lowercase=True, token_pattern=r"(?u)\b\w+\b"))
    features = {"train": vectorizer.fit_transform(splits["train"]["text"])}
    features |= {split: vectorizer.transform(splits[split]["text"]) for split in ("validation", "test")}
    labels = {split: np.asarray(splits[split]["labels"]) for split in features}
    compute_metrics = build_compute_metrics(label_names, [0.5] * len(label_names) if multi_label else None)
    metric = "rmse" if regression else "f1_micro" if multi_label else "accuracy"

    def scores(model, split):  # (rows, num_labels); a multi-label SVM's scores read as logits (above 0: the label)
        if regression:
            return model.predict(features[split]).reshape(-1, 1)
        return model.decision_function(features[split]) if multi_label else model.decision(features[split])

    def score(model, split):
        return compute_metrics(EvalPrediction(predictions=scores(model, split), label_ids=labels[split]))

    fitted = {}
    for value in ALPHA_GRID if regression else SVM_C_GRID if multi_label else C_GRID:
        if regression:
            model = Ridge(alpha=value).fit(features["train"], labels["train"])
        elif multi_label:
            model = OneVsRestClassifier(LinearSVC(C=value)).fit(features["train"], labels["train"])
        else:
            model = NBSVM(C=value, num_classes=len(label_names)).fit(features["train"], labels["train"])
        fitted[value] = (model, score(model, "validation"))
        logger.info("%s %s: validation %s %.4f", "alpha" if regression else "C", value, metric,
                    fitted[value][1][metric])
    best = (min if regression else max)(fitted, key=lambda value: fitted[value][1][metric])
    model, validation = fitted[best]
    figures = {}
    if other is not None:
        features["other"] = vectorizer.transform(other["text"])
        decision = scores(model, "other")
        figures["other"] = scores_by_group(lambda rows: decision[rows], other, group_by, lambda chosen, gold: (
            compute_metrics(EvalPrediction(predictions=chosen, label_ids=gold))))
    return figures | {
        "model": (f"ridge, binarised word 1-{ngrams}-grams" if regression else f"one-vs-rest linear SVM, TF-IDF word "
                  f"1-{ngrams}-grams" if multi_label else f"NBSVM, binarised word 1-{ngrams}-grams"),
        "alpha" if regression else "C": best,
        "features": len(vectorizer.vocabulary_),
        "validation": validation,
        "test": score(model, "test"),
        "wall_time_s": round(time.time() - started, 1),
    }


def ngram_features(config, dataset, batch_size=512):
    """The bag of hashed n-grams an n-gram channel with `config` reads in each review of `dataset` (`input_ids`): a
    binary (reviews, ngram_buckets) CSR matrix, one column per bucket (`modeling_lstm.distinct_ngrams`)."""
    rows, columns = [], []
    for start in range(0, len(dataset), batch_size):
        reviews = [torch.tensor(ids, dtype=torch.long) for ids in dataset[start : start + batch_size]["input_ids"]]
        ids = torch.nn.utils.rnn.pad_sequence(reviews, batch_first=True, padding_value=config.pad_token_id or 0)
        mask = (torch.arange(ids.shape[1]) < torch.tensor([len(r) for r in reviews]).unsqueeze(1)).long()
        ids, _, lengths = tokens_read(ids, mask, config)  # cut as the model cuts
        buckets, first = distinct_ngrams(ids, lengths, config.ngram_orders, config.ngram_buckets)
        review, position = first.nonzero(as_tuple=True)
        rows.append(review.numpy() + start)
        columns.append(buckets[review, position].numpy())
    rows, columns = np.concatenate(rows), np.concatenate(columns)
    return sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)),
                             shape=(len(dataset), config.ngram_buckets))


@torch.no_grad()
def fit_ngram_channel(model, splits):
    """Fit `model`'s n-gram channel as NBSVM on its own hashed n-grams: on the training split, its `C` chosen by
    validation accuracy; the channel's weight of each bucket is then the n-gram's log-count ratio times its regression
    weight, and its bias the regression's intercept, so that it gives NBSVM's scores as logits. Returns
    {"C", "validation_accuracy"} of the channel alone."""
    config, channel = model.config, model.ngrams
    features = {split: ngram_features(config, splits[split]) for split in ("train", "validation")}
    labels = {split: np.asarray(splits[split]["labels"]) for split in features}
    fitted = {}
    for value in C_GRID:
        nbsvm = NBSVM(C=value, num_classes=config.num_labels).fit(features["train"], labels["train"])
        fitted[value] = nbsvm, float((nbsvm.decision(features["validation"]).argmax(1) == labels["validation"]).mean())
        logger.info("n-gram channel, C %s: validation accuracy %.4f", value, fitted[value][1])
    best = max(fitted, key=lambda value: fitted[value][1])
    nbsvm = fitted[best][0]
    channel.weight.zero_()
    channel.bias.zero_()
    for label, (ratio, regression) in zip([1] if config.num_labels == 2 else range(config.num_labels), nbsvm.models):
        channel.weight[:, label] = torch.as_tensor(ratio * regression.coef_[0], dtype=channel.weight.dtype)
        channel.bias[label] = float(regression.intercept_[0])
    return {"C": best, "validation_accuracy": fitted[best][1]}
