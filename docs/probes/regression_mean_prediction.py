"""Mean prediction of regression models on the validation split, against the true mean.

    python docs/probes/regression_mean_prediction.py outputs/clothing_regression outputs/seeds/clothing_regression_s43
"""
import sys, numpy as np, torch
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding
import hf_lstm  # noqa
from hf_lstm.training import parse_arguments
from hf_lstm.data import prepare_data
torch.set_num_threads(1)
_, data_args, _, _ = parse_arguments(["configs/clothing_regression.yaml"])
splits, tok, _ = prepare_data(data_args)
val = splits["validation"]
y = np.array(val["labels"])
coll = DataCollatorWithPadding(tok)
for path in sys.argv[1:]:
    m = AutoModelForSequenceClassification.from_pretrained(path).eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(val), 256):
            b = coll([{"input_ids": ids} for ids in val[i:i+256]["input_ids"]])
            preds.append(m(**b).logits.squeeze(-1).numpy())
    p = np.concatenate(preds)
    rmse = np.sqrt(((p - y) ** 2).mean()); shifted = np.sqrt(((p - p.mean() + y.mean() - y) ** 2).mean())
    print(f"{path}: mean pred {p.mean():.3f} (true {y.mean():.3f}), max {p.max():.2f}, val RMSE {rmse:.4f}, with the mean offset removed {shifted:.4f}")
