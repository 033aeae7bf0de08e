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
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from transformers import GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutputWithPooling, CausalLMOutput, SequenceClassifierOutput

from .configuration_lstm import TRUNCATIONS, LSTMConfig

CELL_TYPES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def truncate_batch(input_ids, attention_mask, max_length, strategy):
    """Keep `max_length` tokens of each right-padded review: its head, or (`"head_tail"`) its first `max_length // 2`
    and its last `max_length - max_length // 2` tokens (a review's verdict is often at its end).

    This is the one place the rule lives: training data, evaluation, the pipeline and exported graphs all go through
    it, so a saved model reads exactly what it was scored on. Applying it twice changes nothing.
    """
    width = min(input_ids.shape[1], max_length)
    positions = torch.arange(width, device=input_ids.device).expand(input_ids.shape[0], width)  # (batch, width)
    if strategy == "head_tail":
        lengths = attention_mask.sum(dim=1, keepdim=True)  # (batch, 1)
        skipped = (lengths - max_length).clamp(min=0)  # (batch, 1): tokens cut out of the middle
        positions = positions + (positions >= max_length // 2) * skipped  # (batch, width)
    elif strategy != "head":
        raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {strategy!r}")
    return input_ids.gather(1, positions), attention_mask.gather(1, positions)  # 2 x (batch, width)


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
        else:
            make_cell = lambda: CELL_TYPES[config.cell_type](input_size, config.hidden_size, batch_first=True)  # noqa: E731
        self.forward_cell = make_cell()
        self.backward_cell = make_cell() if config.bidirectional else None
        self.recurrent_dropout = config.recurrent_dropout

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
            return self.run_cell(cell, inputs)
        backward_input = reverse_within_length(inputs, lengths)  # (batch, time, input)
        return reverse_within_length(self.run_cell(cell, backward_input), lengths)

    def run_cell(self, cell, inputs):
        """The cell's outputs; in training with `recurrent_dropout`, with its hidden-to-hidden weights dropped out.

        The weights are dropped once per call (one mask per batch, shared by all time steps and reviews, so padding
        still changes nothing) and passed in with `functional_call`: the parameters and their names stay as they are.
        """
        if not (self.training and self.recurrent_dropout > 0):
            return cell(inputs)[0]
        weight = nn.functional.dropout(cell.weight_hh_l0, self.recurrent_dropout)  # (gates * hidden, hidden)
        return torch.func.functional_call(cell, {"weight_hh_l0": weight}, (inputs,))[0]  # (batch, time, hidden)


class LSTMPreTrainedModel(PreTrainedModel):
    config_class = LSTMConfig
    config: LSTMConfig
    base_model_prefix = "lstm"
    main_input_name = "input_ids"
    # The loss is a mean over the batch; the Trainer divides it by the gradient-accumulation steps and DDP averages
    # the gradients, so every launch computes the gradient of one process with the same global batch.
    accepts_loss_kwargs = False

    # weight blocks per cell (LSTM: input, forget, cell and output gates)
    GATES = {"lstm": 4, "gru": 3, "rnn": 1}

    def recurrent_flops_per_token(self):
        """Training FLOPs of the recurrent layers per (real) position, as nanoGPT's `estimate_mfu` counts them:
        forward 2 * gates * H(I + H) per direction and layer, backward twice that."""
        config = self.config
        gates, directions = self.GATES[config.cell_type], 2 if config.bidirectional else 1
        total, input_size = 0, config.embedding_dim
        for _ in range(config.num_layers):
            total += directions * 2 * gates * config.hidden_size * (input_size + config.hidden_size)
            input_size = directions * config.hidden_size
        return 3 * total

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
        self, input_ids, attention_mask=None, inputs_embeds=None, output_hidden_states=None, return_dict=None, **kwargs
    ):
        """`inputs_embeds` (batch, time, embedding_dim), if given, replaces the looked-up embeddings of `input_ids`;
        `output_hidden_states` returns the embeddings and each layer's outputs (before dropout)."""
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must have shape (batch, time), got {tuple(input_ids.shape)}")
        if input_ids.shape[0] == 0:
            raise ValueError("empty batch: input_ids has no rows")
        input_ids, attention_mask, lengths = tokens_read(input_ids, attention_mask, self.config)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)  # (time,)
        mask = positions.unsqueeze(0) < lengths.unsqueeze(1)  # (batch, time)

        if inputs_embeds is None:
            inputs_embeds = self.embed(input_ids)  # (batch, time, embedding_dim)
        elif inputs_embeds.shape[:2] != input_ids.shape:
            raise ValueError(
                f"inputs_embeds must have shape (batch, time, embedding_dim) = {tuple(input_ids.shape)} + (...,), "
                f"got {tuple(inputs_embeds.shape)}"
            )
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


def numeric_class_values(names):
    """The number each class name stands for ("1".."5" stars -> [1.0, ..., 5.0]), or None unless every name is one.
    The one reading of class names as numbers: the expected-value loss, the rating metrics and the order of inferred
    class names all use it."""
    try:
        return [float(name) for name in names]
    except (TypeError, ValueError):
        return None


def class_values(config):
    """The number each class of `config` stands for, as a tensor, for the expected-value loss."""
    names = [str(config.id2label[i]) for i in range(config.num_labels)]
    values = numeric_class_values(names)
    if values is None:
        raise ValueError(
            f"expected_value_loss_weight needs classes that are numbers (like star ratings), got labels {names}"
        )
    return torch.tensor(values)  # (num_labels,)


def tokens_read(input_ids, attention_mask, config):
    """What the encoder reads of a right-padded batch: (input_ids, attention_mask, lengths), empty reviews read as one
    `[PAD]` token, every review cut by the config's truncation (`truncate_batch`); lengths (batch,) count real tokens,
    at least 1."""
    input_ids, attention_mask = read_empty_reviews_as_padding(input_ids, attention_mask, config.pad_token_id)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    if config.truncation is not None:
        input_ids, attention_mask = truncate_batch(  # 2 x (batch, min(time, max_tokens))
            input_ids, attention_mask, config.max_tokens, config.truncation
        )
    # An empty review (no real token) is read as a single [PAD] token, whose embedding is zero.
    return input_ids, attention_mask, attention_mask.sum(dim=1).clamp(min=1)  # ..., (batch,)


def read_empty_reviews_as_padding(input_ids, attention_mask, pad_token_id):
    """A batch whose reviews are all empty (no time steps) is read as one `[PAD]` token each, whose embedding is
    zero: every model, the exported graph included, gives an empty review the same defined prediction."""
    if input_ids.shape[1] == 0:
        input_ids = input_ids.new_full((input_ids.shape[0], 1), pad_token_id)  # (batch, 1)
        attention_mask = torch.ones_like(input_ids)
    return input_ids, attention_mask


@dataclass
class LSTMSequenceClassifierOutput(SequenceClassifierOutput):
    """`SequenceClassifierOutput` plus, in training, `loss_terms`: each term of `loss` by name (detached), for the
    training log."""

    loss_terms: dict[str, torch.Tensor] | None = None


def kl_divergence(clean_logits, perturbed_logits):
    """KL(p_clean || p_perturbed) of each review (batch,): the clean prediction is the target, held fixed."""
    clean = clean_logits.detach().log_softmax(dim=-1)  # (batch, num_labels)
    return (clean.exp() * (clean - perturbed_logits.log_softmax(dim=-1))).sum(dim=-1)  # (batch,)


def squared_change(clean_predictions, perturbed_predictions):
    """The regression analogue of `kl_divergence`: the squared change of each review's predicted value (batch,)."""
    return (perturbed_predictions - clean_predictions.detach()).squeeze(-1) ** 2  # (batch,)


def entropy(logits):
    """The entropy of each review's predicted class distribution (batch,)."""
    log_probs = logits.log_softmax(dim=-1)  # (batch, num_labels)
    return -(log_probs.exp() * log_probs).sum(dim=-1)  # (batch,)


def distillation_divergence(student_logits, teacher_logits, temperature):
    """Each review's `T**2 * KL(teacher_T || student_T)` (batch,): the teachers' probabilities at temperature `T`,
    averaged over the teachers, against the model's (Hinton et al., 2015). `teacher_logits` is (batch, teachers,
    num_labels): each teacher's logits or log-probabilities (the same thing under a softmax)."""
    teacher = (teacher_logits.float() / temperature).softmax(dim=-1).mean(dim=1)  # (batch, num_labels)
    student = (student_logits.float() / temperature).log_softmax(dim=-1)  # (batch, num_labels)
    return temperature**2 * (teacher * (teacher.clamp_min(1e-30).log() - student)).sum(dim=-1)


def distillation_squared_error(student_predictions, teacher_predictions):
    """Regression: each review's squared difference from the teachers' mean rating (batch,); `teacher_predictions`
    is (batch, teachers, 1)."""
    return (student_predictions.float().squeeze(-1) - teacher_predictions.float().mean(dim=1).squeeze(-1)) ** 2


def scale_per_review(direction, norm):
    """`direction` (batch, time, embedding_dim) rescaled to L2 norm `norm` over each review's whole block."""
    norms = direction.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1)  # (batch, 1, 1)
    return norm * direction / norms


def random_directions(input_ids, lengths, embedding_dim, seed):
    """A random direction (batch, time, embedding_dim) for virtual adversarial training, standard normal at each
    review's real positions and zero at its padding. Each review's direction is drawn from a generator seeded by
    `seed` and the review's own token ids, so it does not depend on the batch it is in or its padding: one process,
    several processes and gradient accumulation draw the same direction for the same review at the same step."""
    direction = torch.zeros(*input_ids.shape, embedding_dim)  # (batch, time, embedding_dim)
    for row, (ids, length) in enumerate(zip(input_ids.tolist(), lengths.tolist())):
        generator = torch.Generator().manual_seed((seed * 1_000_003 + hash(tuple(ids[:length]))) % 2**63)
        direction[row, :length] = torch.randn(length, embedding_dim, generator=generator)
    return direction.to(input_ids.device)


class LSTMForSequenceClassification(LSTMPreTrainedModel):
    """The encoder plus a linear head; cross-entropy for classification (plus, for ordered numeric classes, an optional
    expected-value squared error), MSE for regression. In training, optionally: adversarial training on the
    embeddings, virtual adversarial training on labelled and unlabelled reviews, entropy minimisation on unlabelled
    reviews. None of these changes what the model predicts: they are loss terms only."""

    def __init__(self, config):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.lstm = LSTMModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(self.lstm.output_size, config.num_labels)
        if config.expected_value_loss_weight:
            self.register_buffer("class_values", class_values(config), persistent=False)
        self.post_init()

    def forward(
        self,
        input_ids,
        attention_mask=None,
        labels=None,
        unsupervised_input_ids=None,
        unsupervised_attention_mask=None,
        perturbation_seed=None,
        teacher_logits=None,
        unsupervised_teacher_logits=None,
        return_dict=None,
        **kwargs,
    ):
        """`unsupervised_input_ids` / `unsupervised_attention_mask` (a batch of reviews without labels),
        `perturbation_seed` (an int that seeds virtual adversarial training's random directions; the `Trainer` passes
        one per optimiser step) and `teacher_logits` / `unsupervised_teacher_logits` (batch, teachers, num_labels: the
        teachers' outputs for the labelled and the unlabelled reviews) are read in training only, by the loss terms."""
        config = self.config
        terms = {}
        training = self.training and labels is not None and torch.is_grad_enabled()
        adversarial = training and config.adversarial_epsilon > 0
        virtual = training and config.virtual_adversarial_epsilon > 0
        distilling = training and teacher_logits is not None
        outputs = self.lstm(input_ids, attention_mask=attention_mask, output_hidden_states=adversarial or virtual)
        logits = self.head(outputs.pooler_output)  # (batch, num_labels)

        loss = None
        if labels is not None:
            loss = self.compute_loss(logits, labels)
            if training:
                terms["supervised"] = config.distillation_alpha * loss if distilling else loss
            if adversarial:
                embeddings = outputs.hidden_states[0]  # (batch, time, embedding_dim)
                terms["adversarial"] = self.adversarial_loss(input_ids, attention_mask, labels, embeddings, loss)
        unlabelled_terms = virtual or config.entropy_weight or distilling
        if training and unlabelled_terms and unsupervised_input_ids is not None:
            unlabelled = self.lstm(unsupervised_input_ids, attention_mask=unsupervised_attention_mask,
                                   output_hidden_states=virtual)
            unlabelled_logits = self.head(unlabelled.pooler_output)  # (unlabelled batch, num_labels)
            if config.entropy_weight:
                terms["entropy"] = config.entropy_weight * entropy(unlabelled_logits).mean()
        if distilling:
            batches = [(logits, teacher_logits)]
            if unsupervised_input_ids is not None and unsupervised_teacher_logits is not None:
                batches.append((unlabelled_logits, unsupervised_teacher_logits))
            differences = torch.cat([self.distillation_differences(*batch) for batch in batches])  # (all reviews,)
            terms["distillation"] = (1 - config.distillation_alpha) * differences.mean()  # over every review
        if virtual:
            if perturbation_seed is None:
                perturbation_seed = int(torch.randint(2**62, ()).item())
            batches = [(input_ids, attention_mask, outputs.hidden_states[0], logits)]
            if unsupervised_input_ids is not None:
                batches.append((unsupervised_input_ids, unsupervised_attention_mask, unlabelled.hidden_states[0],
                                unlabelled_logits))
            changes = torch.cat([self.virtual_adversarial_changes(*batch, perturbation_seed) for batch in batches])
            terms["virtual_adversarial"] = config.virtual_adversarial_weight * changes.mean()  # over every review
        if terms:
            loss = sum(terms.values())

        if return_dict is False:
            return (loss, logits) if loss is not None else (logits,)
        return LSTMSequenceClassifierOutput(
            loss=loss, logits=logits, loss_terms={name: term.detach() for name, term in terms.items()} or None
        )

    def head(self, pooled):
        """The logits (batch, num_labels) of pooled review vectors (batch, output_size)."""
        return self.classifier(self.dropout(pooled))

    def compute_loss(self, logits, labels):
        if self.config.problem_type is None:
            if self.num_labels == 1:
                self.config.problem_type = "regression"
            elif labels.dtype in (torch.long, torch.int):
                self.config.problem_type = "single_label_classification"
            else:
                self.config.problem_type = "multi_label_classification"
        if self.config.problem_type == "regression":
            return MSELoss()(logits.squeeze(-1), labels.to(logits.dtype).view(-1))
        if self.config.problem_type == "single_label_classification":
            loss = CrossEntropyLoss()(logits.view(-1, self.num_labels), labels.view(-1))
            if self.config.expected_value_loss_weight:
                values = self.class_values.to(logits.dtype)  # (num_labels,)
                expected = logits.softmax(dim=-1) @ values  # (batch,)
                error = MSELoss()(expected, values[labels.view(-1)])
                loss = loss + self.config.expected_value_loss_weight * error
            return loss
        return BCEWithLogitsLoss()(logits, labels.to(logits.dtype))

    def perturbed_logits(self, input_ids, attention_mask, embeddings):
        """The logits (batch, num_labels) of the reviews read with `embeddings` (batch, time, embedding_dim) in place
        of their word vectors."""
        outputs = self.lstm(input_ids, attention_mask=attention_mask, inputs_embeds=embeddings)
        return self.head(outputs.pooler_output)

    def adversarial_loss(self, input_ids, attention_mask, labels, embeddings, loss):
        """The loss again, on each review's embeddings moved by `adversarial_epsilon` (L2 norm over the whole review)
        along the gradient of `loss`: the small change of the words' vectors that hurts most (Miyato et al., 2017)."""
        if not embeddings.requires_grad:
            raise ValueError(
                "adversarial_epsilon > 0 needs trainable embeddings: the perturbation follows the gradient of the "
                "loss with respect to them (do not freeze them)"
            )
        (gradient,) = torch.autograd.grad(loss, embeddings, retain_graph=True)  # (batch, time, embedding_dim)
        perturbation = scale_per_review(gradient.detach(), self.config.adversarial_epsilon)
        return self.compute_loss(self.perturbed_logits(input_ids, attention_mask, embeddings + perturbation), labels)

    def virtual_adversarial_perturbation(self, input_ids, attention_mask, embeddings, logits, seed):
        """The perturbation (batch, time, embedding_dim) of norm `virtual_adversarial_epsilon` per review that changes
        the prediction most, by one power iteration (Miyato et al., 2017): from a random direction `d` of norm `xi`,
        the gradient of the change (KL divergence; squared change for regression) with respect to `d`."""
        config = self.config
        read_ids, _, lengths = tokens_read(input_ids, attention_mask, config)  # (batch, time), (batch,)
        direction = random_directions(read_ids, lengths, embeddings.shape[-1], seed).to(embeddings.dtype)
        direction = scale_per_review(direction, config.virtual_adversarial_xi).requires_grad_()
        change = self.change_of(logits, self.perturbed_logits(input_ids, attention_mask, embeddings.detach() + direction))
        (gradient,) = torch.autograd.grad(change.sum(), direction)  # (batch, time, embedding_dim)
        return scale_per_review(gradient.detach(), config.virtual_adversarial_epsilon)

    def virtual_adversarial_changes(self, input_ids, attention_mask, embeddings, logits, seed):
        """Each review's change of prediction (batch,) under its virtual adversarial perturbation; gradients reach
        the weights through the perturbed pass and the embeddings, not through the clean prediction (its target)."""
        perturbation = self.virtual_adversarial_perturbation(input_ids, attention_mask, embeddings, logits, seed)
        return self.change_of(logits, self.perturbed_logits(input_ids, attention_mask, embeddings + perturbation))

    def distillation_differences(self, logits, teacher_logits):
        """Each review's distillation term (batch,): the tempered KL divergence from the teachers' averaged
        probabilities, or for regression the squared difference from their mean rating."""
        if self.config.problem_type == "regression" or self.num_labels == 1:
            return distillation_squared_error(logits, teacher_logits)
        return distillation_divergence(logits, teacher_logits, self.config.distillation_temperature)

    def change_of(self, clean_logits, perturbed_logits):
        if self.config.problem_type == "regression" or self.num_labels == 1:
            return squared_change(clean_logits, perturbed_logits)
        return kl_divergence(clean_logits, perturbed_logits)


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
