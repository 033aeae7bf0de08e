import math

import pytest
import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from transformers import AutoModelForCausalLM

from hf_lstm import LSTMConfig, LSTMForCausalLM, LSTMForSequenceClassification, LSTMModel
from hf_lstm.modeling_lstm import ReferenceLSTM, reverse_within_length

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


def test_expected_value_loss_adds_squared_error_of_expected_rating():
    stars = {i: str(i + 1) for i in range(5)}
    config = tiny_config(num_labels=5, id2label=stars, expected_value_loss_weight=0.5)
    model = LSTMForSequenceClassification(config).eval()
    input_ids = torch.randint(2, 50, (4, 5))
    labels = torch.tensor([0, 4, 2, 3])
    output = model(input_ids, labels=labels)
    cross_entropy = torch.nn.functional.cross_entropy(output.logits, labels)
    expected = output.logits.softmax(-1) @ torch.arange(1.0, 6.0)
    assert torch.allclose(output.loss, cross_entropy + 0.5 * ((expected - (labels + 1.0)) ** 2).mean())


def test_expected_value_loss_needs_numeric_classes():
    config = tiny_config(num_labels=2, id2label={0: "neg", 1: "pos"}, expected_value_loss_weight=1.0)
    with pytest.raises(ValueError, match=r"numbers.*\['neg', 'pos'\]"):
        LSTMForSequenceClassification(config)


def test_adversarial_loss_adds_the_loss_at_embeddings_moved_along_their_gradient():
    torch.manual_seed(0)
    model = LSTMForSequenceClassification(tiny_config(bidirectional=True, adversarial_epsilon=0.5)).train()
    input_ids = torch.randint(2, 50, (3, 6))
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4])
    labels = torch.tensor([0, 1, 1])
    loss = model(input_ids, attention_mask=mask, labels=labels).loss

    def clean_loss(embeddings):
        pooled = model.lstm(input_ids, attention_mask=mask, inputs_embeds=embeddings).pooler_output
        return torch.nn.functional.cross_entropy(model.classifier(pooled), labels)

    embeddings = model.lstm.embeddings(input_ids).detach().requires_grad_()
    clean = clean_loss(embeddings)
    (gradient,) = torch.autograd.grad(clean, embeddings)
    moved = embeddings + 0.5 * gradient / gradient.flatten(1).norm(dim=1).view(-1, 1, 1)
    assert torch.allclose(loss, clean + clean_loss(moved))
    assert clean_loss(moved) > clean  # the move raises the loss
    assert torch.allclose(moved[1, 4:], embeddings[1, 4:])  # padding gets no gradient, so it does not move
    loss.backward()
    assert model.lstm.embeddings.weight.grad.abs().sum() > 0


def test_adversarial_loss_is_for_training_only():
    torch.manual_seed(0)
    model = LSTMForSequenceClassification(tiny_config(adversarial_epsilon=5.0)).eval()
    input_ids, labels = torch.randint(2, 50, (3, 6)), torch.tensor([0, 1, 1])
    output = model(input_ids, labels=labels)
    assert torch.allclose(output.loss, torch.nn.functional.cross_entropy(output.logits, labels))


def test_adversarial_training_needs_trainable_embeddings_and_a_non_negative_epsilon():
    model = LSTMForSequenceClassification(tiny_config(adversarial_epsilon=1.0)).train()
    model.lstm.embeddings.weight.requires_grad_(False)
    with pytest.raises(ValueError, match="needs trainable embeddings"):
        model(torch.randint(2, 50, (2, 5)), labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"adversarial_epsilon must be 0 \(off\) or positive; got -1.0"):
        LSTMForSequenceClassification(tiny_config(adversarial_epsilon=-1.0))


def test_inputs_embeds_replace_the_lookup_and_must_match_the_ids(tiny_model):
    input_ids = torch.randint(2, 50, (2, 5))
    embeddings = tiny_model.lstm.embeddings(input_ids)
    output = tiny_model.lstm(input_ids, output_hidden_states=True)
    assert torch.equal(tiny_model.lstm(input_ids, inputs_embeds=embeddings).pooler_output, output.pooler_output)
    assert len(output.hidden_states) == 2 and torch.equal(output.hidden_states[0], embeddings)
    assert torch.equal(output.hidden_states[-1], output.last_hidden_state)
    with pytest.raises(ValueError, match=r"inputs_embeds must have shape.*\(2, 5\).*got \(2, 4, 8\)"):
        tiny_model.lstm(input_ids, inputs_embeds=embeddings[:, :4])


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


def test_bad_config_values_are_refused():
    with pytest.raises(ValueError, match="pooling"):
        LSTMModel(tiny_config(pooling="sum"))
    with pytest.raises(ValueError, match="cell_type"):
        LSTMModel(tiny_config(cell_type="transformer"))
    with pytest.raises(ValueError, match="reference"):
        LSTMModel(tiny_config(cell_type="gru", lstm_impl="reference"))
    with pytest.raises(ValueError, match=r"recurrent_dropout is a probability in \[0, 1\); got 1.0"):
        LSTMModel(tiny_config(recurrent_dropout=1.0))


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


@pytest.mark.parametrize("cell_type", ["lstm", "gru"])
def test_recurrent_dropout_drops_hidden_to_hidden_weights_in_training_only(cell_type):
    torch.manual_seed(0)
    model = LSTMForSequenceClassification(tiny_config(cell_type=cell_type, pooling="mean", recurrent_dropout=0.5))
    plain = LSTMForSequenceClassification(tiny_config(cell_type=cell_type, pooling="mean"))
    plain.load_state_dict(model.state_dict())
    assert model.state_dict().keys() == plain.state_dict().keys()  # saved weights keep their names
    input_ids = torch.randint(2, 50, (3, 7))
    # Evaluation: all the weights, as without recurrent dropout.
    assert torch.equal(model.eval()(input_ids).logits, plain.eval()(input_ids).logits)
    # Training: the same as a model whose hidden-to-hidden weights are the dropped-out ones (same random draw).
    torch.manual_seed(1)
    trained = model.train()(input_ids, labels=torch.tensor([0, 1, 1]))
    torch.manual_seed(1)
    cell = plain.lstm.layers[0].forward_cell
    dropped = torch.nn.functional.dropout(cell.weight_hh_l0.detach(), 0.5)
    assert (dropped == 0).any() and (dropped != 0).any()
    with torch.no_grad():
        cell.weight_hh_l0.copy_(dropped)
    assert torch.allclose(trained.logits, plain.train()(input_ids).logits, atol=1e-6)
    trained.loss.backward()
    weight = model.lstm.layers[0].forward_cell.weight_hh_l0
    assert isinstance(weight, torch.nn.Parameter) and weight.grad is not None and weight.grad.abs().sum() > 0


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


def semi_supervised_model(**overrides):
    torch.manual_seed(0)
    values = dict(bidirectional=True, pooling="mean_max", normalize_embeddings=True, virtual_adversarial_epsilon=2.0)
    return LSTMForSequenceClassification(tiny_config(**(values | overrides)))


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
    model = semi_supervised_model().eval()
    model.lstm.set_token_frequencies(torch.arange(50))
    model.save_pretrained(tmp_path)
    loaded = LSTMForSequenceClassification.from_pretrained(tmp_path).eval()
    assert torch.equal(loaded.lstm.token_frequencies, torch.arange(50).float())
    input_ids = torch.randint(2, 50, (3, 6))
    assert torch.equal(loaded(input_ids).logits, model(input_ids).logits)


def test_the_virtual_adversarial_perturbation_has_norm_epsilon_and_changes_the_prediction_more_than_a_random_one():
    model = semi_supervised_model(virtual_adversarial_epsilon=3.0).eval()  # no dropout: the change is the direction's
    model.lstm.set_token_frequencies(torch.ones(50))
    input_ids = torch.randint(2, 50, (4, 6))
    mask = torch.tensor([[1] * 6, [1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4])
    embeddings = model.lstm.embed(input_ids).detach()
    logits = model(input_ids, attention_mask=mask).logits.detach()
    perturbation = model.virtual_adversarial_perturbation(input_ids, mask, embeddings, logits, seed=7)
    assert torch.allclose(perturbation.flatten(1).norm(dim=1), torch.full((4,), 3.0))
    assert torch.equal(perturbation[3, 2:], torch.zeros(4, 8))  # padding is never moved
    adversarial = model.change_of(logits, model.perturbed_logits(input_ids, mask, embeddings + perturbation))
    torch.manual_seed(1)
    random = torch.randn_like(embeddings) * mask.unsqueeze(-1)
    random = 3.0 * random / random.flatten(1).norm(dim=1).view(-1, 1, 1)
    by_chance = model.change_of(logits, model.perturbed_logits(input_ids, mask, embeddings + random))
    assert (adversarial > by_chance).all(), (adversarial, by_chance)


def test_the_random_direction_of_a_review_does_not_depend_on_its_batch_or_padding():
    from hf_lstm.modeling_lstm import random_directions

    ids = torch.tensor([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]])
    alone = random_directions(ids[:1, :3], torch.tensor([3]), 4, seed=11)
    together = random_directions(ids, torch.tensor([3, 5]), 4, seed=11)
    assert torch.equal(together[0, :3], alone[0]) and torch.equal(together[0, 3:], torch.zeros(2, 4))
    assert not torch.equal(random_directions(ids, torch.tensor([3, 5]), 4, seed=12), together)


def test_entropy_term_is_the_weighted_mean_entropy_of_the_unlabelled_predictions():
    from hf_lstm.modeling_lstm import entropy

    probabilities = torch.tensor([[0.5, 0.5], [0.9, 0.1]])
    by_hand = torch.tensor([math.log(2), -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))])
    assert torch.allclose(entropy(probabilities.log()), by_hand)
    model = semi_supervised_model(virtual_adversarial_epsilon=0.0, entropy_weight=0.5).train()
    model.dropout.p = model.lstm.embedding_dropout.p = 0.0
    input_ids, unlabelled = torch.randint(2, 50, (3, 6)), torch.randint(2, 50, (4, 5))
    output = model(input_ids, labels=torch.tensor([0, 1, 1]), unsupervised_input_ids=unlabelled)
    expected = 0.5 * entropy(model.eval()(unlabelled).logits).mean()
    assert torch.allclose(output.loss_terms["entropy"], expected)
    assert torch.allclose(output.loss, output.loss_terms["supervised"] + output.loss_terms["entropy"])


def test_unlabelled_reviews_never_enter_the_supervised_loss_and_no_term_changes_a_prediction():
    model = semi_supervised_model(entropy_weight=1.0, adversarial_epsilon=1.0).train()
    model.lstm.set_token_frequencies(torch.ones(50))
    model.dropout.p = model.lstm.embedding_dropout.p = 0.0
    input_ids, labels = torch.randint(2, 50, (3, 6)), torch.tensor([0, 1, 1])
    alone = model(input_ids, labels=labels, perturbation_seed=3)
    with_unlabelled = model(input_ids, labels=labels, unsupervised_input_ids=torch.randint(2, 50, (5, 4)),
                            perturbation_seed=3)
    assert torch.equal(with_unlabelled.loss_terms["supervised"], alone.loss_terms["supervised"])
    assert torch.equal(alone.loss_terms["supervised"], torch.nn.functional.cross_entropy(alone.logits, labels))
    assert set(with_unlabelled.loss_terms) == {"supervised", "adversarial", "virtual_adversarial", "entropy"}
    assert torch.allclose(with_unlabelled.loss, sum(with_unlabelled.loss_terms.values()))
    model.eval()
    plain = LSTMForSequenceClassification(tiny_config(bidirectional=True, pooling="mean_max",
                                                      normalize_embeddings=True)).eval()
    plain.load_state_dict(model.state_dict())
    evaluated = model(input_ids, labels=labels)
    assert torch.equal(evaluated.logits, plain(input_ids).logits) and evaluated.loss_terms is None
    assert torch.allclose(evaluated.loss, torch.nn.functional.cross_entropy(evaluated.logits, labels))


def test_regression_smoothness_is_the_squared_change_of_the_rating_and_entropy_is_refused():
    config = dict(num_labels=1, problem_type="regression")
    model = semi_supervised_model(**config).train()
    output = model(torch.randint(2, 50, (3, 6)), labels=torch.tensor([1.0, 4.0, 5.0]), perturbation_seed=1)
    assert output.loss_terms["virtual_adversarial"] > 0
    from hf_lstm.modeling_lstm import squared_change

    assert torch.equal(squared_change(torch.tensor([[1.0], [2.0]]), torch.tensor([[1.5], [0.0]])),
                       torch.tensor([0.25, 4.0]))
    with pytest.raises(ValueError, match="entropy_weight is for classification"):
        tiny_config(entropy_weight=1.0, **config)


def test_distillation_term_is_the_tempered_kl_from_the_teachers_average_on_a_hand_example():
    from hf_lstm.modeling_lstm import distillation_divergence, distillation_squared_error

    student, teacher = torch.tensor([[0.0, 0.0]]), torch.tensor([[[math.log(3), 0.0]]])  # q = (1/2, 1/2)
    by_hand = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)  # p = (3/4, 1/4), T = 1
    assert distillation_divergence(student, teacher, 1.0).item() == pytest.approx(by_hand)
    tempered = [math.sqrt(3) / (math.sqrt(3) + 1), 1 / (math.sqrt(3) + 1)]  # softmax((ln 3) / 2, 0)
    by_hand = 4 * sum(p * math.log(p / 0.5) for p in tempered)  # T**2 = 4
    assert distillation_divergence(student, teacher, 2.0).item() == pytest.approx(by_hand)
    opposite = torch.tensor([[[math.log(3), 0.0], [0.0, math.log(3)]]])  # two teachers average to (1/2, 1/2)
    assert distillation_divergence(student, opposite, 1.0).item() == pytest.approx(0.0, abs=1e-7)
    ratings = distillation_squared_error(torch.tensor([[3.0]]), torch.tensor([[[4.0], [5.0]]]))
    assert ratings.tolist() == [2.25]  # (3 - 4.5) ** 2


def test_the_distilled_loss_is_alpha_cross_entropy_plus_the_term_over_labelled_and_unlabelled_reviews():
    from hf_lstm.modeling_lstm import distillation_divergence

    torch.manual_seed(0)
    model = LSTMForSequenceClassification(tiny_config(distillation_alpha=0.3, distillation_temperature=2.0)).train()
    input_ids, unlabelled = torch.randint(2, 50, (3, 6)), torch.randint(2, 50, (4, 5))
    labels = torch.tensor([0, 1, 1])
    teachers, unlabelled_teachers = torch.randn(3, 2, 2), torch.randn(4, 2, 2)  # (reviews, 2 teachers, 2 classes)
    output = model(input_ids, labels=labels, teacher_logits=teachers, unsupervised_input_ids=unlabelled,
                   unsupervised_teacher_logits=unlabelled_teachers)
    unlabelled_logits = model(unlabelled).logits  # no labels: the plain forward pass
    cross_entropy = torch.nn.functional.cross_entropy(output.logits, labels)
    kl = torch.cat([distillation_divergence(output.logits, teachers, 2.0),
                    distillation_divergence(unlabelled_logits, unlabelled_teachers, 2.0)])
    assert output.loss.item() == pytest.approx((0.3 * cross_entropy + 0.7 * kl.mean()).item(), rel=1e-6)
    assert set(output.loss_terms) == {"supervised", "distillation"}
    assert model.eval()(input_ids, labels=labels, teacher_logits=teachers).loss.item() == pytest.approx(
        torch.nn.functional.cross_entropy(output.logits, labels).item(), rel=1e-6)  # evaluation: the labels' loss
