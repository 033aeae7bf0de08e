"""LSTM text classifier: embedding -> recurrent layers -> pooled vector -> classification / regression head; and, on
the same encoder, a language-model head (next word forward, previous word backward) to pretrain it on unlabelled text.

Batches are padded on the right and run through the recurrent cells as plain padded tensors (on a CPU this is tens of
times faster than `pack_padded_sequence`). Padding still never changes a result:
- the forward direction reads left to right, so its outputs at real positions never see the padding after them;
- the backward direction runs on each sequence reversed *within its own length* (padding stays at the end), and its
  outputs are put back in the original order the same way;
- pooling reads only real positions ("last" takes each sequence's own last real position).
"""

import math

import torch
from torch import nn
from torch.nn import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from transformers import GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutputWithPooling, CausalLMOutput, SequenceClassifierOutput

from .configuration_lstm import LSTMConfig


def truncate_batch(attention_mask, max_length, strategy, *tensors):
    """Keep `max_length` tokens of each right-padded review: its head, or (`"head_tail"`) its first `max_length // 2`
    and its last `max_length - max_length // 2` tokens (a review's verdict is often at its end). Returns the cut
    `attention_mask` and each of `tensors` ((batch, time, ...): ids, embeddings) cut the same way.

    This is the one place the rule lives: training data, evaluation, the pipeline and exported graphs all go through
    it, so a saved model reads exactly what it was scored on. Applying it twice changes nothing.
    """
    width = min(attention_mask.shape[1], max_length)
    positions = torch.arange(width, device=attention_mask.device).expand(attention_mask.shape[0], width)
    if strategy == "head_tail":
        lengths = attention_mask.sum(dim=1, keepdim=True)  # (batch, 1)
        skipped = (lengths - max_length).clamp(min=0)  # (batch, 1): tokens cut out of the middle
        positions = positions + (positions >= max_length // 2) * skipped  # (batch, width)

    def cut(tensor):
        index = positions.view(*positions.shape, *[1] * (tensor.dim() - 2)).expand(-1, -1, *tensor.shape[2:])
        return tensor.gather(1, index)

    return cut(attention_mask), *(cut(tensor) for tensor in tensors)


class ReferenceLSTM(nn.Module):
    """One LSTM layer written out gate by gate, one time step at a time.

    It holds the same parameters, under the same names, as a one-layer `torch.nn.LSTM(batch_first=True)`, and returns
    the same outputs and gradients, so weights trained with either load into the other. Read it to learn the gates:

        i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)     input gate: how much new content to write
        f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)     forget gate: how much of the old cell to keep
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)        candidate content
        o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)     output gate: how much of the cell to show
        c_t = f_t * c_{t-1} + i_t * g_t                          cell state: the long-term memory
        h_t = o_t * tanh(c_t)                                    hidden state: the output at step t

    The cell state is updated by a sum, not squashed through a matrix at every step as a plain RNN's state is; that
    is what lets the gradient reach words hundreds of steps back.
    """

    def __init__(self, input_size, hidden_size, batch_first=True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        # PyTorch stacks the four gates' weights in the order input, forget, cell (candidate), output.
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias_ih_l0 = nn.Parameter(torch.empty(4 * hidden_size))
        self.bias_hh_l0 = nn.Parameter(torch.empty(4 * hidden_size))
        bound = 1.0 / math.sqrt(hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def forward(self, inputs):
        batch_size, seq_len, _ = inputs.shape  # (batch, time, input_size)
        h = inputs.new_zeros(batch_size, self.hidden_size)  # (batch, hidden)
        c = inputs.new_zeros(batch_size, self.hidden_size)  # (batch, hidden)
        # The input part of every gate does not depend on the state: compute it for all steps at once.
        input_part = inputs @ self.weight_ih_l0.T + self.bias_ih_l0  # (batch, time, 4 * hidden)
        outputs = []
        for t in range(seq_len):
            gates = input_part[:, t] + h @ self.weight_hh_l0.T + self.bias_hh_l0  # (batch, 4 * hidden)
            input_gate, forget_gate, candidate, output_gate = gates.chunk(4, dim=-1)  # 4 x (batch, hidden)
            input_gate = torch.sigmoid(input_gate)
            forget_gate = torch.sigmoid(forget_gate)
            candidate = torch.tanh(candidate)
            output_gate = torch.sigmoid(output_gate)
            c = forget_gate * c + input_gate * candidate  # (batch, hidden)
            h = output_gate * torch.tanh(c)  # (batch, hidden)
            outputs.append(h)
        output = torch.stack(outputs, dim=1)  # (batch, time, hidden)
        return output, (h.unsqueeze(0), c.unsqueeze(0))


def reverse_within_length(tensor, lengths):
    """Reverse each sequence of `tensor` (batch, time, features) within its own length; padding stays at the end.

    Applying it twice gives the input back.
    """
    batch_size, seq_len, features = tensor.shape
    positions = torch.arange(seq_len, device=tensor.device).expand(batch_size, seq_len)  # (batch, time)
    reversed_positions = lengths.unsqueeze(1) - 1 - positions  # (batch, time)
    index = torch.where(reversed_positions >= 0, reversed_positions, positions)  # (batch, time)
    return tensor.gather(1, index.unsqueeze(-1).expand(batch_size, seq_len, features))  # (batch, time, features)


class LSTMLayer(nn.Module):
    """One recurrent layer: a left-to-right cell and, if bidirectional, a right-to-left cell.

    With `split_input` (a layer above the first, directions kept apart) the forward cell reads the first half of the
    input features (the forward outputs below) and the backward cell the second half (the backward outputs below).
    """

    def __init__(self, config, input_size, split_input=False):
        super().__init__()
        self.split_input = split_input
        if split_input:
            input_size = config.hidden_size
        if config.lstm_impl == "reference":
            make_cell = lambda: ReferenceLSTM(input_size, config.hidden_size)  # noqa: E731
        else:  # torch.nn.LSTM, GRU or RNN
            cell_class = getattr(nn, config.cell_type.upper())
            make_cell = lambda: cell_class(input_size, config.hidden_size, batch_first=True)  # noqa: E731
        self.forward_cell = make_cell()
        self.backward_cell = make_cell() if config.bidirectional else None

    def forward(self, inputs, lengths):
        forward_input, backward_input = inputs, inputs  # (batch, time, input)
        if self.split_input:
            forward_input, backward_input = inputs.chunk(2, dim=-1)  # 2 x (batch, time, hidden)
        output = self.run_direction(self.forward_cell, forward_input, lengths, reverse=False)  # (batch, time, hidden)
        if self.backward_cell is None:
            return output
        backward_output = self.run_direction(self.backward_cell, backward_input, lengths, reverse=True)
        return torch.cat([output, backward_output], dim=-1)  # (batch, time, 2 * hidden)

    def run_direction(self, cell, inputs, lengths, reverse):
        """One direction's outputs (batch, time, hidden); right to left (`reverse`), each review is read reversed
        within its own length, so the padding after it is never read first. The ONNX export overrides this."""
        if not reverse:
            return cell(inputs)[0]
        backward_output = cell(reverse_within_length(inputs, lengths))[0]  # (batch, time, hidden)
        return reverse_within_length(backward_output, lengths)


class LSTMPreTrainedModel(PreTrainedModel):
    config_class = LSTMConfig
    config: LSTMConfig
    base_model_prefix = "lstm"
    main_input_name = "input_ids"
    # The loss is a mean over the batch; the Trainer divides it by the gradient-accumulation steps and DDP averages
    # the gradients, so every launch computes the gradient of one process with the same global batch.
    accepts_loss_kwargs = False

    def recurrent_flops_per_token(self):
        """Training FLOPs of the recurrent layers per (real) position, as nanoGPT's `estimate_mfu` counts them: each
        weight matrix costs 2 FLOPs per entry forward, backward twice that."""
        encoder = getattr(self, self.base_model_prefix, self)
        weights = sum(param.numel() for name, param in encoder.layers.named_parameters() if ".weight_" in name)
        return 3 * 2 * weights

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Save as usual; a model saved with its code also names the bare encoder in `auto_map`, so that
        `AutoModel.from_pretrained(folder, trust_remote_code=True)` works as well as the task head's Auto class."""
        if self._auto_class is not None:
            auto_map = getattr(self.config, "auto_map", None) or {}
            self.config.auto_map = {**auto_map, "AutoModel": "modeling_lstm.LSTMModel"}
        return super().save_pretrained(save_directory, *args, **kwargs)

    @torch.no_grad()
    def _init_weights(self, module):
        if isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=0.1)
            if module.padding_idx is not None and not getattr(module.weight, "_is_hf_initialized", False):
                init.zeros_(module.weight[module.padding_idx])
        elif isinstance(module, nn.Linear):
            init.xavier_uniform_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, (nn.RNNBase, ReferenceLSTM)):
            # PyTorch's own recurrent init, with the LSTM forget-gate biases at 1 (remember by default).
            bound = 1.0 / math.sqrt(module.hidden_size)
            for name, param in module.named_parameters(recurse=False):
                init.uniform_(param, -bound, bound)
                if name.startswith("bias_ih") and isinstance(module, (nn.LSTM, ReferenceLSTM)):
                    hidden = module.hidden_size
                    init.constant_(param[hidden : 2 * hidden], 1.0)
        elif isinstance(module, NgramChannel):
            init.zeros_(module.weight)
            init.zeros_(module.bias)  # a new channel adds nothing until it is fitted
        elif isinstance(module, LSTMModel) and hasattr(module, "token_frequencies"):
            init.ones_(module.token_frequencies)  # every word alike until the training text's counts are set


class LSTMModel(LSTMPreTrainedModel):
    """The bare encoder: token ids -> per-position outputs and one pooled vector per review."""

    def __init__(self, config):
        super().__init__(config)  # the config has checked its own values (LSTMConfig._check_own_values)
        self.embeddings = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id)
        self.embedding_dropout = nn.Dropout(config.embedding_dropout)
        directions = 2 if config.bidirectional else 1
        split = config.bidirectional and config.separate_directions
        self.layers = nn.ModuleList(
            LSTMLayer(config, config.embedding_dim if i == 0 else directions * config.hidden_size, split and i > 0)
            for i in range(config.num_layers)
        )
        self.layer_dropout = nn.Dropout(config.dropout)
        self.output_size = directions * config.hidden_size * len(config.pooling.split("_"))
        if config.normalize_embeddings:
            # how often each word occurs in the training text, set before training (`set_token_frequencies`)
            self.register_buffer("token_frequencies", torch.ones(config.vocab_size))
        self.post_init()

    def set_token_frequencies(self, counts):
        """The words' counts in the training text, which weight the embedding normalisation's mean and variance."""
        self.token_frequencies.copy_(torch.as_tensor(counts, dtype=self.token_frequencies.dtype))

    def embed(self, input_ids):
        """The word vectors of `input_ids` (batch, time, embedding_dim); with `normalize_embeddings`, read from the
        normalised embedding matrix (`normalized_embeddings`)."""
        if not self.config.normalize_embeddings:
            return self.embeddings(input_ids)
        return nn.functional.embedding(input_ids, self.normalized_embeddings())

    def normalized_embeddings(self):
        """Miyato et al.'s normalised embedding matrix (vocab, embedding_dim): v' = (v - E[v]) / sqrt(Var[v]), mean and
        variance of each dimension weighted by the words' frequencies. The padding row stays zero."""
        weight = self.embeddings.weight  # (vocab, embedding_dim)
        shares = (self.token_frequencies / self.token_frequencies.sum().clamp(min=1e-12)).unsqueeze(1)  # (vocab, 1)
        mean = (shares * weight).sum(dim=0, keepdim=True)  # (1, embedding_dim)
        variance = (shares * (weight - mean) ** 2).sum(dim=0, keepdim=True)  # (1, embedding_dim)
        normalized = (weight - mean) / torch.sqrt(variance + 1e-6)  # (vocab, embedding_dim)
        if self.config.pad_token_id is not None:
            keep = torch.ones_like(shares)  # (vocab, 1)
            keep[self.config.pad_token_id] = 0.0
            normalized = normalized * keep
        return normalized

    def get_input_embeddings(self):
        return self.embeddings

    def set_input_embeddings(self, value):
        self.embeddings = value

    def forward(
        self, input_ids=None, attention_mask=None, inputs_embeds=None, output_hidden_states=None, return_dict=None,
        **kwargs,
    ):
        """`input_ids` (batch, time), or `inputs_embeds` (batch, time, embedding_dim) in place of their word vectors;
        both are cut by the config's truncation. `output_hidden_states` returns the embeddings read (after
        truncation) and each layer's outputs (before dropout)."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("give either input_ids or inputs_embeds")
        if inputs_embeds is None:
            input_ids, attention_mask, lengths = tokens_read(input_ids, attention_mask, self.config)
            inputs_embeds = self.embed(input_ids)  # (batch, time, embedding_dim)
        else:
            attention_mask, inputs_embeds, lengths = embeddings_read(inputs_embeds, attention_mask, self.config)
        positions = torch.arange(inputs_embeds.shape[1], device=inputs_embeds.device)  # (time,)
        mask = positions.unsqueeze(0) < lengths.unsqueeze(1)  # (batch, time)

        all_hidden = [inputs_embeds]
        hidden = self.embedding_dropout(inputs_embeds)  # (batch, time, embedding_dim)
        for i, layer in enumerate(self.layers):
            if i > 0:
                hidden = self.layer_dropout(hidden)
            hidden = layer(hidden, lengths)  # (batch, time, directions * hidden)
            all_hidden.append(hidden)
        pooled = self.pool(hidden, lengths, mask)  # (batch, output_size)
        return BaseModelOutputWithPooling(
            last_hidden_state=hidden,
            pooler_output=pooled,
            hidden_states=tuple(all_hidden) if output_hidden_states else None,
        )

    def pool(self, hidden, lengths, mask):
        parts = self.config.pooling.split("_")  # e.g. "last_mean_max" -> concatenation of the three, in that order
        pooled = []
        if "last" in parts:
            size = self.config.hidden_size
            index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, size)  # (batch, 1, hidden)
            last = hidden[..., :size].gather(1, index).squeeze(1)  # (batch, hidden)
            pooled.append(last)
            if self.config.bidirectional:
                pooled.append(hidden[:, 0, size:])  # (batch, hidden): the backward direction ends at position 0
        mask = mask.unsqueeze(-1)  # (batch, time, 1)
        if "mean" in parts:
            total = hidden.masked_fill(~mask, 0.0).sum(dim=1)  # (batch, features)
            pooled.append(total / lengths.unsqueeze(1).to(hidden.dtype))
        if "max" in parts:
            pooled.append(hidden.masked_fill(~mask, float("-inf")).amax(dim=1))  # (batch, features)
        return torch.cat(pooled, dim=-1)  # (batch, output_size)


def tokens_read(input_ids, attention_mask, config):
    """What the encoder reads of a right-padded batch: (input_ids, attention_mask, lengths), empty reviews read as one
    `[PAD]` token, every review cut by the config's truncation (`truncate_batch`); lengths (batch,) count real tokens,
    at least 1 (an empty review is read as a single [PAD] token, whose embedding is zero)."""
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must have shape (batch, time), got {tuple(input_ids.shape)}")
    if input_ids.shape[0] == 0:
        raise ValueError("empty batch: input_ids has no rows")
    input_ids, attention_mask = read_empty_reviews_as_padding(input_ids, attention_mask, config.pad_token_id)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    if config.truncation is not None:
        attention_mask, input_ids = truncate_batch(attention_mask, config.max_tokens, config.truncation, input_ids)
    return input_ids, attention_mask, attention_mask.sum(dim=1).clamp(min=1)  # ..., (batch,)


def embeddings_read(inputs_embeds, attention_mask, config):
    """`tokens_read` for word vectors given in place of ids: (attention_mask, inputs_embeds, lengths)."""
    if inputs_embeds.dim() != 3 or inputs_embeds.shape[1] == 0:
        raise ValueError(f"inputs_embeds must have shape (batch, time > 0, embedding_dim), got "
                         f"{tuple(inputs_embeds.shape)}")
    if attention_mask is None:
        attention_mask = inputs_embeds.new_ones(inputs_embeds.shape[:2], dtype=torch.long)
    if config.truncation is not None:
        attention_mask, inputs_embeds = truncate_batch(attention_mask, config.max_tokens, config.truncation,
                                                       inputs_embeds)
    return attention_mask, inputs_embeds, attention_mask.sum(dim=1).clamp(min=1)


def read_empty_reviews_as_padding(input_ids, attention_mask, pad_token_id):
    """A batch whose reviews are all empty (no time steps) is read as one `[PAD]` token each, whose embedding is
    zero: every model, the exported graph included, gives an empty review the same defined prediction."""
    if input_ids.shape[1] == 0:
        input_ids = input_ids.new_full((input_ids.shape[0], 1), pad_token_id)  # (batch, 1)
        attention_mask = torch.ones_like(input_ids)
    return input_ids, attention_mask


NGRAM_HASH_MULTIPLIER = 1_000_003  # a prime; with buckets below 2**40 every step of the hash fits in int64


def hashed_ngrams(input_ids, lengths, orders, buckets):
    """Each n-gram of each review, hashed: (bucket ids, in_review), both (batch, len(orders) * time). The n-gram of
    order n that starts at position t reads tokens t .. t + n - 1 and is in the review when they all are (t + n <=
    its length), so padding never makes or changes one.

    The hash is integer arithmetic on the token ids alone (a polynomial in them modulo `buckets`, seeded by the
    order, so "a" and "a b" differ), the same in every batch, in the ONNX export and on every machine."""
    time = input_ids.shape[1]
    ids = input_ids.long() + 1  # (batch, time); 0 is left for the hash's seed
    starts = torch.arange(time, device=input_ids.device)  # (time,)
    hashes, in_review = [], []
    for order in orders:
        value = torch.full_like(ids, order)  # (batch, time)
        for offset in range(order):
            following = nn.functional.pad(ids[:, offset:], (0, min(offset, time)))  # (batch, time): token t + offset
            value = (value * NGRAM_HASH_MULTIPLIER + following) % buckets
        hashes.append(value)
        in_review.append(starts.unsqueeze(0) + order <= lengths.unsqueeze(1))  # (batch, time)
    return torch.cat(hashes, dim=1), torch.cat(in_review, dim=1)


def distinct_ngrams(input_ids, lengths, orders, buckets):
    """The buckets of each review's n-grams, each bucket once: (buckets, first), both (batch, len(orders) * time);
    `first` marks one entry per distinct bucket of the review (the rest, and what is not in the review, are False)."""
    hashes, in_review = hashed_ngrams(input_ids, lengths, orders, buckets)  # 2 x (batch, ngrams)
    ordered = torch.where(in_review, hashes, -1).sort(dim=1).values  # (batch, ngrams): outside the review first
    changed = ordered[:, 1:] != ordered[:, :-1]  # (batch, ngrams - 1)
    first = torch.cat([torch.ones_like(ordered[:, :1], dtype=torch.bool), changed], dim=1) & (ordered >= 0)
    return ordered.clamp(min=0), first


class NgramChannel(nn.Module):
    """The wide part of a wide-and-deep model: a linear model of the review's bag of hashed n-grams of token ids
    (`hashed_ngrams`), each distinct bucket counted once (binarised, as NBSVM's features are) -> (batch, num_labels)
    logits, added to the head's. Its weights are fitted before the encoder trains (`baseline.fit_ngram_channel`); a
    new channel is zero and changes no prediction."""

    def __init__(self, config):
        super().__init__()
        self.orders, self.buckets = list(config.ngram_orders), config.ngram_buckets
        self.weight = nn.Parameter(torch.zeros(config.ngram_buckets, config.num_labels))
        self.bias = nn.Parameter(torch.zeros(config.num_labels))

    def forward(self, input_ids, lengths):
        buckets, first = distinct_ngrams(input_ids, lengths, self.orders, self.buckets)  # 2 x (batch, ngrams)
        weights = first.to(self.weight.dtype)  # (batch, ngrams)
        return nn.functional.embedding_bag(buckets, self.weight, per_sample_weights=weights, mode="sum") + self.bias


class LSTMForSequenceClassification(LSTMPreTrainedModel):
    """The encoder plus a linear head, with the standard loss of its `problem_type`: cross-entropy
    (single-label), binary cross-entropy (multi-label) or mean squared error (regression). With `ngram_orders`, the
    n-gram channel's logits are added to the head's (`NgramChannel`); it reads token ids, so a forward pass from
    `inputs_embeds` gives the head's logits alone."""

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.lstm = LSTMModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(self.lstm.output_size, config.num_labels)
        self.ngrams = NgramChannel(config) if config.ngram_orders else None
        self.post_init()

    def forward(
        self, input_ids=None, attention_mask=None, inputs_embeds=None, labels=None, output_hidden_states=None,
        return_dict=None, **kwargs,
    ):
        outputs = self.lstm(input_ids, attention_mask, inputs_embeds, output_hidden_states=output_hidden_states)
        logits = self.classifier(self.dropout(outputs.pooler_output))  # (batch, num_labels)
        if self.ngrams is not None and input_ids is not None:
            input_ids, _, lengths = tokens_read(input_ids, attention_mask, self.config)  # as the encoder read them
            logits = logits + self.ngrams(input_ids, lengths)  # (batch, num_labels)
        loss = None
        if labels is not None:
            if self.config.problem_type is None:
                if self.num_labels == 1:
                    self.config.problem_type = "regression"
                elif labels.dtype in (torch.long, torch.int):
                    self.config.problem_type = "single_label_classification"
                else:
                    self.config.problem_type = "multi_label_classification"
            if self.config.problem_type == "regression":
                loss = MSELoss()(logits.squeeze(-1), labels.to(logits.dtype).view(-1))
            elif self.config.problem_type == "single_label_classification":
                loss = CrossEntropyLoss()(logits.view(-1, self.num_labels), labels.view(-1))
            else:
                loss = BCEWithLogitsLoss()(logits, labels.to(logits.dtype))
        if return_dict is False:
            return (loss, logits) if loss is not None else (logits,)
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states)


class LSTMForCausalLM(LSTMPreTrainedModel, GenerationMixin):
    """The encoder plus a language-model head. The forward direction predicts each next word; for a bidirectional
    encoder (its directions kept apart: `separate_directions`) the backward direction also predicts each previous
    word, and the loss is the mean of the two (ELMo's two-way language model), so every weight a bidirectional
    classifier has can start pretrained. Both directions share one adaptive softmax over the vocabulary.

    A unidirectional model is a plain causal language model and can `generate()`; `logits` (returned when no labels
    are given) are the forward direction's log-probabilities of the next word.
    """

    def __init__(self, config):
        super().__init__(config)
        if config.bidirectional and not config.separate_directions:
            raise ValueError(
                "a bidirectional language model needs separate_directions=True: in a mixed stack the upper layers' "
                "forward cells read backward outputs that have already seen the word to predict"
            )
        cutoffs = [cutoff for cutoff in config.adaptive_softmax_cutoffs if 0 < cutoff < config.vocab_size - 1]
        self.lstm = LSTMModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.lm_head = nn.AdaptiveLogSoftmaxWithLoss(
            config.hidden_size, config.vocab_size, cutoffs or [config.vocab_size - 1], div_value=4.0
        )
        self.post_init()

    def forward(self, input_ids, attention_mask=None, labels=None, return_dict=None, **kwargs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.dropout(self.lstm(input_ids, attention_mask=attention_mask).last_hidden_state)
        size = self.config.hidden_size
        forward_hidden = hidden[..., :size]  # (batch, time, hidden): has read the words up to each position
        loss = logits = None
        if labels is not None:
            real = attention_mask.bool() & (labels != -100)  # (batch, time)
            # position t predicts word t + 1 (forward) and, backward, word t - 1; both positions must be real words
            pairs = [(forward_hidden[:, :-1], labels[:, 1:], real[:, :-1] & real[:, 1:])]
            if self.config.bidirectional:
                pairs.append((hidden[:, 1:, size:], labels[:, :-1], real[:, 1:] & real[:, :-1]))
            if hidden.device.type != "cpu" and torch.is_autocast_enabled(hidden.device.type):
                # CUDA's autocast runs log_softmax in float32 but the head's linear layers in 16 bits, and the adaptive
                # softmax copies one into a buffer of its input's dtype: float32 input keeps them alike. (A CPU's
                # autocast keeps log_softmax in bf16, so the states stay as they are there.)
                pairs = [(states.float(), targets, keep) for states, targets, keep in pairs]
            losses = [self.lm_head(states[keep], targets[keep]).loss for states, targets, keep in pairs]
            loss = torch.stack(losses).mean()
        else:
            batch_size, seq_len, _ = forward_hidden.shape
            log_probs = self.lm_head.log_prob(forward_hidden.reshape(-1, size))  # (batch * time, vocab)
            logits = log_probs.view(batch_size, seq_len, -1)  # (batch, time, vocab)
        if return_dict is False:
            return (loss, logits) if loss is not None else (logits,)
        return CausalLMOutput(loss=loss, logits=logits)

    @classmethod
    def _supports_default_dynamic_cache(cls):
        return False  # no attention cache to keep between steps (as for transformers' own recurrent models)

    def prepare_inputs_for_generation(self, input_ids, attention_mask=None, **kwargs):
        """Generation re-reads the whole text at each step (an LSTM carries no attention cache)."""
        if self.config.bidirectional:
            raise ValueError("a bidirectional language model cannot generate text: its backward direction reads ahead")
        return {"input_ids": input_ids, "attention_mask": attention_mask}
