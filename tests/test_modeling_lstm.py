import pytest
import torch
from huggingface_hub.errors import StrictDataclassError
from transformers.modeling_outputs import SequenceClassifierOutput

from transformers import AutoModelForCausalLM

from hf_lstm import LSTMConfig, LSTMForCausalLM, LSTMForSequenceClassification, LSTMModel
from hf_lstm.modeling_lstm import ReferenceLSTM, hashed_ngrams, reverse_within_length

from .conftest import tiny_config


def test_forward_shapes_and_classification_loss(tiny_model):
    input_ids = torch.randint(2, 50, (3, 7))
    output = tiny_model(input_ids, attention_mask=torch.ones_like(input_ids), labels=torch.tensor([0, 1, 1]))
    assert isinstance(output, SequenceClassifierOutput)
    assert output.logits.shape == (3, 2)
    expected = torch.nn.functional.cross_entropy(output.logits, torch.tensor([0, 1, 1]))
    assert torch.allclose(output.loss, expected)


def test_regression_loss_is_mse():
    model = LSTMForSequenceClassification(tiny_config(num_labels=1, problem_type="regression")).eval()
    input_ids = torch.randint(2, 50, (4, 5))
    labels = torch.tensor([1.0, 5.0, 3.0, 4.0])
    output = model(input_ids, labels=labels)
    assert output.logits.shape == (4, 1)
    assert torch.allclose(output.loss, ((output.logits.squeeze(-1) - labels) ** 2).mean())


def test_multi_label_loss_is_binary_cross_entropy_on_a_hand_example():
    model = LSTMForSequenceClassification(tiny_config(num_labels=2, problem_type="multi_label_classification"))
    torch.nn.init.zeros_(model.classifier.weight)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([0.0, 2.0]))  # logits 0 and 2 for every story
    labels = torch.tensor([[1.0, 1.0], [0.0, 0.0]])  # a story with both labels, one with none
    output = model(torch.randint(2, 50, (2, 5)), labels=labels)
    p = torch.sigmoid(torch.tensor(2.0))
    by_hand = -(2 * torch.log(torch.tensor(0.5)) + torch.log(p) + torch.log(1 - p)) / 4  # mean of 4 decisions
    assert torch.allclose(output.loss, by_hand)


def test_inputs_embeds_replace_the_lookup_and_must_match_the_ids(tiny_model):
    input_ids = torch.randint(2, 50, (2, 5))
    embeddings = tiny_model.lstm.embeddings(input_ids)
    output = tiny_model.lstm(input_ids, output_hidden_states=True)
    assert torch.equal(tiny_model.lstm(inputs_embeds=embeddings).pooler_output, output.pooler_output)
    assert len(output.hidden_states) == 2 and torch.equal(output.hidden_states[0], embeddings)
    assert torch.equal(output.hidden_states[-1], output.last_hidden_state)
    with pytest.raises(ValueError, match="either input_ids or inputs_embeds"):
        tiny_model.lstm(input_ids, inputs_embeds=embeddings)
    with pytest.raises(ValueError, match=r"inputs_embeds must have shape \(batch, time > 0, embedding_dim\)"):
        tiny_model.lstm(inputs_embeds=embeddings[0])


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "mean", "max", "mean_max", "last_mean_max"])
def test_padding_does_not_change_logits(cell_type, bidirectional, pooling):
    torch.manual_seed(0)
    config = tiny_config(cell_type=cell_type, bidirectional=bidirectional, pooling=pooling, num_layers=2)
    model = LSTMForSequenceClassification(config).eval()
    short = torch.randint(2, 50, (1, 4))
    alone = model(short).logits
    batch = torch.zeros(3, 11, dtype=torch.long)  # padded on the right with [PAD] = 0
    mask = torch.zeros_like(batch)
    batch[0, :4], mask[0, :4] = short[0], 1
    batch[1:], mask[1:] = torch.randint(2, 50, (2, 11)), 1
    in_batch = model(batch, attention_mask=mask).logits[0:1]
    assert torch.allclose(alone, in_batch, atol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_mean_max_pooling_concatenates_last_then_mean_max(bidirectional):
    torch.manual_seed(0)
    encoder = LSTMModel(tiny_config(bidirectional=bidirectional, pooling="last_mean_max")).eval()
    input_ids = torch.randint(2, 50, (2, 6))
    mask = torch.ones_like(input_ids)
    mask[1, 4:] = 0
    pooled = encoder(input_ids, attention_mask=mask).pooler_output
    parts = []
    for pooling in ("last", "mean_max"):
        encoder.config.pooling = pooling
        parts.append(encoder(input_ids, attention_mask=mask).pooler_output)
    features = (2 if bidirectional else 1) * encoder.config.hidden_size
    assert pooled.shape == (2, 3 * features) and encoder.output_size == 3 * features
    assert torch.allclose(pooled, torch.cat(parts, dim=-1))


def test_reverse_within_length_keeps_padding_in_place():
    tensor = torch.arange(8.0).view(2, 4, 1)
    reversed_ = reverse_within_length(tensor, torch.tensor([3, 4]))
    assert reversed_.squeeze(-1).tolist() == [[2, 1, 0, 3], [7, 6, 5, 4]]
    assert torch.equal(reverse_within_length(reversed_, torch.tensor([3, 4])), tensor)


def test_empty_batch_is_a_clear_error(tiny_model):
    with pytest.raises(ValueError, match="empty batch"):
        tiny_model(torch.zeros(0, 5, dtype=torch.long))


def test_empty_review_is_read_as_one_pad_token(tiny_model):
    empty = tiny_model(torch.zeros(1, 0, dtype=torch.long)).logits
    pad = tiny_model(torch.zeros(1, 1, dtype=torch.long)).logits
    assert torch.isfinite(empty).all() and torch.allclose(empty, pad)


def test_reference_lstm_equals_torch_lstm_outputs_and_gradients():
    torch.manual_seed(0)
    reference = ReferenceLSTM(5, 7)
    fast = torch.nn.LSTM(5, 7, batch_first=True)
    fast.load_state_dict(reference.state_dict())
    inputs = torch.randn(3, 9, 5, requires_grad=True)
    out_ref, (h_ref, c_ref) = reference(inputs)
    out_fast, (h_fast, c_fast) = fast(inputs)
    assert torch.allclose(out_ref, out_fast, atol=1e-5)
    assert torch.allclose(h_ref, h_fast, atol=1e-5) and torch.allclose(c_ref, c_fast, atol=1e-5)
    grad_ref = torch.autograd.grad(out_ref.square().sum(), [inputs, *reference.parameters()])
    grad_fast = torch.autograd.grad(out_fast.square().sum(), [inputs, *fast.parameters()])
    for a, b in zip(grad_ref, grad_fast):
        assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_reference_and_torch_models_share_weights_and_outputs(bidirectional, tmp_path):
    torch.manual_seed(0)
    reference = LSTMForSequenceClassification(
        tiny_config(lstm_impl="reference", bidirectional=bidirectional, num_layers=2, pooling="mean_max")
    ).eval()
    reference.save_pretrained(tmp_path)
    fast = LSTMForSequenceClassification.from_pretrained(tmp_path, lstm_impl="torch").eval()
    input_ids = torch.randint(2, 50, (2, 6))
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2])
    ref_out = reference(input_ids, attention_mask=mask, labels=torch.tensor([0, 1]))
    fast_out = fast(input_ids, attention_mask=mask, labels=torch.tensor([0, 1]))
    assert torch.allclose(ref_out.logits, fast_out.logits, atol=1e-5)
    ref_out.loss.backward()
    fast_out.loss.backward()
    for (name, a), (_, b) in zip(reference.named_parameters(), fast.named_parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-5), name


def test_forget_gate_bias_starts_at_one():
    model = LSTMForSequenceClassification(tiny_config())
    bias = model.lstm.layers[0].forward_cell.bias_ih_l0
    assert torch.all(bias[6:12] == 1.0)


def tiny_lm(**overrides):
    torch.manual_seed(0)
    values = dict(num_layers=2, bidirectional=True, separate_directions=True, adaptive_softmax_cutoffs=[10, 30],
                  hidden_size=16)
    values.update(overrides)
    return LSTMForCausalLM(tiny_config(**values)).eval()


def test_two_way_language_model_loss_on_a_hand_checked_example_and_padding_changes_nothing():
    model = tiny_lm()
    first, second = torch.tensor([5, 9, 3, 7, 2]), torch.tensor([4, 8, 6])
    pairs = {"forward": ([], []), "backward": ([], [])}
    with torch.no_grad():
        for ids in (first, second):  # each text alone: no padding anywhere
            hidden = model.lstm(ids[None]).last_hidden_state[0]  # (time, 2 * hidden)
            forward, backward = hidden[:, :16], hidden[:, 16:]
            for t in range(len(ids) - 1):
                pairs["forward"][0].append(forward[t]), pairs["forward"][1].append(ids[t + 1])  # reads 0..t, predicts t+1
                pairs["backward"][0].append(backward[t + 1]), pairs["backward"][1].append(ids[t])  # reads t+1.., predicts t
        expected = torch.stack([model.lm_head(torch.stack(states), torch.stack(targets)).loss
                                for states, targets in pairs.values()]).mean()
        batch = torch.tensor([first.tolist(), second.tolist() + [0, 0]])
        mask = torch.tensor([[1] * 5, [1] * 3 + [0] * 2])
        loss = model(batch, attention_mask=mask, labels=batch.masked_fill(mask == 0, -100)).loss
    assert loss.item() == pytest.approx(expected.item(), abs=1e-6)
    assert len(pairs["forward"][1]) == 6  # 4 + 2 predictions each way: none from or to a padding position


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA's autocast policy (log_softmax in float32) needs a GPU")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_language_model_loss_under_cuda_autocast_is_the_float32_loss(dtype):
    model = tiny_lm().cuda()  # the adaptive softmax once failed here: "index_copy_(): ... (self) Half and (source) Float"
    batch = torch.tensor([[5, 9, 3, 7, 2], [4, 8, 6, 0, 0]], device="cuda")
    mask = (batch != 0).long()
    labels = batch.masked_fill(mask == 0, -100)
    with torch.no_grad():
        exact = model(batch, attention_mask=mask, labels=labels).loss
        with torch.autocast("cuda", dtype=dtype):
            mixed = model(batch, attention_mask=mask, labels=labels).loss
    assert mixed.dtype == torch.float32 and mixed.item() == pytest.approx(exact.item(), rel=2e-2)


@pytest.mark.parametrize("separate", [True, False])
def test_no_direction_of_a_two_way_language_model_sees_the_word_it_predicts(separate):
    torch.manual_seed(0)  # separate=False: the mixed stack of a classifier, shown to leak (a language model refuses it)
    encoder = LSTMModel(tiny_config(num_layers=3, bidirectional=True, hidden_size=16, separate_directions=separate))
    ids = torch.tensor([[5, 9, 3, 7, 2, 11]])
    changed = ids.clone()
    changed[0, 3] = 20  # the word at position 3 is what position 2 predicts forward and position 4 backward
    with torch.no_grad():
        before, after = (encoder(x).last_hidden_state[0] for x in (ids, changed))
    forward_sees = not torch.allclose(before[2, :16], after[2, :16])
    backward_sees = not torch.allclose(before[4, 16:], after[4, 16:])
    assert (forward_sees, backward_sees) == ((False, False) if separate else (True, True))


def test_a_bidirectional_language_model_needs_separate_directions_and_cannot_generate():
    with pytest.raises(ValueError, match="needs separate_directions=True"):
        LSTMForCausalLM(tiny_config(bidirectional=True))
    with pytest.raises(ValueError, match="cannot generate text"):
        tiny_lm().generate(torch.tensor([[5, 9]]), max_new_tokens=2, pad_token_id=0)


def test_a_one_way_language_model_is_a_causal_lm_that_generates(tmp_path):
    model = tiny_lm(bidirectional=False, separate_directions=False)
    model.save_pretrained(tmp_path / "lm")
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "lm").eval()
    assert type(loaded).__name__ == "LSTMForCausalLM"
    ids = torch.tensor([[5, 9, 3]])
    with torch.no_grad():
        logits = loaded(ids).logits  # (batch, time, vocab): log-probabilities of the next word
    assert logits.shape == (1, 3, 50) and torch.allclose(logits.exp().sum(-1), torch.ones(1, 3), atol=1e-5)
    generated = loaded.generate(ids, max_new_tokens=4, do_sample=False, pad_token_id=0)
    assert generated.shape == (1, 7) and generated[0, 3].item() == logits[0, -1].argmax().item()


def test_recurrent_flops_per_token_count_every_gate_direction_and_layer():
    one = LSTMForSequenceClassification(LSTMConfig(vocab_size=10, embedding_dim=3, hidden_size=2))
    assert one.recurrent_flops_per_token() == 3 * (2 * 4 * 2 * (3 + 2))  # forward + backward (twice the forward)
    two = LSTMForSequenceClassification(LSTMConfig(vocab_size=10, embedding_dim=3, hidden_size=2, num_layers=2,
                                                   bidirectional=True, cell_type="gru"))
    assert two.recurrent_flops_per_token() == 3 * (2 * 2 * 3 * 2 * (3 + 2) + 2 * 2 * 3 * 2 * (4 + 2))


def test_normalised_embeddings_have_frequency_weighted_mean_0_and_variance_1():
    model = LSTMForSequenceClassification(tiny_config(vocab_size=4, embedding_dim=2, normalize_embeddings=True))
    with torch.no_grad():
        model.lstm.embeddings.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 10.0], [3.0, -2.0], [5.0, 4.0]]))
    model.lstm.set_token_frequencies([0, 1, 1, 2])  # [PAD] never counts
    normalized = model.lstm.normalized_embeddings()
    shares = torch.tensor([0.0, 0.25, 0.25, 0.5]).unsqueeze(1)
    # by hand: dimension 0 has mean 0.25 + 0.75 + 2.5 = 3.5 and variance (0.25 * 6.25 + 0.25 * 0.25 + 0.5 * 2.25) = 2.75
    assert normalized[1, 0].item() == pytest.approx((1 - 3.5) / (2.75 + 1e-6) ** 0.5)
    assert torch.allclose((shares * normalized).sum(0), torch.zeros(2), atol=1e-6)
    assert torch.allclose((shares * normalized**2).sum(0), torch.ones(2), atol=1e-5)
    assert torch.equal(normalized[0], torch.zeros(2))  # the padding row stays zero: an empty review reads zeros
    ids = torch.tensor([[3, 1]])
    assert torch.equal(model.lstm.embed(ids)[0], normalized[[3, 1]])


def test_normalised_embeddings_and_their_frequencies_are_saved_with_the_model(tmp_path):
    torch.manual_seed(0)
    model = LSTMForSequenceClassification(tiny_config(bidirectional=True, normalize_embeddings=True)).eval()
    model.lstm.set_token_frequencies(torch.arange(50))
    model.save_pretrained(tmp_path)
    loaded = LSTMForSequenceClassification.from_pretrained(tmp_path).eval()
    assert torch.equal(loaded.lstm.token_frequencies, torch.arange(50).float())
    input_ids = torch.randint(2, 50, (3, 6))
    assert torch.equal(loaded(input_ids).logits, model(input_ids).logits)


def test_each_problem_type_has_its_standard_loss_and_inputs_embeds_give_the_ids_logits(tiny_model):
    input_ids = torch.randint(2, 50, (3, 6))
    tiny_model.config.problem_type = "multi_label_classification"
    labels = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    output = tiny_model(input_ids, labels=labels, output_hidden_states=True)
    assert torch.allclose(output.loss, torch.nn.functional.binary_cross_entropy_with_logits(output.logits, labels))
    from_embeddings = tiny_model(inputs_embeds=output.hidden_states[0]).logits
    assert torch.equal(from_embeddings, output.logits)


def hand_hash(gram, buckets, multiplier=1_000_003):
    """The bucket of one n-gram of token ids, computed step by step as `hashed_ngrams` documents it."""
    value = len(gram)
    for token in gram:
        value = (value * multiplier + token + 1) % buckets
    return value


def test_ngrams_hash_to_the_same_buckets_in_any_batch_and_with_any_padding():
    review, buckets = [5, 6, 7], 101
    expected = [hand_hash([5], buckets), hand_hash([6], buckets), hand_hash([7], buckets),
                hand_hash([5, 6], buckets), hand_hash([6, 7], buckets)]
    # alone; beside a longer review, padded with zeros; padded with other ids that the length leaves out
    for ids, lengths in (([review], [3]), ([review + [0, 0], [9, 8, 7, 6, 5]], [3, 5]), ([review + [3, 4]], [3])):
        hashes, in_review = hashed_ngrams(torch.tensor(ids), torch.tensor(lengths), [1, 2], buckets)
        assert hashes[0][in_review[0]].tolist() == expected
        assert in_review.sum(dim=1).tolist() == [2 * length - 1 for length in lengths]  # n unigrams, n - 1 bigrams


def test_the_ngram_channel_adds_each_distinct_buckets_weights_and_its_bias_to_the_logits():
    torch.manual_seed(0)
    model = LSTMForSequenceClassification(tiny_config(ngram_orders=[1, 2], ngram_buckets=101)).eval()
    plain = model.classifier(model.lstm(torch.tensor([[5, 6, 5, 6]])).pooler_output)  # (1, 2)
    torch.nn.init.normal_(model.ngrams.weight)
    model.ngrams.bias.data = torch.tensor([0.5, -0.5])
    # "5 6 5 6": unigrams 5 and 6, bigrams "5 6" and "6 5"; "5", "6" and "5 6" each occur twice and count once
    distinct = {hand_hash(gram, 101) for gram in ([5], [6], [5, 6], [6, 5])}
    expected = plain + model.ngrams.weight[sorted(distinct)].sum(dim=0) + torch.tensor([0.5, -0.5])
    got = model(torch.tensor([[5, 6, 5, 6, 0, 0]]), torch.tensor([[1, 1, 1, 1, 0, 0]])).logits
    torch.testing.assert_close(got, expected)
    assert model(inputs_embeds=model.lstm.embed(torch.tensor([[5, 6, 5, 6]]))).logits.tolist() == plain.tolist()


@pytest.mark.parametrize("truncation", [None, "head", "head_tail"])
def test_padding_and_batching_never_change_a_channel_models_logits(truncation):
    torch.manual_seed(0)
    config = tiny_config(ngram_orders=[1, 2, 3], ngram_buckets=97, bidirectional=True, pooling="mean_max",
                         truncation=truncation, max_tokens=5 if truncation else None)
    model = LSTMForSequenceClassification(config).eval()
    torch.nn.init.normal_(model.ngrams.weight)
    reviews = [[3, 4, 5, 6, 7, 8, 9], [10, 11], [12, 13, 14, 15, 16, 17, 18, 19, 20]]
    width = 12
    ids = torch.tensor([review + [0] * (width - len(review)) for review in reviews])
    mask = (ids > 0).long()
    with torch.no_grad():
        together = model(ids, mask).logits
        for i, review in enumerate(reviews):
            torch.testing.assert_close(model(torch.tensor([review])).logits[0], together[i])


def test_a_new_ngram_channel_is_zero_and_refuses_impossible_values():
    model = LSTMForSequenceClassification(tiny_config(ngram_orders=[1, 2], ngram_buckets=64))
    assert model.ngrams.weight.shape == (64, 2) and not model.ngrams.weight.any() and not model.ngrams.bias.any()
    assert LSTMForSequenceClassification(tiny_config()).ngrams is None
    for values in (dict(ngram_orders=[0]), dict(ngram_orders=[1, 1]), dict(ngram_orders=[1], ngram_buckets=0)):
        with pytest.raises((ValueError, StrictDataclassError), match="ngram_orders must be distinct"):
            tiny_config(**values)
