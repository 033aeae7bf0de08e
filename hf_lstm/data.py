"""Reviews in, labelled and tokenized splits out: load (hub id, folder or file), validate labels, split, tokenize, cache."""

import csv
import hashlib
import json
import logging
import math
import os
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path

import datasets
import numpy as np
from datasets import ClassLabel, DatasetDict, Features, Value
from sklearn.model_selection import train_test_split
import torch
from transformers import AutoTokenizer

from .atomic import atomic_directory
from .distillation import add_teacher_outputs
from .metrics import numeric_class_values
from .modeling_lstm import truncate_batch
from .tokenization import train_tokenizer

logger = logging.getLogger(__name__)

FILE_BUILDERS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet", ".txt": "text"}
DELIMITERS = {".csv": ",", ".tsv": "\t"}
LABELLED_SPLITS = ("train", "validation", "test")
PREPARED_FORMAT = 5  # bump when the prepared data changes, so old caches are not reused


class DataError(ValueError):
    """Input data that cannot be trained on; the message names the file, column and rows."""


def load_raw_dataset(dataset_name, dataset_config_name=None, data_files=None):
    """Load a hub id, a dataset folder or a single .csv/.tsv/.json/.jsonl/.parquet file, or a .txt file with one document
    a line (column `text`), as a `DatasetDict`; or `data_files` ({split: file}, run_classification.py's
    `--train_file` / `--validation_file` / `--test_file`), one split a file."""
    files = data_files or {"train": dataset_name}
    suffixes = {Path(path).suffix.lower() for path in files.values()}
    if data_files or suffixes <= set(FILE_BUILDERS):
        if len(suffixes) > 1 or not suffixes <= set(FILE_BUILDERS):
            raise DataError(f"{', '.join(files.values())}: give files of one kind, one of {', '.join(FILE_BUILDERS)}")
        suffix = suffixes.pop()
        for path in files.values():
            if not os.path.isfile(path):
                raise DataError(f"{path}: no such file")
            _check_readable(path, suffix)
        try:
            options = csv_as_text(files["train"], DELIMITERS[suffix]) if suffix in DELIMITERS else {}
            return datasets.load_dataset(FILE_BUILDERS[suffix], data_files=files, **options)
        except Exception as error:  # the builders' own errors do not always name the file
            raise DataError(f"{', '.join(files.values())}: cannot be read as {suffix[1:]}: {error}") from error
    if os.path.isfile(dataset_name):
        raise DataError(f"{dataset_name}: not a kind of file read here; give a {', '.join(FILE_BUILDERS)} file or a "
                        "dataset folder")
    if not os.path.isdir(dataset_name) and dataset_name.count("/") > 1:  # a path (a hub id is 'name' or 'org/name')
        raise DataError(f"{dataset_name}: no such file or folder")
    try:
        return datasets.load_dataset(dataset_name, dataset_config_name)
    except Exception as error:  # not here, no network, no such dataset on the Hub, an unreadable folder
        where = "the folder" if os.path.isdir(dataset_name) else "no such file or folder here, and the Hub"
        raise DataError(f"{dataset_name}: {where} could not be read as a dataset: {error}") from error


def csv_as_text(path, delimiter=","):
    """Builder options that read every CSV (or TSV) cell as the text written in the file (labels are checked as
    written)."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle, delimiter=delimiter))
    names = [name or f"Unnamed: {i}" for i, name in enumerate(header)]  # pandas' name for an unnamed column
    features = Features({name: Value("string") for name in names})
    return {"features": features, "keep_default_na": False, "encoding": "utf-8-sig", "sep": delimiter}


def _check_readable(path, suffix):
    """Refuse text files that are not UTF-8 or hold no rows, naming the file."""
    if suffix == ".parquet":
        return
    with open(path, "rb") as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text (byte {error.start}); re-save it as UTF-8") from error
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{path}: the file is empty")
    if suffix in DELIMITERS and len(lines) == 1:
        raise DataError(f"{path}: the file has a header but no rows")


def join_texts(dataset, text_columns, source):
    """Add a `text` column: the text columns joined with a space, empty or missing parts skipped."""
    missing = [column for column in text_columns if column not in dataset.column_names]
    if missing:
        raise DataError(f"{source}: text column(s) {missing} not found; columns are {dataset.column_names}")

    def join(batch):
        rows = zip(*(batch[column] for column in text_columns))
        return {"text": [" ".join(part for part in row if isinstance(part, str) and part.strip()) for row in rows]}

    return dataset.map(join, batched=True, desc="Joining text columns")


def infer_class_names(values, label_column, source):
    """Class names for a label column that is not a `ClassLabel`: the training split's distinct values, sorted (in
    numeric order when every value is a number: "2" before "10"), as strings."""
    present = {label_text(value) for value in values if value is not None and label_text(value)}
    if not present:
        raise DataError(f"{source}: column {label_column!r} holds no labels")
    values = numeric_class_values(sorted(present))
    if values is None:
        return sorted(present)
    return [name for _, name in sorted(zip(values, sorted(present)))]


def warn_if_delimited(values, label_column, source):
    """Warn where most string labels hold a comma ("sports,politics"): each such string is trained as one class."""
    texts = [value for value in values if isinstance(value, str) and value.strip()]
    with_comma = [value for value in texts if "," in value]
    if texts and len(with_comma) > len(texts) / 2:
        logger.warning("warning: %s: %d of %d labels in column %r hold a comma (e.g. %r) and each is trained as one "
                       "class; for several labels a row, pass --label_delimiter ','", source, len(with_comma),
                       len(texts), label_column, with_comma[0])


def label_text(value):
    """A raw label as text: a whole-number float (pandas reads a column of 1-5 stars as 1.0-5.0) as that number."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value.strip() if isinstance(value, str) else str(value)


def as_number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def is_multi_label(feature):
    """Whether a label column (its `datasets` feature) holds a list of labels a row."""
    return isinstance(feature, (datasets.List, datasets.LargeList, datasets.Sequence))


def label_set(value, delimiter=None, feature=None):
    """One row's labels as a list of names: a list's items (a list of `ClassLabel` ids as their names), or a string
    cut at `delimiter`; empty names dropped. None where the value is neither (missing)."""
    if isinstance(value, str) and delimiter is not None:
        value = value.split(delimiter)
    if not isinstance(value, (list, tuple)):
        return None
    names = feature.names if isinstance(feature, ClassLabel) else None
    return [names[item] if names else label_text(item) for item in value if item is not None and label_text(item)]


def label_encoder(feature, task, label_names, label_column, source, delimiter=None):
    """Return (function mapping one raw label to a training label or None if invalid, class names or None).
    `task` "multi_label": a row's label set (`label_set`) becomes a multi-hot list over `label_names`."""
    if task == "multi_label":
        index = {name: i for i, name in enumerate(label_names)}

        def to_multi_hot(value):
            names = label_set(value, delimiter, getattr(feature, "feature", None))
            if names is None or any(name not in index for name in names):
                return None
            held = {index[name] for name in names}
            return [float(i in held) for i in range(len(label_names))]

        return to_multi_hot, list(label_names)
    if task == "regression":

        def to_number(value):
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    return None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                return None
            return float(value)

        return to_number, None
    if task != "classification":
        raise DataError(f"task must be 'classification', 'regression' or 'language_modeling', got {task!r}")
    if isinstance(feature, ClassLabel):
        return class_label_encoder(feature, label_names, label_column, source)
    label_names = [str(name) for name in label_names]
    index = {name: i for i, name in enumerate(label_names)}
    numbers = [as_number(name) for name in label_names]
    by_value = {number: i for i, number in enumerate(numbers)} if None not in numbers else {}

    def to_index(value):
        if value is None or isinstance(value, bool):
            return None
        text = label_text(value)
        found = index.get(text)
        return by_value.get(as_number(text)) if found is None else found  # "5.0", 5.0 and 5 are class "5"

    return to_index, label_names


def class_label_encoder(feature, label_names, label_column, source):
    """A `ClassLabel` column's encoder: its own names, or `label_names` (`--class_names`) that reorder them (the same
    names) or rename them (as many new names, in the ClassLabel's order)."""
    own = list(feature.names)
    if label_names is None or list(label_names) == own:
        mapping = list(range(len(own)))
        label_names = own
    elif sorted(label_names) == sorted(own):
        mapping = [list(label_names).index(name) for name in own]
    elif len(label_names) == len(own):
        mapping = list(range(len(own)))
    else:
        raise DataError(
            f"{source}: column {label_column!r} is a ClassLabel with the names {own}; --class_names must list them "
            f"(to reorder them) or give {len(own)} new names in that order (to rename them), got {list(label_names)}"
        )

    def to_index(value):
        return mapping[value] if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(own) else None

    return to_index, [str(name) for name in label_names]


def encode_labels(dataset, label_column, task, label_names, source, inferred=False, delimiter=None):
    """Add a `labels` column, refusing the split if any label is missing or invalid (naming the first bad rows).

    `inferred`: the class names were read from the training split, so a label outside them is one that training
    never saw, and the error says so. `task` "multi_label": multi-hot `labels` (`label_encoder`)."""
    if label_column not in dataset.column_names:
        raise DataError(f"{source}: label column {label_column!r} not found; columns are {dataset.column_names}")
    encode, names = label_encoder(dataset.features[label_column], task, label_names, label_column, source, delimiter)
    raw = dataset[label_column]
    labels = [encode(value) for value in raw]
    bad = [i for i, label in enumerate(labels) if label is None]
    if bad:
        shown = ", ".join(f"row {i}: {raw[i]!r}" for i in bad[:5])
        if inferred:
            raise DataError(
                f"{source}: column {label_column!r} has {len(bad)} label(s) that the training split never has "
                f"(its {'labels' if task == 'multi_label' else 'classes'} are {names}); first: {shown}"
            )
        expected = f"one of {names}" if names else "a finite number"
        raise DataError(
            f"{source}: column {label_column!r} has {len(bad)} invalid label(s), expected {expected}; first: {shown}"
        )
    feature = (datasets.List(Value("float32")) if task == "multi_label" else ClassLabel(names=names) if names
               else Value("float32"))
    if "labels" in dataset.column_names:
        dataset = dataset.remove_columns("labels")
    return dataset.add_column("labels", labels, feature=feature), names


def strata(dataset, rows, source):
    """What a held-out split is stratified on: the class; for regression the value when every value repeats (star
    ratings), else the decile bin of the value (continuous ratings such as 3.25), or nothing for a handful of reviews.

    A class with a single review cannot be split between two sets; it is refused by name."""
    labels = np.array(dataset["labels"])[rows]
    feature = dataset.features["labels"]
    if labels.ndim == 2:  # multi-label: each story's rarest label, rare strata pooled (random if still alone)
        shares = np.where(labels > 0, labels.sum(axis=0), np.inf)  # (rows, labels): each held label's count
        rarest = np.where(labels.any(axis=1), shares.argmin(axis=1), -1)
        sizes = Counter(rarest.tolist())
        rarest = np.array([value if sizes[value] >= 2 else -2 for value in rarest.tolist()])
        return rarest if Counter(rarest.tolist()).get(-2, 2) >= 2 else None
    counts = Counter(labels.tolist())
    if not isinstance(feature, ClassLabel):
        if min(counts.values()) >= 2:  # few distinct values, each repeated (star ratings): stratify on the value
            return labels
        edges = np.unique(np.quantile(labels, np.linspace(0, 1, 11)[1:-1]))
        bins = np.searchsorted(edges, labels, side="right")  # ten bins of about equal size (fewer when values repeat)
        return bins if min(Counter(bins.tolist()).values()) >= 2 else None  # too few reviews to stratify: random
    single = sorted(feature.names[label] for label, count in counts.items() if count < 2)
    if single:
        raise DataError(
            f"{source}: class(es) {single} have a single review, too few to hold some out for validation or test; "
            "add reviews of them, merge them into another class, or give validation and test splits"
        )
    return labels


def text_hash(text):
    """A 64-bit hash of a text (blake2b), the same in every process: equal texts have equal hashes, and two different
    texts share one with a probability of about 1e-7 in a corpus of millions."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def text_hashes(dataset):
    """`text_hash` of every row's `text`, read 10,000 rows at a time: 8 bytes a review in memory, not its text."""
    hashes = np.empty(len(dataset), dtype=np.uint64)
    start = 0
    for batch in dataset.select_columns(["text"]).iter(batch_size=10_000):
        hashes[start : start + len(batch["text"])] = [text_hash(text) for text in batch["text"]]
        start += len(batch["text"])
    return hashes


def stratified_split(dataset, size, seed, source="the training split"):
    """Split off `size` rows (an int), stratified on the labels (see `strata`); returns (rest, held_out).

    Reviews whose text occurs more than once (IMDB's training file repeats 96) always stay in `rest`, so no review
    is in two splits and the held-out split still has exactly `size` rows. Texts are compared by `text_hash`.
    """
    _, occurrence, counts = np.unique(text_hashes(dataset), return_inverse=True, return_counts=True)
    unique = np.flatnonzero(counts[occurrence] == 1)
    if len(unique) < 2 * size:  # mostly repeated texts (intents, short phrases): hold out whole texts instead
        return grouped_split(dataset, occurrence, size, seed, source)
    if is_multi_label(dataset.features["labels"]):  # a label's only story stays in training
        labels = np.asarray(dataset["labels"])
        unique = unique[~(labels[unique] * (labels.sum(axis=0) == 1)).any(axis=1)]
    stratify = strata(dataset, unique, source)
    try:
        _, held_out = train_test_split(unique, test_size=size, random_state=seed, stratify=stratify)
    except ValueError:  # more strata than held-out rows (a few stories of many labels): at random
        _, held_out = train_test_split(unique, test_size=size, random_state=seed)
    rest = np.setdiff1d(np.arange(len(dataset)), held_out)
    return dataset.select(rest), dataset.select(np.sort(held_out))


def grouped_split(dataset, occurrence, size, seed, source):
    """Split off about `size` rows by distinct text: every copy of a text (`occurrence`, its group number) goes to
    the same side, groups stratified on their label where every class has two texts or more."""
    groups = int(occurrence.max()) + 1 if len(occurrence) else 0
    if groups < 2:
        raise DataError(
            f"{source}: {groups} distinct text(s) in {len(dataset)} rows, too few to hold some out for validation or "
            "test; give more distinct texts, or validation and test splits (--validation_file, --test_file)"
        )
    held = min(max(1, round(groups * size / len(dataset))), groups - 1)
    first_rows = np.unique(occurrence, return_index=True)[1]  # one row of each text, in group order
    try:
        stratify = strata(dataset, first_rows, source)
        _, held_groups = train_test_split(np.arange(groups), test_size=held, random_state=seed, stratify=stratify)
    except (DataError, ValueError):  # a class with a single text: random groups
        _, held_groups = train_test_split(np.arange(groups), test_size=held, random_state=seed)
    held_out = np.isin(occurrence, held_groups)
    return dataset.select(np.flatnonzero(~held_out)), dataset.select(np.flatnonzero(held_out))


def with_row_numbers(dataset):
    """Add `row`: each example's row in the data it was read from, kept through splitting, so that a prediction can
    be traced back to its review."""
    return dataset.add_column("row", list(range(len(dataset))))


def labelled_split(data, split, text_columns, label_column, label_names, keep=(), multi_label=False, delimiter=None):
    """One split of a labelled dataset as a classifier is scored on it: `text`, `labels` (ids of `label_names`,
    multi-hot lists with `multi_label` (a list column, or strings cut at `delimiter`), or ratings when `label_names`
    is None) and `row` columns, and the columns in `keep`; refused with the same messages as training data. `split`
    None: a file's only split, or a dataset's `test` split."""
    raw = load_raw_dataset(data)
    if split is None:  # a single file is one split; a dataset folder or hub id is scored on its test split
        split = next(iter(raw)) if len(raw) == 1 else "test"
    if split not in raw:
        raise DataError(f"{data}: no {split!r} split; splits are {list(raw)}")
    source = data if len(raw) == 1 else f"{data} [{split}]"
    dataset = join_texts(raw[split], text_columns, source)
    task = "regression" if label_names is None else "multi_label" if multi_label else "classification"
    dataset, _ = encode_labels(dataset, label_column, task, label_names, source, delimiter=delimiter)
    missing = [column for column in keep if column not in dataset.column_names]
    if missing:
        raise DataError(f"{source}: column(s) {missing} not found; columns are {dataset.column_names}")
    return with_row_numbers(dataset.select_columns(["text", "labels", *keep]))


def make_splits(raw, data_args):
    """Turn a raw `DatasetDict` into train / validation / test with `text` and `labels` columns."""
    if "train" not in raw:
        raise DataError(f"{data_args.dataset_name}: no 'train' split; splits are {list(raw)}")
    source = data_args.dataset_name
    names, inferred, task = data_args.class_names, False, data_args.task
    label_column, delimiter = data_args.label_column, data_args.label_delimiter
    if task == "classification":
        if label_column not in raw["train"].column_names:
            raise DataError(f"{source} [train]: label column {label_column!r} not found; "
                            f"columns are {raw['train'].column_names}")
        feature, values = raw["train"].features[label_column], raw["train"][label_column]
        if is_multi_label(feature) or delimiter is not None:
            task, inner = "multi_label", getattr(feature, "feature", None)
            if names is None and isinstance(inner, ClassLabel):
                names = inner.names
            elif names is None:
                sets = [label_set(value, delimiter, inner) or [] for value in values]
                names = infer_class_names([name for row in sets for name in row], label_column, f"{source} [train]")
                inferred = True
        elif names is None and not isinstance(feature, ClassLabel):
            warn_if_delimited(values, label_column, f"{source} [train]")
            names, inferred = infer_class_names(values, label_column, f"{source} [train]"), True
    splits = {}
    given = names
    for split in [split for split in LABELLED_SPLITS if split in raw]:  # unlabelled ones skipped
        dataset = join_texts(raw[split], data_args.text_columns, f"{source} [{split}]")
        dataset, names = encode_labels(dataset, label_column, task, given, f"{source} [{split}]",
                                       inferred=inferred and split != "train", delimiter=delimiter)
        splits[split] = with_row_numbers(dataset.select_columns(["text", "labels"]))
    if task == "classification" and len(names) < 2:
        raise DataError(f"{source} [train]: column {label_column!r} holds one class only ({names[0]!r}); a classifier "
                        "needs two or more (for a number per review, pass --task regression)")
    train = splits["train"]
    total = len(train)
    if "test" not in splits:
        size = round(total * data_args.test_split_size)
        train, splits["test"] = stratified_split(train, size, data_args.split_seed, f"{source} [train]")
    if "validation" not in splits:
        size = round(total * data_args.validation_split_size)
        train, splits["validation"] = stratified_split(train, size, data_args.split_seed, f"{source} [train]")
    splits["train"] = train
    return keep_at_most(DatasetDict({split: splits[split] for split in LABELLED_SPLITS}), data_args), names


def keep_at_most(splits, data_args):
    """Each split cut to its `max_*_samples` limit (a seeded random sample), where one is set."""
    limits = {
        "train": data_args.max_train_samples,
        "validation": data_args.max_eval_samples,
        "test": data_args.max_test_samples,
        "unlabelled": data_args.max_unlabelled_samples,
    }
    for split in splits:
        limit = limits[split]
        if limit is not None and limit < len(splits[split]):
            splits[split] = splits[split].shuffle(seed=data_args.split_seed).select(range(limit))
    return splits


def make_text_splits(raw, data_args):
    """The text a language model learns from: `train` is the training split plus every unlabelled split (IMDB's
    `unsupervised`), `validation` is held out. Where the training split has the label column, the held-out reviews are
    the classifier's own validation and test splits (`make_splits`, same seed and stratification), so a classifier
    started from this model is selected and scored on text the language model never read; otherwise the validation
    split, or `validation_split_size` of the training split drawn at random. Test text is never read, and any
    training text equal to a validation or test text is left out (the count is printed). Texts are compared by
    `text_hash`, so memory holds 8 bytes per held-out text, not the texts."""
    if "train" not in raw:
        raise DataError(f"{data_args.dataset_name}: no 'train' split; splits are {list(raw)}")
    source = data_args.dataset_name

    def text_of(split):
        return join_texts(raw[split], data_args.text_columns, f"{source} [{split}]").select_columns(["text"])

    test = set(text_hashes(text_of("test")).tolist()) if "test" in raw else set()  # even beyond max_test_samples
    if data_args.label_column in raw["train"].column_names:
        labelled, _ = make_splits(raw, replace(data_args, task="classification"))
        train, validation = (labelled[split].select_columns(["text"]) for split in ("train", "validation"))
        test |= set(text_hashes(labelled["test"]).tolist())  # held out of the training split (no test split given)
    else:
        train = without_texts(text_of("train"), test)
        if "validation" in raw:
            validation = text_of("validation")
        else:
            held_out = train.train_test_split(test_size=data_args.validation_split_size, seed=data_args.split_seed)
            train, validation = held_out["train"], held_out["test"]
    banned = set(text_hashes(validation).tolist()) | test
    joined = datasets.concatenate_datasets([train, *(text_of(split) for split in raw if split not in LABELLED_SPLITS)])
    train = without_texts(joined, banned)
    logger.info(f"{source}: {len(joined) - len(train)} text(s) equal to a validation or test text left out of training")
    return keep_at_most(DatasetDict({"train": train, "validation": validation}), data_args)


def without_texts(dataset, banned):
    """`dataset` without the rows whose text's `text_hash` is in `banned` (the held-out texts of a run)."""
    return dataset.filter(lambda batch: [text_hash(text) not in banned for text in batch["text"]], batched=True)


def make_unlabelled_split(raw, splits, data_args):
    """The unlabelled reviews a classifier also learns from (`--unlabelled_data`): each source is a split of the
    dataset (IMDB's `unsupervised`; `train` is the classifier's own training split, its labels unread) or a file,
    folder or hub id whose text columns are read. Any text equal to a validation or test text is left out (the count
    is logged), so the classifier is still selected and scored on reviews it never read. Returns a `Dataset` with a
    `text` column."""
    source = data_args.dataset_name
    parts = []
    for name in data_args.unlabelled_data:
        if name == "train":
            parts.append(splits["train"].select_columns(["text"]))
        elif name in raw:
            parts.append(join_texts(raw[name], data_args.text_columns, f"{source} [{name}]").select_columns(["text"]))
        else:
            other = load_raw_dataset(name)
            columns = data_args.text_columns if FILE_BUILDERS.get(Path(name).suffix.lower()) != "text" else ["text"]
            parts.extend(join_texts(other[split], columns, f"{name} [{split}]").select_columns(["text"])
                         for split in other)
    joined = datasets.concatenate_datasets(parts)
    banned = set(text_hashes(splits["validation"]).tolist()) | set(text_hashes(splits["test"]).tolist())
    unlabelled = without_texts(joined, banned)
    logger.info(f"unlabelled text: {len(unlabelled)} reviews; {len(joined) - len(unlabelled)} equal to a validation "
                "or test text left out")
    if len(unlabelled) == 0:
        raise DataError(f"--unlabelled_data {' '.join(data_args.unlabelled_data)}: no review left to read")
    return unlabelled


def tokenize_blocks(splits, tokenizer, block_size):
    """Language modelling: every split's texts, tokenized and joined, cut into blocks of `block_size` tokens (the
    last, shorter one dropped). Only `input_ids` is stored, as int32: the collator
    (`DataCollatorForLanguageModeling(mlm=False)`) makes the labels, a copy the model shifts, for each batch; a
    `labels` column and int64 ids would take four times the disk and mapped memory (4.6 GB for 3.6 M reviews)."""

    def encode(batch):
        encodings = tokenizer.backend_tokenizer.encode_batch(batch["text"], add_special_tokens=False)
        ids = [token for encoding in encodings for token in encoding.ids]
        blocks = [ids[i : i + block_size] for i in range(0, len(ids) - block_size + 1, block_size)]
        return {"input_ids": blocks}

    features = Features({"input_ids": datasets.List(Value("int32"))})
    return splits.map(encode, batched=True, batch_size=2000, remove_columns=["text"], features=features,
                      desc="Tokenizing into blocks")


def tokenize_splits(splits, tokenizer, max_length, truncation):
    """Add `input_ids` and `length` (for length-grouped batches) to every split (or to one `Dataset`).

    The ids are cut here with the model's own rule (`truncate_batch`, which the model applies again, to no effect,
    in its forward pass), so the cache stays small and word2vec reads the tokens the model reads.
    """

    def encode(batch):
        encodings = tokenizer.backend_tokenizer.encode_batch(batch["text"], add_special_tokens=False)
        rows = [torch.tensor(encoding.ids, dtype=torch.long) for encoding in encodings]
        padded = torch.nn.utils.rnn.pad_sequence(rows, batch_first=True)  # (batch, longest)
        mask = torch.nn.utils.rnn.pad_sequence([torch.ones_like(row) for row in rows], batch_first=True)
        if padded.shape[1] == 0:  # every review of the batch is empty
            return {"input_ids": [[] for _ in rows], "length": [0] * len(rows)}
        kept_mask, kept = truncate_batch(mask, max_length, truncation, padded)  # 2 x (batch, <= max_length)
        lengths = kept_mask.sum(dim=1).tolist()
        return {"input_ids": [ids[:n].tolist() for ids, n in zip(kept, lengths)], "length": lengths}

    return splits.map(encode, batched=True, batch_size=2000, desc="Tokenizing")


def cache_key(splits, data_args, tokenizer=None):
    """A hash over the raw splits' fingerprints, every argument that changes the prepared data, and the given
    tokenizer's vocabulary and rules (if one is reused)."""
    settings = asdict(data_args)
    settings.pop("cache_dir")
    fingerprints = {split: dataset._fingerprint for split, dataset in splits.items()}
    reused = tokenizer.backend_tokenizer.to_str() if tokenizer is not None else None
    blob = json.dumps([PREPARED_FORMAT, settings, fingerprints, reused], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def prepare_data(data_args, tokenizer=None, teachers=None):
    """Load, split, train the vocabulary on the training split only (or reuse `tokenizer`, a saved model's), and
    tokenize; cached on disk by content. With `teachers` ({name: model folder}), the training, unlabelled and test
    splits also get each teacher's outputs (`teacher_logits`, `distillation.add_teacher_outputs`), cached beside them.

    Returns (tokenized `DatasetDict` with `text`, `labels`, `row`, `input_ids`, `length`, tokenizer, class names or
    None), plus an `unlabelled` split (`text`, `input_ids`, `length`) with `--unlabelled_data`; for
    `task="language_modeling"`, `train` and `validation` blocks of `input_ids` only (`tokenize_blocks`:
    the collator makes the labels).
    """
    raw = load_raw_dataset(data_args.dataset_name, data_args.dataset_config_name, data_args.data_files())
    language_modeling = data_args.task == "language_modeling"
    splits, names = (make_text_splits(raw, data_args), None) if language_modeling else make_splits(raw, data_args)
    if data_args.unlabelled_data:
        splits["unlabelled"] = make_unlabelled_split(raw, splits, data_args)
        splits = keep_at_most(splits, data_args)
    cache_root = Path(data_args.cache_dir or Path.home() / ".cache" / "hf_lstm")
    cache = cache_root / cache_key(splits, data_args, tokenizer)
    if not (cache / "done").exists():
        if tokenizer is None:
            tokenizer = train_tokenizer(
                (splits["train"][i : i + 1000]["text"] for i in range(0, len(splits["train"]), 1000)),
                max_vocab_size=data_args.max_vocab_size,
                min_frequency=data_args.min_frequency,
            )
        if language_modeling:
            tokenized = tokenize_blocks(splits, tokenizer, data_args.block_size)
        else:
            labelled = DatasetDict({split: splits[split] for split in LABELLED_SPLITS})
            tokenized = tokenize_splits(labelled, tokenizer, data_args.max_length, data_args.truncation)
            if "unlabelled" in splits:
                length = data_args.unlabelled_max_length or data_args.max_length
                tokenized["unlabelled"] = tokenize_splits(splits["unlabelled"], tokenizer, length, data_args.truncation)
        with atomic_directory(cache, replace=False) as partial:  # another process may finish it first: theirs stays
            tokenizer.save_pretrained(partial / "tokenizer")
            tokenized.save_to_disk(str(partial / "data"))
            (partial / "done").write_text("")
    tokenizer = AutoTokenizer.from_pretrained(str(cache / "tokenizer"))
    prepared = datasets.load_from_disk(str(cache / "data"))
    if teachers:
        prepared = add_teacher_outputs(prepared, teachers, names, cache)  # names: None for regression
    return prepared, tokenizer, names
