"""Accuracy of the mean of the three seed models' probabilities (clothing, 5 classes), and its errors.

    python docs/probes/seed_ensemble.py     # needs the three seed models of configs/clothing.yaml
"""
import numpy as np, torch, yaml
from dataclasses import fields
from hf_lstm.arguments import DataArguments
from hf_lstm.data import prepare_data
from hf_lstm.loading import load_model
cfg = yaml.safe_load(open("configs/clothing.yaml"))
data, tok, _ = prepare_data(DataArguments(**{k: v for k, v in cfg.items() if k in {f.name for f in fields(DataArguments)}}))
folders = ["outputs/clothing", "outputs/seeds/clothing_s43", "outputs/seeds/clothing_s44"]
for split in ("validation", "test"):
    ds, probs = data[split], []
    labels = np.array(ds["labels"])
    for folder in folders:
        model, _ = load_model(folder); model.eval(); out = []
        with torch.no_grad():
            for i in range(0, len(ds), 256):
                batch = tok.pad({"input_ids": ds[i:i+256]["input_ids"]}, return_tensors="pt")
                out.append(torch.softmax(model(**batch).logits.float(), -1).numpy())
        probs.append(np.concatenate(out))
    mean = np.mean(probs, 0)
    print(split, [(p.argmax(1) == labels).mean() for p in probs], (mean.argmax(1) == labels).mean())
    pred = mean.argmax(1); wrong = pred != labels
    print("errors", wrong.sum(), "one star off", (abs(pred - labels)[wrong] == 1).mean(),
          "4 <-> 5 stars", ((pred[wrong] >= 3) & (labels[wrong] >= 3)).mean())  # class ids 3 and 4
