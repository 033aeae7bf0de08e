"""Inference speed with the reviews as given against sorted by length (3,000 IMDB test reviews), float32 and int8.

    python docs/probes/inference_order.py     # needs outputs/imdb
"""
import time, numpy as np
import hf_lstm  # noqa: F401
from datasets import load_dataset
from hf_lstm.prediction import load_classifier, predict
ds = load_dataset("data/imdb")["test"].shuffle(seed=0).select(range(3000))
texts = list(ds["text"])
order = np.argsort([len(t) for t in texts])
for q in (None, "int8"):
    c = load_classifier("outputs/imdb", quantize=q)
    predict(c, texts[:64])
    s = time.perf_counter(); a = predict(c, texts); t1 = time.perf_counter() - s
    s = time.perf_counter(); b = predict(c, [texts[i] for i in order]); t2 = time.perf_counter() - s
    back = [None] * len(texts)
    for j, i in enumerate(order): back[i] = b[j]
    same = sum(x["label"] == y["label"] for x, y in zip(a, back))
    diff = max(abs(x["score"] - y["score"]) for x, y in zip(a, back))
    print(q, f"random {len(texts)/t1:.0f}/s sorted {len(texts)/t2:.0f}/s same labels {same}, max score diff {diff:.2e}")
