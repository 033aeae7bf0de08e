"""Batched prediction with the stock `pipeline("text-classification")`, from a folder or a hub-directory revision,
and the prediction record that training and `scripts/score.py` write."""

import json
import re
import warnings

import numpy as np

import torch
from transformers import AutoTokenizer, EvalPrediction, pipeline
from transformers.utils import logging as hf_logging

from .cli import require_extra
from .hardware import fast_bf16_available
from .metrics import build_compute_metrics, decision_thresholds
from .hub import resolve_model
from .loading import load_model

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def quantize_int8(model):
    """int8 dynamic quantisation of the recurrent and linear layers (CPU inference)."""
    return torch.ao.quantization.quantize_dynamic(model, {torch.nn.LSTM, torch.nn.GRU, torch.nn.Linear}, dtype=torch.qint8)


QUANTIZE_CHOICES = (None, "int8", "bf16")
BACKENDS = ("torch", "onnx")


def onnx_pipeline(folder, quantize, batch_size):
    """The stock text-classification pipeline around an ONNX export folder's graph, run by ONNX Runtime."""
    from .onnx_model import LSTMOnnxForSequenceClassification  # ONNX Runtime is loaded only for this backend

    model = LSTMOnnxForSequenceClassification.from_export(folder, quantize=quantize)
    return classification_pipeline(model, AutoTokenizer.from_pretrained(folder), batch_size, device="cpu")


def classification_pipeline(model, tokenizer, batch_size=64, device=None, **options):
    """The stock `pipeline("text-classification")` around a loaded model, returning every class's probability (or
    the rating, for regression). The pipeline checks the model's class against the classes it knows by name and logs
    an error for the ones it does not (hf_lstm's, the ONNX one, some Hub models'), then runs them all the same: that
    message is silenced."""
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity(hf_logging.CRITICAL)
    try:
        return pipeline("text-classification", model=model, tokenizer=tokenizer, top_k=None, batch_size=batch_size,
                        device=device, **options)
    finally:
        hf_logging.set_verbosity(verbosity)


def load_classifier(model, hub_dir=None, quantize=None, batch_size=64, backend="torch"):
    """A text-classification pipeline that returns every class's probability (or the rating, for regression).

    `backend`: "torch" (a saved model folder) or "onnx" (a folder written by `scripts/export_onnx.py`, run by ONNX
    Runtime on the CPU). `quantize`: None (float32), "int8" (torch: dynamic int8 quantisation on the CPU; onnx: the
    export's `model_quantized.onnx`) or, with torch, "bf16" (bfloat16 weights and activations; fast on GPUs and on
    CPUs with AMX, slow on CPUs without bf16 support).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if quantize not in QUANTIZE_CHOICES:
        raise ValueError(f"quantize must be one of {QUANTIZE_CHOICES}, got {quantize!r}")
    if backend == "onnx":
        require_extra("onnx", "onnxruntime")
        if quantize == "bf16":
            raise ValueError("quantize='bf16' is for the torch backend; the ONNX backend runs float32 or int8")
        return onnx_pipeline(resolve_model(model, hub_dir), quantize, batch_size)
    model, tokenizer = load_model(resolve_model(model, hub_dir))
    if quantize == "int8":
        model = quantize_int8(model)  # quantised kernels are CPU kernels
    elif quantize == "bf16":
        if not fast_bf16_available():
            warnings.warn(
                "quantize='bf16': this machine has no GPU with bf16 and no CPU with AMX, so bf16 is emulated and slow "
                "(about 9 times slower than float32 on an AVX2 CPU); leave quantize unset for float32",
                stacklevel=2,
            )
        model = model.to(torch.bfloat16)
    return classification_pipeline(model, tokenizer, batch_size, device="cpu" if quantize == "int8" else None)


def read_texts(path):
    """One text per line of a UTF-8 file; a missing or undecodable file is refused with its name (`ValueError`)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{path}: line {line} is not UTF-8 (byte 0x{data[error.start]:02x}); re-save the file as UTF-8, "
            f"e.g. iconv -f latin1 -t utf-8 {path}"
        ) from None
    return text.splitlines()


def predict(classifier, texts):
    """One dict per text: {"label", "score", "probabilities"}; for a multi-label model {"labels", "scores"}: the
    labels whose sigmoid probability reaches their threshold (`config.decision_thresholds`) and every label's
    probability; for a regression model {"rating"}."""
    texts = list(texts)
    if not texts:
        raise ValueError("no texts to predict: give at least one")
    for row, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"text {row} is {type(text).__name__}, not a string")
    texts = [LONE_SURROGATE.sub("\ufffd", text) for text in texts]  # not encodable as UTF-8: mark as unknown
    # The pipeline pads each batch to its longest review: fed shortest first, it runs twice the reviews/s on IMDB's
    # test split. The results come back in the order of `texts`.
    order = shortest_first([len(text) for text in texts])
    label_names = label_names_of(classifier)
    thresholds = decision_thresholds(classifier.model.config)
    results = []
    for scores in classifier([texts[row] for row in order]):  # the model truncates (its config)
        by_label = {item["label"]: item["score"] for item in scores}  # the pipeline's: highest first
        if label_names is None:
            results.append({"rating": scores[0]["score"]})
        elif thresholds is not None:  # the pipeline's sigmoid probabilities
            results.append(label_set_result([by_label[name] for name in label_names], label_names, thresholds))
        else:
            results.append({"label": scores[0]["label"], "score": scores[0]["score"],
                            "probabilities": {name: by_label[name] for name in label_names}})  # in class order
    return in_original_order(results, order)


def shortest_first(lengths):
    """The order (a permutation of row numbers) that reads rows shortest first, ties in their own order. Batches of
    rows of similar length pad little; padding never changes a prediction, only the speed."""
    return np.argsort(np.asarray(lengths), kind="stable")


def in_original_order(values, order):
    """Rows `values` (an array, or a list) read in `order`, put back where they came from."""
    if values is None:
        return None
    if isinstance(values, np.ndarray):
        restored = np.empty_like(values)
        restored[order] = values
        return restored
    restored = [None] * len(values)
    for row, value in zip(order, values):
        restored[row] = value
    return restored


def label_set_result(probabilities, label_names, thresholds):
    """A multi-label answer: {"labels": the names whose probability reaches their threshold, "scores": {name:
    probability} in label order}."""
    chosen = [name for name, value, threshold in zip(label_names, probabilities, thresholds) if value >= threshold]
    return {"labels": chosen, "scores": dict(zip(label_names, probabilities))}


def results_from_logits(logits, label_names, thresholds=None):
    """`predict`'s answers from a model's outputs `logits` (texts, num_labels): `{"label", "score", "probabilities"}`
    per text, `{"labels", "scores"}` for a multi-label model (`thresholds`, one per label), or `{"rating"}` for
    regression (`label_names` None)."""
    logits = torch.from_numpy(np.asarray(logits)).double()  # (texts, num_labels)
    if label_names is None:
        return [{"rating": value} for value in logits[:, 0].tolist()]
    if thresholds is not None:
        return [label_set_result(row, label_names, thresholds) for row in logits.sigmoid().tolist()]
    results = []
    for row in logits.softmax(dim=-1).tolist():  # (num_labels,) probabilities
        best = max(range(len(row)), key=row.__getitem__)
        results.append({"label": label_names[best], "score": row[best], "probabilities": dict(zip(label_names, row))})
    return results


def prediction_records(results, rows, gold, label_names):
    """The prediction record, one JSON line per text: its `row` (in the data it was read from), its `gold` label (a
    class name, a list of label names for multi-label data, or the rating) and the prediction as `predict` answers it,
    so that errors can be looked up."""
    lines = []
    for row, label, result in zip(rows, gold, results):
        # a rating as the data wrote it: the shortest decimal that its float32 value stands for (5.17, not 5.1700000763)
        expected = (float(str(np.float32(label))) if label_names is None
                    else [name for name, hot in zip(label_names, label) if hot] if np.ndim(label)
                    else label_names[label])
        lines.append(json.dumps({"row": int(row), "gold": expected, **result}, ensure_ascii=False) + "\n")
    return "".join(lines)


def logits_of(results, label_names):
    """(texts, num_labels) scores that give back `results`' probabilities under a softmax (their logarithms), or
    under a sigmoid for a multi-label model (their log-odds), or (texts, 1) ratings: what `build_compute_metrics`
    reads."""
    if label_names is None:
        return np.array([[result["rating"]] for result in results])
    if results and "scores" in results[0]:
        probabilities = np.clip([[result["scores"][name] for name in label_names] for result in results], 1e-30, 1)
        return np.log(probabilities) - np.log1p(-np.minimum(probabilities, 1 - 1e-16))
    probabilities = np.array([[result["probabilities"][name] for name in label_names] for result in results])
    return np.log(np.clip(probabilities, 1e-30, None))


def score_predictions(results, gold, label_names, thresholds=None):
    """The metrics training reports (accuracy and macro F1, the multi-label F1s at `thresholds`, or RMSE and MAE) of
    `results` against `gold`."""
    labels = np.asarray(gold)
    scores = logits_of(results, label_names)
    return build_compute_metrics(label_names, thresholds)(EvalPrediction(predictions=scores, label_ids=labels))


def label_names_of(classifier):
    """The classifier's class names in id order, or None for a regression model."""
    config = classifier.model.config
    if config.problem_type == "regression":
        return None
    return [config.id2label[i] for i in range(config.num_labels)]


def score_dataset(classifier, dataset, group_by=None):
    """Score a labelled dataset (`text`, `labels`, `row` columns, as `hf_lstm.data.labelled_split` gives) with the
    classifier: (metrics, prediction record); with `group_by` (a column), also the metrics of each of its values."""
    label_names, thresholds = label_names_of(classifier), decision_thresholds(classifier.model.config)
    results = predict(classifier, dataset["text"])
    metrics = scores_by_group(lambda rows: [results[i] for i in rows], dataset, group_by,
                              lambda chosen, gold: score_predictions(chosen, gold, label_names, thresholds))
    return metrics, prediction_records(results, dataset["row"], dataset["labels"], label_names)


def scores_by_group(select, dataset, group_by, score):
    """`score(select(rows), gold)` of the whole `dataset` and, with `group_by`, of each value of that column
    ({"by_<column>": {value: metrics}}): the one rule for per-group figures (`score.py`, the baseline)."""
    gold = np.asarray(dataset["labels"])
    metrics = score(select(np.arange(len(gold))), gold)
    if group_by is not None:
        groups = np.asarray(dataset[group_by])
        metrics[f"by_{group_by}"] = {str(value): score(select(np.flatnonzero(groups == value)), gold[groups == value])
                                     for value in sorted(set(groups.tolist()))}
    return metrics
