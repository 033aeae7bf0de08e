"""What the output softmax costs a language model: training tokens/s of a one-layer LSTM language model (embedding
256, hidden 256, 25,002 words, batch 64 x 128 tokens) with a full softmax against the adaptive softmax of
`LSTMForCausalLM` (cutoffs 2,000 / 10,000), one direction and two, float32 and bf16 autocast where fast.

    python docs/probes/lm_softmax_cost.py
"""
import time

import torch
from torch import nn

from hf_lstm import LSTMConfig, LSTMForCausalLM
from hf_lstm.hardware import fast_bf16_available

torch.manual_seed(0)
VOCAB, BATCH, LENGTH, STEPS = 25_002, 64, 128, 8
# Zipf-like ids, as in text: frequent words have small ids (the vocabulary is ordered by frequency)
zipf = 1.0 / torch.arange(1, VOCAB - 1, dtype=torch.float64)
ids = torch.multinomial(zipf, BATCH * LENGTH, replacement=True).view(BATCH, LENGTH) + 2


class FullSoftmaxLM(nn.Module):
    """The same encoder with a full softmax over the vocabulary (one direction)."""

    def __init__(self, config):
        super().__init__()
        self.lm = LSTMForCausalLM(config)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, input_ids):
        hidden = self.lm.lstm(input_ids).last_hidden_state[:, :-1]  # (batch, time - 1, hidden)
        return nn.functional.cross_entropy(self.head(hidden).flatten(0, 1), input_ids[:, 1:].flatten())


def tokens_per_s(model, bf16):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(ids) if isinstance(model, FullSoftmaxLM) else model(ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step()
    start = time.perf_counter()
    for _ in range(STEPS):
        step()
    return BATCH * LENGTH * STEPS / (time.perf_counter() - start)


one_way = dict(vocab_size=VOCAB, embedding_dim=256, hidden_size=256)
two_way = dict(one_way, bidirectional=True, separate_directions=True)
for bf16 in sorted({False, fast_bf16_available()}):
    full = tokens_per_s(FullSoftmaxLM(LSTMConfig(**one_way)), bf16)
    adaptive = tokens_per_s(LSTMForCausalLM(LSTMConfig(**one_way)), bf16)
    both = tokens_per_s(LSTMForCausalLM(LSTMConfig(**two_way)), bf16)
    print(f"{'bf16' if bf16 else 'float32'}: full softmax {full:,.0f} tokens/s, adaptive {adaptive:,.0f} "
          f"({adaptive / full:.1f}x), adaptive two-way {both:,.0f}")
