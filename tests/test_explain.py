import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from datasets import Dataset

from hf_lstm import LSTMForSequenceClassification
from hf_lstm.explain import explain, explainable_model, top_words, write_report
from hf_lstm.modeling_lstm import tokens_read
from hf_lstm.prediction import load_classifier, predict
from hf_lstm.tokenization import train_tokenizer

from .conftest import REVIEWS, save_tiny_model, tiny_config

TEXT = "A wonderful film!<br />The acting, qwzx, is great... and terrible."


def tiny(tokenizer, **overrides):
    torch.manual_seed(0)
    values = dict(vocab_size=len(tokenizer), bidirectional=True, pooling="mean_max", id2label={0: "neg", 1: "pos"},
                  label2id={"neg": 0, "pos": 1})
    return LSTMForSequenceClassification(tiny_config(**values | overrides)).eval()


@pytest.mark.parametrize("cell_type, bidirectional, pooling, problem", [
    ("lstm", True, "mean_max", "single_label_classification"),
    ("gru", False, "mean", "single_label_classification"),
    ("rnn", True, "last", "regression"),
])
def test_integrated_gradients_sum_to_the_logit_minus_the_pad_baselines(tokenizer, cell_type, bidirectional, pooling,
                                                                       problem):
    labels = dict(num_labels=1, id2label={0: "rating"}, label2id={"rating": 0}) if problem == "regression" else {}
    model = tiny(tokenizer, cell_type=cell_type, bidirectional=bidirectional, pooling=pooling, problem_type=problem,
                 **labels)
    gaps = []
    for steps in (50, 300):
        (result,) = explain(model, tokenizer, [TEXT], steps=steps)
        total = sum(word["attribution"] for word in result["words"])
        change = result["logit"] - result["baseline_logit"]
        assert total == pytest.approx(change, rel=0.05, abs=1e-6)  # within 5 % at the default steps
        gaps.append(abs(total - change))
    assert gaps[1] <= gaps[0] + 1e-7  # closer with more steps
    assert result["target"] == ("rating" if problem == "regression" else max(
        ("neg", "pos"), key=lambda name: model(**tokenizer([TEXT], return_tensors="pt")).logits[0, model.config.label2id[name]]))


def test_spans_point_at_the_words_of_the_original_text(tokenizer):
    (result,) = explain(tiny(tokenizer), tokenizer, [TEXT], method="gradient_x_input")
    words = [word["word"] for word in result["words"]]
    assert words == ["A", "wonderful", "film", "!<", "/>", "The", "acting", ",", "qwzx", ",", "is", "great", "...",
                     "and", "terrible", "."] or all(TEXT[w["start"]:w["end"]] == w["word"] for w in result["words"])
    assert all(TEXT[word["start"]:word["end"]] == word["word"] for word in result["words"])
    assert "qwzx" in words and "A" in words  # an unknown word and the original case are kept


def test_attributions_do_not_depend_on_the_batch_or_truncation_is_the_models(tokenizer):
    model = tiny(tokenizer, truncation="head_tail", max_tokens=6)
    alone = explain(model, tokenizer, [TEXT])[0]
    together = explain(model, tokenizer, ["Dull.", TEXT, "A long " * 30 + "review"])[1]
    assert alone == together
    assert [word["word"] for word in alone["words"]] == ["A", "wonderful", "film", "and", "terrible", "."]


def test_a_planted_word_that_decides_the_label_is_ranked_first(tmp_path):
    random = np.random.default_rng(0)
    filler = "the film was a story of some people and it is long with music".split()
    texts, labels = [], []
    for i in range(400):
        words = list(random.choice(filler, 10))
        if i % 2:
            words.insert(int(random.integers(0, 10)), "zebra")
        texts.append(" ".join(words))
        labels.append(i % 2)
    tokenizer = train_tokenizer(texts, max_vocab_size=100)
    model = tiny(tokenizer)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()
    for epoch in range(6):
        for start in range(0, 400, 32):
            batch = tokenizer(texts[start:start + 32], padding=True, return_tensors="pt")
            loss = model(**batch, labels=torch.tensor(labels[start:start + 32])).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    planted = "the story was long zebra and some music of people"
    for method in ("integrated_gradients", "gradient_x_input"):
        (result,) = explain(model, tokenizer, [planted], method=method)
        assert result["target"] == "pos"
        assert top_words(result, 1)[0]["word"] == "zebra", method


def test_the_html_report_is_written_whole_and_escapes_the_text(tmp_path, tokenizer):
    text = 'Great <script>alert("x")</script> & fine'
    (result,) = explain(tiny(tokenizer), tokenizer, [text])
    path = tmp_path / "report.html"
    write_report(path, [{"text": text, "explanation": result, "predicted": "pos", "gold": "neg"}])
    page = path.read_text()
    assert "<script" not in page and "&lt;" in page and "&amp;" in page and "(&quot;" in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count('title="') == len(result["words"]) and 'class="wrong"' in page
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no partial file left beside it


def test_onnx_quantised_and_missing_models_are_one_error_line(tmp_path, tokenizer):
    model_dir = save_tiny_model(tmp_path / "model", tokenizer)
    for extra, expected in ((["--quantize", "int8"], "error: explanations read the float32 model's gradients"),
                            ([], None)):
        result = subprocess.run([sys.executable, "scripts/predict.py", "--model", str(model_dir), "--explain", "2",
                                 *extra, TEXT], capture_output=True, text=True)
        if expected:
            assert result.returncode == 1 and result.stderr.strip().splitlines()[-1].startswith(expected)
        else:
            (line,) = result.stdout.splitlines()
            answer = json.loads(line)
            assert len(answer["explanation"]) == 2 and answer["label"] in ("neg", "pos")
    missing = subprocess.run([sys.executable, "scripts/explain.py", str(tmp_path / "nothing"), "fine"],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and missing.stderr.strip().splitlines()[-1].startswith("error: ")
    from hf_lstm.onnx_model import export_onnx  # the [onnx] extra
    export_onnx(model_dir, tmp_path / "onnx")
    with pytest.raises(ValueError, match="explanations need the PyTorch model"):
        explainable_model(load_classifier(str(tmp_path / "onnx"), backend="onnx"))


def test_the_script_explains_the_most_confident_mistakes_of_a_prediction_record(tmp_path, tokenizer):
    model_dir = save_tiny_model(tmp_path / "model", tokenizer)
    data = tmp_path / "reviews.csv"
    Dataset.from_dict({"text": REVIEWS, "label": ["pos", "neg", "pos", "neg"]}).to_csv(data, index=False)
    answers = predict(load_classifier(str(model_dir)), REVIEWS)
    record = tmp_path / "predictions.jsonl"
    record.write_text("".join(json.dumps({"row": row, "gold": gold, **answer}) + "\n"
                              for row, (gold, answer) in enumerate(zip(["pos", "neg", "pos", "neg"], answers))))
    wrong = [row for row, (gold, answer) in enumerate(zip(["pos", "neg", "pos", "neg"], answers))
             if answer["label"] != gold]
    result = subprocess.run([sys.executable, "scripts/explain.py", str(model_dir), "--predictions", str(record),
                             "--data", str(data), "--errors", "10", "--html", str(tmp_path / "mistakes.html")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    page = (tmp_path / "mistakes.html").read_text()
    assert page.count('<div class="review">') == len(wrong)
    assert all(REVIEWS[row].split()[1] in page for row in wrong)


def test_bad_counts_and_an_existing_report_are_refused_before_the_model_is_read(tmp_path):
    existing = tmp_path / "report.html"
    existing.write_text("my notes")
    for script, arguments, expected in (
        ("explain.py", [str(tmp_path / "no-model"), "fine", "--html", str(existing)], "report.html: exists"),
        ("explain.py", [str(tmp_path / "no-model"), "fine", "--steps", "0"], "--steps must be at least 1; got 0"),
        ("predict.py", ["--model", str(tmp_path / "no-model"), "--explain", "-1", "fine"], "--explain is a number"),
    ):
        result = subprocess.run([sys.executable, f"scripts/{script}", *arguments], capture_output=True, text=True)
        assert result.returncode == 1 and expected in result.stderr.strip().splitlines()[-1], result.stderr[-500:]
    assert existing.read_text() == "my notes"  # the user's file is untouched


def test_an_ngram_channel_adds_its_exact_share_to_each_word(tokenizer):
    plain = tiny(tokenizer, truncation="head_tail", max_tokens=8)
    model = tiny(tokenizer, truncation="head_tail", max_tokens=8, ngram_orders=[1, 2, 3], ngram_buckets=64)
    model.load_state_dict(plain.state_dict(), strict=False)  # the same encoder and head, plus a channel
    torch.nn.init.normal_(model.ngrams.weight)
    model.ngrams.bias.data = torch.tensor([0.3, -0.2])
    text = "great great film , great acting and a dull dull end"  # repeated n-grams share their bucket's weight
    ids, _, lengths = tokens_read(tokenizer([text], return_tensors="pt")["input_ids"], None, model.config)
    with torch.no_grad():
        channel_logit = float(model.ngrams(ids, lengths)[0, 1])  # "pos", the bias (-0.2) included
    for method in ("integrated_gradients", "gradient_x_input"):
        (with_channel,) = explain(model, tokenizer, [text], target="pos", method=method)
        (without,) = explain(plain, tokenizer, [text], target="pos", method=method)
        shares = [a["attribution"] - b["attribution"] for a, b in zip(with_channel["words"], without["words"])]
        assert len(shares) == 8  # the words the model reads: its first and last four tokens
        assert sum(shares) == pytest.approx(channel_logit + 0.2, abs=1e-5)
        assert with_channel["logit"] == pytest.approx(without["logit"] + channel_logit, abs=1e-5)
    (integrated,) = explain(model, tokenizer, [text], target="pos", steps=300)
    total = sum(word["attribution"] for word in integrated["words"])
    assert total == pytest.approx(integrated["logit"] - integrated["baseline_logit"], rel=0.02)
