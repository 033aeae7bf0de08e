import json
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, List, Value

from hf_lstm.arguments import ArgumentError, DataArguments
from hf_lstm.data import (
    DataError,
    load_raw_dataset,
    make_splits,
    make_text_splits,
    make_unlabelled_split,
    prepare_data,
    tokenize_blocks,
    tokenize_splits,
)
from hf_lstm.tokenization import train_tokenizer

CLOTHING = "data/clothing-reviews/Womens Clothing E-Commerce Reviews.csv"


def clothing_args(**overrides):
    values = dict(dataset_name=CLOTHING, text_columns=["Title", "Review Text"], label_column="Rating",
                  class_names=["1", "2", "3", "4", "5"], validation_split_size=0.1, test_split_size=0.1)
    values.update(overrides)
    return DataArguments(**values)


def test_imdb_splits_are_17500_7500_25000_stratified_and_disjoint():
    args = DataArguments(dataset_name="data/imdb")
    splits, names = make_splits(load_raw_dataset(args.dataset_name), args)
    assert names == ["neg", "pos"]
    assert {split: len(splits[split]) for split in splits} == {"train": 17500, "validation": 7500, "test": 25000}
    assert abs(sum(splits["validation"]["labels"]) - 3750) <= 15  # stratified (over reviews seen once): about half positive
    train, validation = set(splits["train"]["text"]), set(splits["validation"]["text"])
    assert not train & validation  # IMDB's training file repeats 96 reviews: none straddles the split


def test_clothing_splits_80_10_10_with_joined_title_and_text():
    args = clothing_args()
    splits, names = make_splits(load_raw_dataset(args.dataset_name), args)
    assert names == ["1", "2", "3", "4", "5"]
    assert [len(splits[s]) for s in ("train", "validation", "test")] == [18788, 2349, 2349]
    texts = [set(splits[s]["text"]) for s in ("train", "validation", "test")]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    # row 0 of the CSV has no title: its text is the review alone
    assert "Absolutely wonderful - silky and sexy and comfortable" in set.union(*texts)
    regression, names = make_splits(load_raw_dataset(args.dataset_name), clothing_args(task="regression", class_names=None))
    assert names is None and set(regression["train"]["labels"]) == {1.0, 2.0, 3.0, 4.0, 5.0}


@pytest.mark.parametrize("bad_value, shown", [("", "''"), ("6", "'6'"), ("-1", "'-1'"), ("4.5", "'4.5'"), ("five", "'five'")])
def test_invalid_labels_are_refused_naming_column_and_row(tmp_path, bad_value, shown):
    path = tmp_path / "reviews.csv"
    rows = [f"nice dress {i},{(i % 5) + 1}" for i in range(20)]
    rows[7] = f"odd row,{bad_value}"
    path.write_text("text,stars\n" + "\n".join(rows) + "\n")
    args = DataArguments(dataset_name=str(path), label_column="stars", class_names=["1", "2", "3", "4", "5"])
    with pytest.raises(DataError, match=rf"column 'stars' has 1 invalid label.*row 7: ") as error:
        make_splits(load_raw_dataset(str(path)), args)
    assert "reviews.csv" in str(error.value)


def test_missing_text_column_is_named(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("body,label\nfine,1\n")
    with pytest.raises(DataError, match=r"text column\(s\) \['text'\] not found"):
        make_splits(load_raw_dataset(str(path)), DataArguments(dataset_name=str(path), class_names=["0", "1"]))


def test_prepared_ids_are_cut_with_the_models_rule():
    texts = ["w0 w1 w2 w3 w4 w5 w6 w7 w8 w9", "w0 w1 w2", ""]
    tokenizer = train_tokenizer([texts[0]], min_frequency=1)
    splits = DatasetDict({"train": Dataset.from_dict({"text": texts, "labels": [1, 0, 0]})})
    full = tokenizer(texts, add_special_tokens=False)["input_ids"]
    head_tail = tokenize_splits(splits, tokenizer, max_length=5, truncation="head_tail")["train"]
    assert head_tail["input_ids"] == [full[0][:2] + full[0][7:], full[1], []] and head_tail["length"] == [5, 3, 0]
    head = tokenize_splits(splits, tokenizer, max_length=4, truncation="head")["train"]
    assert head["input_ids"] == [full[0][:4], full[1], []]  # (the allowed values are LSTMConfig's: checked when parsed)


def test_prepared_ids_are_those_the_tokenizer_gives_at_prediction_time():
    texts = ["A fine film.<br />Really, truly fine!", "Bad... very BAD; unseenword", ""]
    tokenizer = train_tokenizer([texts[:2]], min_frequency=1)
    splits = DatasetDict({"train": Dataset.from_dict({"text": texts, "labels": [1, 0, 0]})})
    prepared = tokenize_splits(splits, tokenizer, max_length=50, truncation="head")["train"]
    assert prepared["input_ids"] == tokenizer(texts, add_special_tokens=False)["input_ids"]
    assert prepared["length"] == [9, 6, 0]


def test_prepared_data_is_cached_and_reused(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,label\n" + "\n".join(f"review number {i} is {'good' if i % 2 else 'bad'},{i % 2}" for i in range(40)))
    args = DataArguments(dataset_name=str(path), class_names=["0", "1"], validation_split_size=0.25,
                         test_split_size=0.25, cache_dir=str(tmp_path / "cache"), max_length=3)
    splits, tokenizer, names = prepare_data(args)
    assert [len(splits[s]) for s in ("train", "validation", "test")] == [20, 10, 10]
    assert max(splits["train"]["length"]) == 3
    assert "good" in tokenizer.get_vocab()
    (entry,) = (tmp_path / "cache").iterdir()
    (entry / "done").touch()
    mtime = (entry / "tokenizer" / "tokenizer.json").stat().st_mtime_ns
    prepare_data(args)  # same data and settings: nothing is rebuilt
    assert (entry / "tokenizer" / "tokenizer.json").stat().st_mtime_ns == mtime
    prepare_data(DataArguments(**{**args.__dict__, "max_length": 5}))
    assert len(list((tmp_path / "cache").iterdir())) == 2


def write_csv(tmp_path, content, name="reviews.csv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


def test_csv_with_bom_and_quoted_newlines_is_read_correctly(tmp_path):
    rows = "".join(f'"line one\nline two, {i}",{i % 2}\n' for i in range(10))
    path = write_csv(tmp_path, "\ufefftext,label\n" + rows)
    raw = load_raw_dataset(path)
    assert raw["train"].column_names == ["text", "label"] and len(raw["train"]) == 10
    assert raw["train"][3]["text"] == "line one\nline two, 3"


@pytest.mark.parametrize("content, reason", [
    ("text,label\nnaïve,1\n".encode("latin-1"), "not UTF-8 text"),
    ("", "the file is empty"),
    ("text,label\n", "has a header but no rows"),
])
def test_unreadable_csv_is_refused_with_file_name_and_reason(tmp_path, content, reason):
    path = write_csv(tmp_path, content)
    with pytest.raises(DataError, match=f"reviews.csv: .*{reason}"):
        load_raw_dataset(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match="nowhere.csv: no such file"):
        load_raw_dataset(str(tmp_path / "nowhere.csv"))


@pytest.mark.parametrize("task, bad", [("classification", "NaN"), ("regression", "NaN"), ("regression", "abc"),
                                       ("regression", "")])
def test_regression_and_nan_labels_are_checked_too(tmp_path, task, bad):
    rows = [f"review {i},{(i % 5) + 1}" for i in range(20)]
    rows[12] = f"odd,{bad}"
    path = write_csv(tmp_path, "text,stars\n" + "\n".join(rows) + "\n")
    names = ["1", "2", "3", "4", "5"] if task == "classification" else None
    args = DataArguments(dataset_name=path, label_column="stars", task=task, class_names=names)
    with pytest.raises(DataError, match=r"column 'stars' has 1 invalid label.*row 12"):
        make_splits(load_raw_dataset(path), args)


def test_fractional_regression_labels_split_on_quantile_bins(tmp_path):
    rows = [f"review {i},{1 + (i * 37 % 400) / 100}" for i in range(200)]  # 200 distinct ratings such as 3.25, 4.7
    path = write_csv(tmp_path, "text,rating\n" + "\n".join(rows) + "\n")
    args = DataArguments(dataset_name=path, label_column="rating", task="regression", validation_split_size=0.1,
                         test_split_size=0.1)
    splits, names = make_splits(load_raw_dataset(path), args)
    assert names is None and [len(splits[s]) for s in ("train", "validation", "test")] == [160, 20, 20]
    every = np.concatenate([np.array(splits[split]["labels"]) for split in ("train", "validation", "test")])
    edges = np.quantile(every, np.linspace(0.1, 0.9, 9))
    deciles = np.searchsorted(edges, np.array(splits["test"]["labels"]), side="right")
    assert sorted(Counter(deciles.tolist()).values()) == [2] * 10  # stratified: 2 test reviews from each decile


def test_string_labels_give_class_names_sorted_from_the_training_split(tmp_path):
    rows = [f"review {i},{('positive', 'negative', 'mixed')[i % 3]}" for i in range(60)]
    path = write_csv(tmp_path, "review,sentiment\n" + "\n".join(rows) + "\n")
    args = DataArguments(dataset_name=path, text_columns=["review"], label_column="sentiment")
    splits, names = make_splits(load_raw_dataset(path), args)
    assert names == ["mixed", "negative", "positive"]
    assert splits["train"].features["labels"].names == names
    numbers = write_csv(tmp_path, "text,stars\n" + "\n".join(f"r {i},{(2, 10, 9)[i % 3]}" for i in range(60)) + "\n",
                        name="numbers.csv")
    _, names = make_splits(load_raw_dataset(numbers), DataArguments(dataset_name=numbers, label_column="stars"))
    assert names == ["2", "9", "10"]  # numbers in numeric order


def test_a_label_that_training_never_saw_is_refused_by_name(tmp_path):
    train = write_csv(tmp_path, "text,sentiment\n" + "\n".join(f"r {i},{('pos', 'neg')[i % 2]}" for i in range(20)),
                      name="train.csv")
    test = write_csv(tmp_path, "text,sentiment\nfine,pos\nmeh,neutral\n", name="test.csv")
    raw = DatasetDict({"train": load_raw_dataset(train)["train"], "test": load_raw_dataset(test)["train"]})
    args = DataArguments(dataset_name=str(tmp_path), label_column="sentiment")
    with pytest.raises(DataError, match=r"\[test\]: column 'sentiment' has 1 label\(s\) that the training split "
                                        r"never has \(its classes are \['neg', 'pos'\]\); first: row 1: 'neutral'"):
        make_splits(raw, args)


def test_a_class_with_a_single_review_is_refused_by_name(tmp_path):
    rows = [f"review {i},{('pos', 'neg')[i % 2]}" for i in range(20)] + ["odd one,mixed"]
    path = write_csv(tmp_path, "text,sentiment\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"class\(es\) \['mixed'\] have a single review"):
        make_splits(load_raw_dataset(path), DataArguments(dataset_name=path, label_column="sentiment"))


def test_unlabelled_splits_are_skipped_for_classification():
    raw = DatasetDict({
        "train": Dataset.from_dict({"text": [f"r {i}" for i in range(20)], "label": [i % 2 for i in range(20)]},
                                   features=Features({"text": Value("string"), "label": ClassLabel(names=["a", "b"])})),
        "unsupervised": Dataset.from_dict({"text": ["x", "y"], "label": [-1, -1]}),
    })
    splits, names = make_splits(raw, DataArguments(dataset_name="local", validation_split_size=0.2, test_split_size=0.2))
    assert list(splits) == ["train", "validation", "test"] and names == ["a", "b"]
    assert sum(len(split) for split in splits.values()) == 20


@pytest.mark.parametrize("labelled", [True, False])
def test_language_model_text_never_includes_test_text_and_reads_unlabelled_splits(labelled):
    test_texts = ["the test review one", "the test review two"]
    columns = lambda texts: {"text": texts, **({"label": [i % 2 for i in range(len(texts))]} if labelled else {})}  # noqa: E731
    raw = DatasetDict({
        "train": Dataset.from_dict(columns([f"train review {i}" for i in range(40)] + [test_texts[0]])),
        "test": Dataset.from_dict(columns(test_texts)),
        "unsupervised": Dataset.from_dict({"text": ["an unlabelled review", test_texts[1]]}),
    })
    args = DataArguments(dataset_name="local", task="language_modeling", validation_split_size=0.25,
                         class_names=["0", "1"])
    splits = make_text_splits(raw, args)
    assert not set(splits["train"]["text"]) & set(test_texts)  # never test text, nor copies of it elsewhere
    assert "an unlabelled review" in splits["train"]["text"]
    assert not set(splits["train"]["text"]) & set(splits["validation"]["text"])
    assert len(splits["validation"]) + len(splits["train"]) in (40 + 1, 40 + 2)  # the copy may be held out


def test_the_language_models_held_out_text_is_the_classifiers_validation_and_test_split():
    raw = load_raw_dataset(CLOTHING)
    args = clothing_args()
    classifier, _ = make_splits(raw, args)
    text = make_text_splits(raw, replace(args, task="language_modeling"))
    assert text["validation"]["text"] == classifier["validation"]["text"]
    assert not set(text["train"]["text"]) & (set(classifier["validation"]["text"]) | set(classifier["test"]["text"]))


def test_language_model_blocks_join_the_texts_and_drop_the_short_remainder():
    tokenizer = train_tokenizer(["a b c d e f g"], min_frequency=1)
    splits = DatasetDict({"train": Dataset.from_dict({"text": ["a b c", "d e f g", "a"]})})
    blocks = tokenize_blocks(splits, tokenizer, block_size=3)["train"]
    ids = tokenizer("a b c d e f g a", add_special_tokens=False)["input_ids"]
    assert blocks["input_ids"] == [ids[0:3], ids[3:6]] and blocks.column_names == ["input_ids"]
    assert blocks.features["input_ids"].feature.dtype == "int32"  # a quarter of int64 ids plus a labels copy


def test_a_text_file_holds_one_document_a_line(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("first document\nsecond document\n")
    assert load_raw_dataset(str(path))["train"]["text"] == ["first document", "second document"]


def test_a_dataset_of_few_distinct_phrases_splits_by_phrase(tmp_path):
    path = tmp_path / "intents.csv"
    phrases = [f"phrase {chr(97 + i)} please" for i in range(16)]
    path.write_text("text,intent\n" + "".join(f"{phrases[i % 16]},{('ask', 'tell')[i % 16 % 2]}\n" for i in range(300)))
    args = DataArguments(dataset_name=str(path), label_column="intent")
    splits, names = make_splits(load_raw_dataset(args.dataset_name), args)
    assert names == ["ask", "tell"]
    texts = [set(splits[split]["text"]) for split in ("train", "validation", "test")]
    assert all(texts) and not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])
    assert sum(len(splits[split]) for split in splits) == 300


def test_too_few_distinct_texts_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("text,label\n" + "".join(f",{('a', 'b')[i % 2]}\n" for i in range(40)))
    args = DataArguments(dataset_name=str(path))
    with pytest.raises(DataError, match=r"1 distinct text\(s\) in 40 rows, too few to hold some out"):
        make_splits(load_raw_dataset(args.dataset_name), args)


def test_float_class_labels_from_pandas_match_by_value(tmp_path):
    path = tmp_path / "stars.jsonl"
    path.write_text("".join(f'{{"text": "review {i}", "stars": {float(i % 5 + 1)}}}\n' for i in range(50)))
    args = DataArguments(dataset_name=str(path), label_column="stars", class_names=["1", "2", "3", "4", "5"])
    splits, names = make_splits(load_raw_dataset(args.dataset_name), args)
    assert names == ["1", "2", "3", "4", "5"]
    row = splits["train"][0]
    assert names[row["labels"]] == str(int(row["text"].split()[1]) % 5 + 1)  # 5.0 is class "5"
    inferred, names = make_splits(load_raw_dataset(args.dataset_name), replace(args, class_names=None))
    assert names == ["1", "2", "3", "4", "5"]  # inferred names are written as numbers, not "5.0"


def class_label_dataset():
    features = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos"])})
    rows = {"text": [f"review {i}" for i in range(40)], "label": [i % 2 for i in range(40)]}
    return DatasetDict({"train": Dataset.from_dict(rows, features=features)})


def test_class_names_rename_or_reorder_a_class_label_column():
    raw = class_label_dataset()
    splits, names = make_splits(raw, DataArguments(dataset_name="mem", class_names=["negative", "positive"]))
    assert names == ["negative", "positive"]  # renamed, in the column's order
    assert [names[label] for label in splits["train"]["labels"]] == [
        ("negative", "positive")[int(text.split()[1]) % 2] for text in splits["train"]["text"]]
    splits, names = make_splits(raw, DataArguments(dataset_name="mem", class_names=["pos", "neg"]))
    assert names == ["pos", "neg"]  # reordered: each review keeps its class
    assert [names[label] for label in splits["train"]["labels"]] == [
        ("neg", "pos")[int(text.split()[1]) % 2] for text in splits["train"]["text"]]
    with pytest.raises(DataError, match=r"\['neg', 'pos'\].*\['a', 'b', 'c'\]"):
        make_splits(raw, DataArguments(dataset_name="mem", class_names=["a", "b", "c"]))


def test_train_validation_and_test_files_are_one_split_each(tmp_path):
    for split, count in (("train", 40), ("validation", 10), ("test", 12)):
        (tmp_path / f"{split}.csv").write_text(
            "text,label\n" + "".join(f"{split} review {i},{('a', 'b')[i % 2]}\n" for i in range(count)))
    args = DataArguments(train_file=str(tmp_path / "train.csv"), validation_file=str(tmp_path / "validation.csv"),
                         test_file=str(tmp_path / "test.csv"))
    assert args.dataset_name == str(tmp_path / "train.csv")
    splits, _ = make_splits(load_raw_dataset(args.dataset_name, data_files=args.data_files()), args)
    assert {split: len(splits[split]) for split in splits} == {"train": 40, "validation": 10, "test": 12}
    assert splits["test"]["row"] == list(range(12))  # each review's row in its file, for the prediction record
    assert splits["test"][3]["text"] == "test review 3"


def test_a_folder_that_does_not_exist_is_named():
    with pytest.raises(DataError, match="no/such/folder: no such file or folder"):
        load_raw_dataset("no/such/folder")


def unlabelled_raw():
    names = Features({"text": Value("string"), "label": ClassLabel(names=["neg", "pos"])})
    return DatasetDict({
        "train": Dataset.from_dict({"text": [f"train review {i}" for i in range(40)], "label": [i % 2 for i in range(40)]},
                                   features=names),
        "test": Dataset.from_dict({"text": ["a test review", "another test review"], "label": [0, 1]}, features=names),
        "unsupervised": Dataset.from_dict({"text": ["an unlabelled review", "a test review", "train review 3"],
                                           "label": [-1, -1, -1]}),
    })


def test_unlabelled_reviews_never_hold_validation_or_test_text():
    raw = unlabelled_raw()
    args = DataArguments(dataset_name="local", validation_split_size=0.25, unlabelled_data=["unsupervised", "train"])
    splits, _ = make_splits(raw, args)
    held_out = set(splits["validation"]["text"]) | set(splits["test"]["text"])
    raw["unsupervised"] = raw["unsupervised"].add_item({"text": splits["validation"]["text"][0], "label": -1})
    unlabelled = make_unlabelled_split(raw, splits, args)
    assert not set(unlabelled["text"]) & held_out  # the copies of a test and a validation review are left out
    assert "an unlabelled review" in unlabelled["text"]
    assert set(splits["train"]["text"]) <= set(unlabelled["text"])  # `train`: the training split's own text
    copy_kept = "train review 3" not in held_out  # the unlabelled copy of a training review, unless it was held out
    assert len(unlabelled) == len(splits["train"]) + 1 + copy_kept
    assert "labels" not in unlabelled.column_names


def test_unlabelled_reviews_from_a_text_file_and_the_refusals(tmp_path):
    raw = unlabelled_raw()
    path = tmp_path / "more.txt"
    path.write_text("one more review\na test review\n")
    args = DataArguments(dataset_name="local", validation_split_size=0.25, unlabelled_data=[str(path)])
    splits, _ = make_splits(raw, args)
    assert make_unlabelled_split(raw, splits, args)["text"] == ["one more review"]
    with pytest.raises(ArgumentError, match="--unlabelled_data test: validation and test text is never trained on"):
        replace(args, unlabelled_data=["unsupervised", "test"])
    with pytest.raises(DataError, match="no review left"):
        path.write_text("a test review\n")
        make_unlabelled_split(raw, splits, args)


def test_prepared_unlabelled_reviews_are_cut_to_their_own_length(tmp_path):
    args = DataArguments(dataset_name="data/imdb", max_train_samples=50, max_eval_samples=20, max_test_samples=20,
                         max_length=64, unlabelled_data=["unsupervised"], max_unlabelled_samples=30,
                         unlabelled_max_length=16, cache_dir=str(tmp_path))
    splits, tokenizer, _ = prepare_data(args)
    assert len(splits["unlabelled"]) == 30 and max(splits["unlabelled"]["length"]) == 16
    assert max(splits["train"]["length"]) == 64
    assert set(splits["unlabelled"].column_names) == {"text", "input_ids", "length"}


def test_a_tsv_file_is_read_as_tab_separated_and_other_files_name_the_kinds_read(tmp_path):
    path = tmp_path / "reviews.tsv"
    path.write_text("text\tlabel\n" + "".join(f"review {i}, with a comma\t{('neg', 'pos')[i % 2]}\n" for i in range(20)))
    raw = load_raw_dataset(str(path))
    assert raw["train"][3] == {"text": "review 3, with a comma", "label": "pos"}
    other = tmp_path / "reviews.xlsx"
    other.write_bytes(b"PK")
    with pytest.raises(DataError, match=r"reviews.xlsx: not a kind of file read here; give a .csv, .tsv, .json"):
        load_raw_dataset(str(other))


def test_a_label_column_with_one_class_is_refused_naming_it(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text("text,label\n" + "".join(f"review {i},pos\n" for i in range(20)))
    args = DataArguments(dataset_name=str(path))
    with pytest.raises(DataError, match=r"column 'label' holds one class only \('pos'\); a classifier needs two or "
                                        r"more \(for a number per review, pass --task regression\)"):
        make_splits(load_raw_dataset(str(path)), args)


def topic_stories(count=60):
    """Stories whose words say their topics: sports, politics, both, or neither (an empty label set)."""
    topics = [["sports"], ["politics"], ["politics", "sports"], []]
    words = {"sports": "match goal", "politics": "vote senate"}
    return [(f"story {i} " + " ".join(words[t] for t in topics[i % 4]), topics[i % 4]) for i in range(count)]


def test_list_and_delimited_label_columns_give_the_same_multi_hot_labels(tmp_path):
    stories = topic_stories()
    listed = tmp_path / "stories.jsonl"
    listed.write_text("".join(json.dumps({"text": text, "tags": tags}) + "\n" for text, tags in stories))
    delimited = write_csv(tmp_path, "text,tags\n" + "".join(f'{text},"{",".join(tags)}"\n' for text, tags in stories))
    made = [make_splits(load_raw_dataset(str(listed)), DataArguments(dataset_name=str(listed), label_column="tags")),
            make_splits(load_raw_dataset(delimited),
                        DataArguments(dataset_name=delimited, label_column="tags", label_delimiter=","))]
    for splits, names in made:
        assert names == ["politics", "sports"]
        assert isinstance(splits["train"].features["labels"], List)
        by_text = {text: labels for split in splits.values() for text, labels in zip(split["text"], split["labels"])}
        assert by_text["story 2 vote senate match goal"] == [1.0, 1.0]
        assert by_text["story 0 match goal"] == [0.0, 1.0] and by_text["story 3 "] == [0.0, 0.0]  # no topic: allowed
    assert made[0][0]["test"]["labels"] == made[1][0]["test"]["labels"]


def test_an_unseen_label_in_multi_label_data_is_refused_naming_file_column_and_rows(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"text": text, "tags": tags}) + "\n" for text, tags in topic_stories()))
    test = tmp_path / "test.jsonl"
    test.write_text(json.dumps({"text": "a", "tags": ["sports"]}) + "\n" + json.dumps({"text": "b", "tags": ["art"]}))
    raw = DatasetDict({"train": load_raw_dataset(str(train))["train"], "test": load_raw_dataset(str(test))["train"]})
    with pytest.raises(DataError, match=r"\[test\]: column 'tags' has 1 label\(s\) that the training split never has "
                                        r"\(its labels are \['politics', 'sports'\]\); first: row 1: \['art'\]"):
        make_splits(raw, DataArguments(dataset_name=str(tmp_path), label_column="tags"))


def test_multi_label_validation_is_stratified_on_the_rarest_label_and_a_labels_only_story_stays_in_training():
    tags = [["earn"]] * 60 + [["earn", "gold"]] * 20 + [["gold"]] * 10 + [["tin", "earn"]] + [[]] * 9
    raw = DatasetDict({"train": Dataset.from_dict({"text": [f"story {i}" for i in range(100)], "tags": tags}),
                       "test": Dataset.from_dict({"text": ["a"], "tags": [["earn"]]})})
    splits, names = make_splits(raw, DataArguments(dataset_name="stories", label_column="tags",
                                                   validation_split_size=0.2))
    assert names == ["earn", "gold", "tin"]
    validation = np.array(splits["validation"]["labels"])
    assert len(validation) == 20 and validation[:, 2].sum() == 0  # tin's only story is in training
    gold_stories = sum(validation[:, 1])  # 30 of 100 stories hold gold: 6 of the 20
    assert gold_stories == 6 and sum(not row.any() for row in validation) in (1, 2)


def test_string_labels_holding_commas_warn_naming_the_delimiter_option(tmp_path, caplog):
    path = write_csv(tmp_path, "text,tags\n" + "".join(f'story {i},"{("a,b", "b", "a,c")[i % 3]}"\n' for i in range(30)))
    with caplog.at_level("WARNING", logger="hf_lstm"):
        _, names = make_splits(load_raw_dataset(path), DataArguments(dataset_name=path, label_column="tags"))
    assert names == ["a,b", "a,c", "b"]  # as asked: one class per string
    assert "20 of 30 labels in column 'tags' hold a comma" in caplog.text and "--label_delimiter ','" in caplog.text
