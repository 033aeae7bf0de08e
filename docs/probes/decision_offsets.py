"""Per-class log-probability offsets chosen on validation for the 5-class clothing models, applied once to test.

    python docs/probes/decision_offsets.py     # needs the three seed models of configs/clothing.yaml
"""
import numpy as np, torch, yaml
from dataclasses import fields
from hf_lstm.arguments import DataArguments
from hf_lstm.data import prepare_data
from hf_lstm.loading import load_model
cfg = yaml.safe_load(open("configs/clothing.yaml"))
data, tok, _ = prepare_data(DataArguments(**{k: v for k, v in cfg.items() if k in {f.name for f in fields(DataArguments)}}))
folders = ["outputs/clothing", "outputs/seeds/clothing_s43", "outputs/seeds/clothing_s44"]
logp = {}
for folder in folders:
    model, _ = load_model(folder); model.eval()
    for split in ("validation", "test"):
        ds, out = data[split], []
        with torch.no_grad():
            for i in range(0, len(ds), 256):
                batch = tok.pad({"input_ids": ds[i:i+256]["input_ids"]}, return_tensors="pt")
                out.append(torch.log_softmax(model(**batch).logits.float(), -1).numpy())
        logp[folder, split] = np.concatenate(out)
y = {s: np.array(data[s]["labels"]) for s in ("validation", "test")}
grid = np.arange(-1.0, 1.01, 0.1)
for folder in folders:
    v, t = logp[folder, "validation"], logp[folder, "test"]
    offsets = np.zeros(5)
    for _ in range(3):  # coordinate ascent on validation accuracy; class 4 (5 stars) fixed at 0
        for k in range(4):
            best = max(grid, key=lambda b: (((v + np.r_[offsets[:k], b, offsets[k+1:]]).argmax(1) == y["validation"]).mean(), -abs(b)))
            offsets[k] = best
    acc = lambda lp, s, o: ((lp + o).argmax(1) == y[s]).mean()
    print(folder, "offsets", offsets.round(2), "val", acc(v, "validation", 0), "->", acc(v, "validation", offsets),
          "test", acc(t, "test", 0), "->", acc(t, "test", offsets))
