"""Distillation: a tiny BERT teacher (WordPiece vocabulary trained here by `tokenizers`) distilled into a tiny
hf_lstm model on a few hundred IMDB reviews.

The teacher learns a rule that has nothing to do with the sentiment labels (does "this" occur in a review's first 20
words? true for half the reviews), which it learns well from 320 reviews and which a tiny LSTM can pick up from its
outputs; a student that follows the teacher then shows it plainly, where one that learns the labels agrees with it
by chance only."""

import json
import re
import shutil

import numpy as np
import pytest
import torch
from datasets import Dataset
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    PreTrainedTokenizerFast,
    Trainer,
    TrainingArguments,
    pipeline,
)

import hf_lstm  # noqa: F401  (registers the Auto classes)
from hf_lstm import distillation
from hf_lstm.arguments import ArgumentError, DataArguments
from hf_lstm.data import prepare_data
from hf_lstm.distillation import TeacherError, teacher_report
from hf_lstm.prediction import load_classifier, predict
from hf_lstm.training import parse_arguments, run

TINY = ["configs/tiny.yaml", "--report_to", "none", "--save_total_limit", "1"]
TRANSFER = ["--unlabelled_data", "unsupervised", "--max_unlabelled_samples", "5000", "--unlabelled_batch_ratio", "4"]


def tiny_data_args(cache, **unlabelled):
    return DataArguments(dataset_name="data/imdb", max_train_samples=320, max_eval_samples=128, max_test_samples=128,
                         max_vocab_size=2000, max_length=64, cache_dir=str(cache), **unlabelled)


def wordpiece_tokenizer(texts):
    """A BERT-style tokenizer (WordPiece, [CLS] ... [SEP], 64 tokens at most) trained on `texts`."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=600, special_tokens=specials))
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", backend.token_to_id("[CLS]")),
                                                 ("[SEP]", backend.token_to_id("[SEP]"))])
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=64)


def save_bert_teacher(folder, texts, labels, label_names=("neg", "pos"), epochs=20):
    """A one-layer BERT classifier trained on (texts, labels) with the stock Trainer, saved with its tokenizer."""
    torch.manual_seed(0)
    tokenizer = wordpiece_tokenizer(texts)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, num_labels=len(label_names),
                        id2label=dict(enumerate(label_names)), label2id={n: i for i, n in enumerate(label_names)})
    model = BertForSequenceClassification(config)
    data = Dataset.from_dict({"text": texts, "labels": labels}).map(
        lambda batch: tokenizer(batch["text"], truncation=True), batched=True, remove_columns=["text"])
    args = TrainingArguments(output_dir=str(folder / "trainer"), num_train_epochs=epochs, learning_rate=3e-3,
                             per_device_train_batch_size=16, report_to="none", save_strategy="no", use_cpu=True)
    Trainer(model=model, args=args, train_dataset=data, processing_class=tokenizer).train()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def this_early(text):
    """The teacher's rule: 1 ("pos") when "this" is among the review's first 20 words."""
    return int("this" in re.findall(r"\w+", text.lower())[:20])


@pytest.fixture(scope="module")
def bert_teacher(tmp_path_factory):
    root = tmp_path_factory.mktemp("teacher")
    splits, _, _ = prepare_data(tiny_data_args(root / "cache"))
    texts = list(splits["train"]["text"])
    return save_bert_teacher(root / "bert", texts, [this_early(text) for text in texts])


def test_cached_teacher_outputs_equal_the_teachers_own_pipeline_probabilities(tmp_path, bert_teacher):
    data_args = tiny_data_args(tmp_path / "cache", unlabelled_data=["unsupervised"], max_unlabelled_samples=64)
    splits, _, names = prepare_data(data_args, teachers={"bert": str(bert_teacher)})
    own = pipeline("text-classification", model=str(bert_teacher), top_k=None, truncation=True, device="cpu")
    for split in ("train", "unlabelled", "test"):
        rows = splits[split].select(range(12))
        cached = torch.tensor(rows["teacher_logits"]).softmax(dim=-1)  # (12, 1 teacher, 2)
        scored = own(list(rows["text"]), batch_size=1)
        expected = [{item["label"]: item["score"] for item in scores} for scores in scored]
        assert cached.shape == (12, 1, 2)
        assert cached[:, 0].numpy() == pytest.approx(np.array([[row[n] for n in names] for row in expected]), abs=1e-5)
    assert "teacher_logits" not in splits["validation"].column_names  # nothing is computed from validation text


def test_a_teacher_whose_label_names_differ_is_refused_naming_both_lists(tmp_path, bert_teacher):
    splits, _, _ = prepare_data(tiny_data_args(tmp_path / "cache"))
    other = save_bert_teacher(tmp_path / "sst2", splits["train"]["text"][:32], splits["train"]["labels"][:32],
                              label_names=("NEGATIVE", "POSITIVE"), epochs=1)
    with pytest.raises(TeacherError, match=r"its labels \['NEGATIVE', 'POSITIVE'\] .* classes \['neg', 'pos'\]"):
        prepare_data(tiny_data_args(tmp_path / "cache"), teachers={"sst2": str(other)})
    with pytest.raises(SystemExit, match=r"^error: --teacher_model_name_or_path .*sst2: its labels"):
        hf_lstm.training.main(TINY + ["--teacher_model_name_or_path", str(other), "--output_dir",
                                      str(tmp_path / "out"), "--cache_dir", str(tmp_path / "cache")])


def test_a_missing_teacher_or_one_without_safetensors_is_refused_naming_it(tmp_path, bert_teacher, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SystemExit, match="error: nobody/nothing: no such model folder, and the Hugging Face Hub"):
        hf_lstm.training.main(TINY + ["--teacher_model_name_or_path", "nobody/nothing", "--output_dir",
                                      str(tmp_path / "out"), "--cache_dir", str(tmp_path / "cache")])
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text((bert_teacher / "config.json").read_text())
    (pickled / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(TeacherError, match="no .safetensors weights"):
        distillation.teacher_fingerprint(pickled)


@pytest.mark.parametrize("option, value, message", [
    ("--distillation_alpha", "1", "distillation_alpha is a weight in"),
    ("--distillation_temperature", "0", "distillation_temperature must be positive"),
])
def test_bad_distillation_settings_are_refused_when_parsed(option, value, message):
    with pytest.raises(ArgumentError, match=message):
        parse_arguments(TINY + [option, value])


def test_teachers_are_refused_for_a_language_model_and_unlabelled_text_is_read_for_them():
    with pytest.raises(ArgumentError, match="--teacher_model_name_or_path is for classification and regression"):
        parse_arguments(["configs/tiny_lm.yaml", "--teacher_model_name_or_path", "x"])
    model_args, data_args, _ = parse_arguments(TINY + TRANSFER + ["--teacher_model_name_or_path", "a", "b"])
    assert model_args.teacher_model_name_or_path == ["a", "b"] and data_args.unlabelled_data == ["unsupervised"]


def test_teacher_report_scores_each_teacher_their_average_and_the_students_agreement():
    test = Dataset.from_dict({
        "labels": [0, 1, 1, 0],
        "teacher_logits": [[[2.0, 0.0], [0.0, 1.0]], [[0.0, 2.0], [0.0, 3.0]], [[1.0, 0.0], [3.0, 0.0]],
                           [[0.0, 1.0], [0.0, 1.0]]],
    })
    student = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    report = teacher_report(test, student, ["neg", "pos"], ["a", "b"])
    assert report["teachers"]["a"]["accuracy"] == 0.5 and report["teachers"]["b"]["accuracy"] == 0.25
    # the average of the probabilities: row 0 (0.88+0.27)/2 neg, row 1 pos, row 2 neg, row 3 pos -> 2 of 4 right
    assert report["ensemble"]["accuracy"] == 0.5
    assert report["student_agreement_with_ensemble"] == 0.75  # differs on row 2 only


def student_labels(folder):
    return [json.loads(line)["label"] for line in (folder / "test_predictions.jsonl").read_text().splitlines()]


def test_a_distilled_student_agrees_with_its_teacher_more_than_one_trained_on_labels_and_reuses_the_cache(
    tmp_path, bert_teacher, monkeypatch
):
    cache = str(tmp_path / "cache")
    # each student keeps its last epoch: validation accuracy (on the sentiment labels) says nothing of how well the
    # distilled one learned the teacher's rule, and picking its best epoch picked an untrained first one on some CPUs
    common = TINY + ["--num_train_epochs", "10", "--learning_rate", "0.01", "--load_best_model_at_end", "false",
                     "--cache_dir", cache]
    run(common + ["--output_dir", str(tmp_path / "labels")])
    distil = common + TRANSFER + ["--teacher_model_name_or_path", str(bert_teacher), "--distillation_alpha", "0",
                                  "--distillation_temperature", "1"]
    run(distil + ["--output_dir", str(tmp_path / "distilled")])

    results = json.loads((tmp_path / "distilled" / "all_results.json").read_text())["distillation"]
    own = pipeline("text-classification", model=str(bert_teacher), truncation=True, device="cpu")
    splits, _, _ = prepare_data(tiny_data_args(cache))
    teacher_test = [item["label"] for item in own(list(splits["test"]["text"]))]
    test_agreement = np.mean([a == b for a, b in zip(student_labels(tmp_path / "distilled"), teacher_test)])
    assert test_agreement == pytest.approx(results["student_agreement_with_ensemble"])
    # on the reviews both students trained on, the distilled one follows the teacher, the other the labels
    texts = list(splits["train"]["text"])
    teacher = [item["label"] for item in own(texts)]
    agreement = {name: np.mean([result["label"] == label for result, label in
                                zip(predict(load_classifier(str(tmp_path / name)), texts), teacher)])
                 for name in ("labels", "distilled")}
    assert agreement["distilled"] > agreement["labels"] + 0.3, agreement
    history = json.loads((tmp_path / "distilled" / "log_history.json").read_text())
    assert all(entry["loss_distillation"] > 0 for entry in history if "loss" in entry)
    card = (tmp_path / "distilled" / "README.md").read_text()
    assert f"from `{bert_teacher}` (test accuracy {results['teachers'][str(bert_teacher)]['accuracy']:.4f})" in card
    assert "teachers:" in card and "- distillation" in card

    def never(*args, **kwargs):
        raise AssertionError("the teacher ran again")

    monkeypatch.setattr(distillation, "teacher_pipeline", never)
    run(distil + ["--output_dir", str(tmp_path / "again"), "--num_train_epochs", "1"])  # the cached outputs serve
    interrupted = tmp_path / "interrupted"  # and a resumed run, from the first epoch's checkpoint of a 2-epoch run
    run(distil + ["--output_dir", str(tmp_path / "two"), "--num_train_epochs", "2", "--save_total_limit", "3"])
    interrupted.mkdir()
    first = min((tmp_path / "two").glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))
    shutil.copytree(first, interrupted / first.name)
    run(distil + ["--output_dir", str(interrupted), "--num_train_epochs", "2", "--save_total_limit", "3",
                  "--resume", "true"])
    assert (interrupted / "model.safetensors").read_bytes() == (tmp_path / "two" / "model.safetensors").read_bytes()


def test_a_regression_model_learns_from_one_output_teachers_only():
    distillation.check_teacher_labels("rater", BertConfig(num_labels=1), None)  # a rating: accepted
    with pytest.raises(TeacherError, match=r"a regression model learns from a teacher with one output .* 2: "
                                           r"\['LABEL_0', 'LABEL_1'\]"):
        distillation.check_teacher_labels("classifier", BertConfig(num_labels=2), None)
