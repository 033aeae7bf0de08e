"""Does the product category help a linear model on configs/clothing.yaml's own splits?

    python docs/probes/category_tokens.py
"""
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from hf_lstm.data import encode_labels, join_texts, load_raw_dataset, stratified_split
path = "data/clothing-reviews/Womens Clothing E-Commerce Reviews.csv"
raw = load_raw_dataset(path)["train"]
raw = raw.add_column("row", list(range(len(raw))))
ds, _ = encode_labels(join_texts(raw, ["Title", "Review Text"], path), "Rating", "classification", list("12345"), path)
ds = ds.select_columns(["text", "labels", "row"])
train, test = stratified_split(ds, round(len(ds) * 0.1), 42)   # as make_splits draws them for configs/clothing.yaml
train, val = stratified_split(train, round(len(ds) * 0.1), 42)
cols = {c: raw[c] for c in ["Division Name", "Department Name", "Class Name"]}
meta = lambda split: [" ".join("cat_" + v[r].replace(" ", "_").lower() for v in cols.values() if v[r]) for r in split["row"]]
for with_meta in (False, True):
    t = {n: [a + " " + b for a, b in zip(s["text"], meta(s))] if with_meta else s["text"]
         for n, s in (("train", train), ("val", val), ("test", test))}
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x = vec.fit_transform(t["train"])
    for c in (1, 2, 4):
        m = LogisticRegression(C=c, max_iter=3000).fit(x, train["labels"])
        print(with_meta, c, (m.predict(vec.transform(t["val"])) == np.array(val["labels"])).mean(),
              (m.predict(vec.transform(t["test"])) == np.array(test["labels"])).mean())
