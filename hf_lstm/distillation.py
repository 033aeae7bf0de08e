"""Teachers for distillation (`--teacher_model_name_or_path`): any `AutoModelForSequenceClassification` with its own
tokenizer (a transformer, another hf_lstm model), from a folder, a hub directory or the Hugging Face Hub
(`hub.resolve_model`).

Each teacher's outputs are computed once per prepared data, with its own tokenizer and truncation, through the stock
`pipeline("text-classification")` (`prediction.predict`: batched, shortest reviews first, on the accelerator when
there is one), and cached beside the prepared data under a key made of every teacher's files' hashes. They become a
`teacher_logits` column (rows, teachers, num_labels) of the training, unlabelled and test splits: the model's
distillation term reads the first two; the test split's are read only to report the teachers' scores and the
student's agreement with them (`teacher_report`).
"""

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, EvalPrediction
from tqdm.auto import tqdm

from .atomic import atomic_directory
from .hub import MODEL_FILES, sha256_of
from .loading import load_model
from .metrics import build_compute_metrics
from .prediction import classification_pipeline, in_original_order, logits_of, predict, shortest_first

logger = logging.getLogger(__name__)

TEACHER_FORMAT = 1  # bump when the cached teacher outputs change
TEACHER_SPLITS = ("train", "unlabelled", "test")
class TeacherError(ValueError):
    """A teacher that cannot be used; the message names it."""


def teacher_fingerprint(folder):
    """A hash of the files that decide a teacher's outputs (`MODEL_FILES`): the cache key of its outputs."""
    paths = sorted({path for pattern in MODEL_FILES for path in Path(folder).glob(pattern) if path.is_file()})
    if not any(path.suffix == ".safetensors" for path in paths):
        raise TeacherError(f"{folder}: no .safetensors weights; only safetensors are loaded (a pickle never is)")
    return hashlib.sha256(json.dumps([[path.name, sha256_of(path)] for path in paths]).encode()).hexdigest()


def check_teacher_labels(name, config, label_names):
    """Refuse a teacher whose classes are not the student's (matched by name through `id2label`); a regression
    student needs a one-output teacher, read as a rating."""
    teacher_names = [config.id2label[i] for i in range(config.num_labels)]
    if label_names is None:
        if config.num_labels != 1:
            raise TeacherError(f"--teacher_model_name_or_path {name}: a regression model learns from a teacher with "
                               f"one output (a rating); it has {config.num_labels}: {teacher_names}")
        return
    if sorted(teacher_names) != sorted(label_names):
        raise TeacherError(
            f"--teacher_model_name_or_path {name}: its labels {teacher_names} (id2label) do not match the data's "
            f"classes {list(label_names)}; teachers are matched to the data by label name"
        )


def teacher_pipeline(folder, config, label_names, batch_size=64, device=None):
    """The stock text-classification pipeline of a teacher folder (`config`: its config), returning every class's
    probability (or the rating for a regression student), truncating as its tokenizer says; on the accelerator when
    there is one."""
    if config.model_type == "hf_lstm":
        model, tokenizer = load_model(folder)  # checked against its config; truncates itself
    else:
        try:
            model = AutoModelForSequenceClassification.from_pretrained(folder, use_safetensors=True)
        except (OSError, ValueError) as error:
            raise TeacherError(f"{folder}: not a sequence classifier with safetensors weights ({error})") from None
        tokenizer = AutoTokenizer.from_pretrained(folder)
    if label_names is None:
        model.config.problem_type = "regression"  # its one output is a rating, not a probability
    if device is None:
        device = torch.accelerator.current_accelerator() if torch.accelerator.is_available() else "cpu"
    return classification_pipeline(model.eval(), tokenizer, batch_size, device, truncation=True)


def teacher_logits(classifier, texts, label_names, description="teacher", chunk=2048):
    """(texts, num_labels) log-probabilities in the order of `label_names` (what a softmax turns back into the
    pipeline's probabilities), or (texts, 1) ratings, with a progress bar; shortest texts first, so batches pad
    little."""
    order = shortest_first([len(text) for text in texts])
    ordered = [texts[row] for row in order]
    results = []
    with tqdm(total=len(ordered), desc=description, unit="reviews") as progress:
        for start in range(0, len(ordered), chunk):
            results.extend(predict(classifier, ordered[start : start + chunk]))
            progress.update(len(ordered[start : start + chunk]))
    return in_original_order(logits_of(results, label_names).astype(np.float32), order)


def add_teacher_outputs(splits, teachers, label_names, cache, batch_size=64):
    """`splits` with a `teacher_logits` column (rows, teachers, num_labels) on its training, unlabelled and test
    splits, from each teacher in `teachers` ({name: folder}); computed once and cached in `cache`/teachers/KEY, KEY
    covering every teacher's files (`teacher_fingerprint`) and the class names."""
    configs = {}
    for name, folder in teachers.items():
        try:
            configs[name] = AutoConfig.from_pretrained(folder)
        except (OSError, ValueError) as error:
            raise TeacherError(f"--teacher_model_name_or_path {name}: {folder} has no readable config.json ({error})")
        check_teacher_labels(name, configs[name], label_names)
    present = [split for split in TEACHER_SPLITS if split in splits]
    key = json.dumps([TEACHER_FORMAT, [teacher_fingerprint(folder) for folder in teachers.values()], label_names,
                      present])
    folder = Path(cache) / "teachers" / hashlib.sha256(key.encode()).hexdigest()[:16]
    if not (folder / "done").exists():
        outputs = {split: [] for split in present}
        for name, teacher in teachers.items():
            classifier = teacher_pipeline(teacher, configs[name], label_names, batch_size)
            for split in present:
                texts = list(splits[split]["text"])
                logger.info("teacher %s: %d %s reviews on %s", name, len(texts), split, classifier.device)
                outputs[split].append(teacher_logits(classifier, texts, label_names, f"{name} [{split}]"))
        with atomic_directory(folder, replace=False) as partial:  # another process may finish it first: theirs stays
            for split, arrays in outputs.items():
                np.save(partial / f"{split}.npy", np.stack(arrays, axis=1))  # (rows, teachers, num_labels)
            (partial / "teachers.json").write_text(json.dumps(list(teachers), indent=2))
            (partial / "done").write_text("")
    else:
        logger.info("teacher outputs: reusing %s", folder)
    for split in present:
        values = np.load(folder / f"{split}.npy")
        splits[split] = splits[split].add_column("teacher_logits", values.tolist())
    return splits


def teacher_report(test_split, student_logits, label_names, names):
    """Each teacher's test metrics, their average's, and how often the student predicts what the average predicts
    (classification; for regression, the RMSE between the student's and the average's ratings)."""
    teachers = np.asarray(test_split["teacher_logits"], dtype=np.float64)  # (rows, teachers, num_labels)
    labels = np.asarray(test_split["labels"])
    metrics = build_compute_metrics(label_names)
    report = {"teachers": {}}
    for index, name in enumerate(names):
        report["teachers"][name] = metrics(EvalPrediction(predictions=teachers[:, index], label_ids=labels))
    if label_names is None:
        average = teachers.mean(axis=1)  # (rows, 1) ratings
        report["ensemble"] = metrics(EvalPrediction(predictions=average, label_ids=labels))
        report["student_rmse_to_ensemble"] = float(np.sqrt(((np.asarray(student_logits) - average) ** 2).mean()))
    else:
        probabilities = torch.from_numpy(teachers).softmax(dim=-1).mean(dim=1)  # (rows, num_labels)
        report["ensemble"] = metrics(EvalPrediction(predictions=probabilities.log().numpy(), label_ids=labels))
        agreement = np.asarray(student_logits).argmax(axis=-1) == probabilities.numpy().argmax(axis=-1)
        report["student_agreement_with_ensemble"] = float(agreement.mean())
    return report
