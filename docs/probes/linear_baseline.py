"""TF-IDF word and word-pair logistic regression on configs/clothing.yaml's splits, C chosen on validation.

    python docs/probes/linear_baseline.py
"""
import numpy as np, yaml
from dataclasses import fields
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from hf_lstm.arguments import DataArguments
from hf_lstm.data import prepare_data
cfg = yaml.safe_load(open("configs/clothing.yaml"))
data, _, _ = prepare_data(DataArguments(**{k: v for k, v in cfg.items() if k in {f.name for f in fields(DataArguments)}}))
vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
x = {s: (vec.fit_transform if s == "train" else vec.transform)(data[s]["text"]) for s in ("train", "validation", "test")}
y = {s: np.array(data[s]["labels"]) for s in x}
fits = {c: LogisticRegression(C=c, max_iter=3000).fit(x["train"], y["train"]) for c in (1, 2, 4, 8, 16)}
val = {c: (m.predict(x["validation"]) == y["validation"]).mean() for c, m in fits.items()}
best = max(val, key=val.get)
print(val, best, (fits[best].predict(x["test"]) == y["test"]).mean())
