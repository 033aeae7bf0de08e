"""What the tokenizer's time is made of: pipelines of normalisers and pre-tokenizers over IMDB's 50,000 reviews.

    python docs/probes/tokenizer_pipelines.py
"""
import time
from datasets import load_dataset
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
texts = []
for split in ["train", "test"]:
    texts += load_dataset("data/imdb", split=split)["text"]
def build(norm, pre):
    t = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    if norm is not None: t.normalizer = norm
    t.pre_tokenizer = pre
    tr = trainers.WordLevelTrainer(vocab_size=25002, min_frequency=2, special_tokens=["[PAD]", "[UNK]"], show_progress=False)
    t.train_from_iterator(texts[:25000], trainer=tr)
    return t
L = normalizers.Lowercase
R = lambda: normalizers.Replace(Regex(r"<br\s*/?>"), " ")
variants = {
 "current": (normalizers.Sequence([L(), R()]), pre_tokenizers.Whitespace()),
 "ws+punct": (normalizers.Sequence([L(), R()]), pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation("contiguous")])),
 "bert": (normalizers.Sequence([L(), R()]), pre_tokenizers.BertPreTokenizer()),
 "lower+ws": (L(), pre_tokenizers.Whitespace()),
 "none+ws": (None, pre_tokenizers.Whitespace()),
 "lower+R+wssplit": (normalizers.Sequence([L(), R()]), pre_tokenizers.WhitespaceSplit()),
 "R+lower": (normalizers.Sequence([R(), L()]), pre_tokenizers.Whitespace()),
}
toks = {k: build(*v) for k, v in variants.items()}
best = {k: 1e9 for k in toks}
for _ in range(3):
    for k, t in toks.items():
        s = time.perf_counter(); t.encode_batch(texts, add_special_tokens=False); best[k] = min(best[k], time.perf_counter() - s)
ref = toks["current"].encode_batch(texts[:5000], add_special_tokens=False)
for k, t in toks.items():
    other = sum(a.tokens != b.tokens for a, b in zip(ref, t.encode_batch(texts[:5000], add_special_tokens=False)))
    print(f"{k}: {len(texts) / best[k]:,.0f} reviews/s, other tokens in {other} of 5,000 reviews")
