"""Does a saved model predict what its training run scored? Every test review through the stock pipeline and through
AutoTokenizer + AutoModelForSequenceClassification, against the run's test_predictions.jsonl and test_results.json.

    python docs/probes/saved_model_agreement.py outputs/imdb
"""
import json
import sys
import time

import numpy as np
import torch
from datasets import load_dataset
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

import hf_lstm  # noqa: F401  (registers the Auto classes)

folder = sys.argv[1]
test = load_dataset("data/imdb", split="test")
texts, labels = list(test["text"]), np.array(test["label"])
scored = [json.loads(line) for line in open(f"{folder}/test_predictions.jsonl")]
reported = json.load(open(f"{folder}/test_results.json"))["test_accuracy"]

start = time.perf_counter()
classifier = pipeline("text-classification", model=folder, top_k=None, batch_size=64)
order = np.argsort([len(text) for text in texts])  # shortest first: batches pad little (the order changes no result)
piped = [None] * len(texts)
for row, scores in zip(order, classifier([texts[row] for row in order])):
    piped[row] = {item["label"]: item["score"] for item in scores}
same_labels = sum(max(p, key=p.get) == s["label"] for p, s in zip(piped, scored))
largest = max(abs(p[name] - s["probabilities"][name]) for p, s in zip(piped, scored) for name in p)
print(f"pipeline: same label as the run for {same_labels} of {len(texts)} reviews, largest probability difference "
      f"{largest:.1e} ({time.perf_counter() - start:.0f} s)")

tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
predicted = np.empty(len(texts), dtype=int)
with torch.no_grad():
    for i in range(0, len(texts), 64):
        rows = order[i : i + 64]
        batch = tokenizer([texts[row] for row in rows], padding=True, truncation=True, return_tensors="pt")
        predicted[rows] = model(**batch).logits.argmax(-1).numpy()
print(f"Auto classes: accuracy {(predicted == labels).mean():.4f}; test_results.json: {reported:.4f}")
