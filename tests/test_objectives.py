import math
from types import SimpleNamespace

import pytest
import torch

from hf_lstm import LSTMForSequenceClassification
from hf_lstm.objectives import (
    change_of,
    distillation_differences,
    entropy,
    loss_terms,
    random_directions,
    scale_per_review,
    virtual_adversarial_changes,
)

from .conftest import tiny_config

OFF = dict(virtual_adversarial_epsilon=0.0, virtual_adversarial_xi=0.1, entropy_weight=0.0, distillation_alpha=0.5,
           distillation_temperature=2.0)


def arguments(**values):
    return SimpleNamespace(**(OFF | values))


def model_for(**overrides):
    torch.manual_seed(0)
    values = dict(bidirectional=True, pooling="mean_max", normalize_embeddings=True)
    model = LSTMForSequenceClassification(tiny_config(**(values | overrides)))
    model.lstm.set_token_frequencies(torch.ones(50))
    return model


def terms_of(model, batch, args, unlabelled=None, seed=3):
    outputs = model(**batch, output_hidden_states=True)
    return outputs, loss_terms(model, batch, outputs, unlabelled or {}, args, seed)


def test_the_virtual_adversarial_change_beats_a_random_move_of_the_same_norm():
    model = model_for().eval()  # no dropout: the change is the direction's
    input_ids = torch.randint(2, 50, (4, 6))
    mask = torch.tensor([[1] * 6, [1] * 6, [1] * 4 + [0] * 2, [1] * 2 + [0] * 4])
    outputs = model(input_ids, attention_mask=mask, output_hidden_states=True)
    args = arguments(virtual_adversarial_epsilon=3.0)
    adversarial = virtual_adversarial_changes(model, input_ids, mask, outputs, 7, args, regression=False)
    embeddings = outputs.hidden_states[0].detach()
    torch.manual_seed(1)
    random = scale_per_review(torch.randn_like(embeddings) * mask.unsqueeze(-1), 3.0)
    by_chance = change_of(outputs.logits, model(inputs_embeds=embeddings + random, attention_mask=mask).logits, False)
    assert (adversarial > by_chance).all(), (adversarial, by_chance)


def test_the_random_direction_of_a_review_does_not_depend_on_its_batch_or_padding():
    ids = torch.tensor([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]])
    alone = random_directions(ids[:1, :3], torch.tensor([3]), 4, seed=11)
    together = random_directions(ids, torch.tensor([3, 5]), 4, seed=11)
    assert torch.equal(together[0, :3], alone[0]) and torch.equal(together[0, 3:], torch.zeros(2, 4))
    assert not torch.equal(random_directions(ids, torch.tensor([3, 5]), 4, seed=12), together)


def test_entropy_term_is_the_weighted_mean_entropy_of_the_unlabelled_predictions():
    probabilities = torch.tensor([[0.5, 0.5], [0.9, 0.1]])
    by_hand = torch.tensor([math.log(2), -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))])
    assert torch.allclose(entropy(probabilities.log()), by_hand)
    model = model_for().eval()
    batch = dict(input_ids=torch.randint(2, 50, (3, 6)), labels=torch.tensor([0, 1, 1]))
    unlabelled = torch.randint(2, 50, (4, 5))
    extras = dict(unlabelled_input_ids=unlabelled, unlabelled_attention_mask=torch.ones_like(unlabelled))
    _, terms = terms_of(model, batch, arguments(entropy_weight=0.5), extras)
    assert torch.allclose(terms["entropy"], 0.5 * entropy(model(unlabelled).logits).mean())
    assert set(terms) == {"supervised", "entropy"}


def test_unlabelled_reviews_never_enter_the_supervised_loss():
    model = model_for().eval()
    batch = dict(input_ids=torch.randint(2, 50, (3, 6)), labels=torch.tensor([0, 1, 1]))
    args = arguments(entropy_weight=1.0, virtual_adversarial_epsilon=2.0)
    _, alone = terms_of(model, batch, args)
    unlabelled = torch.randint(2, 50, (5, 4))
    extras = dict(unlabelled_input_ids=unlabelled, unlabelled_attention_mask=torch.ones_like(unlabelled))
    outputs, both = terms_of(model, batch, args, extras)
    assert torch.equal(both["supervised"], alone["supervised"])
    assert torch.allclose(both["supervised"], torch.nn.functional.cross_entropy(outputs.logits, batch["labels"]))
    assert set(both) == {"supervised", "virtual_adversarial", "entropy"}


def test_regression_smoothness_is_the_squared_change_of_the_rating():
    model = model_for(num_labels=1, problem_type="regression").train()
    batch = dict(input_ids=torch.randint(2, 50, (3, 6)), labels=torch.tensor([1.0, 4.0, 5.0]))
    _, terms = terms_of(model, batch, arguments(virtual_adversarial_epsilon=2.0), seed=1)
    assert terms["virtual_adversarial"] > 0
    assert torch.equal(change_of(torch.tensor([[1.0], [2.0]]), torch.tensor([[1.5], [0.0]]), regression=True),
                       torch.tensor([0.25, 4.0]))


def test_distillation_term_is_the_tempered_kl_from_the_teachers_average_on_a_hand_example():
    student, teacher = torch.tensor([[0.0, 0.0]]), torch.tensor([[[math.log(3), 0.0]]])  # q = (1/2, 1/2)
    by_hand = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)  # p = (3/4, 1/4), T = 1
    assert distillation_differences(student, teacher, 1.0, False).item() == pytest.approx(by_hand)
    tempered = [math.sqrt(3) / (math.sqrt(3) + 1), 1 / (math.sqrt(3) + 1)]  # softmax((ln 3) / 2, 0)
    by_hand = 4 * sum(p * math.log(p / 0.5) for p in tempered)  # T**2 = 4
    assert distillation_differences(student, teacher, 2.0, False).item() == pytest.approx(by_hand, rel=1e-5)  # float32
    opposite = torch.tensor([[[math.log(3), 0.0], [0.0, math.log(3)]]])  # two teachers average to (1/2, 1/2)
    assert distillation_differences(student, opposite, 1.0, False).item() == pytest.approx(0.0, abs=1e-7)
    ratings = distillation_differences(torch.tensor([[3.0]]), torch.tensor([[[4.0], [5.0]]]), 2.0, True)
    assert ratings.tolist() == [2.25]  # (3 - 4.5) ** 2


def test_the_distilled_loss_is_alpha_cross_entropy_plus_the_term_over_labelled_and_unlabelled_reviews():
    model = LSTMForSequenceClassification(tiny_config()).eval()
    batch = dict(input_ids=torch.randint(2, 50, (3, 6)), labels=torch.tensor([0, 1, 1]))
    unlabelled = torch.randint(2, 50, (4, 5))
    teachers, unlabelled_teachers = torch.randn(3, 2, 2), torch.randn(4, 2, 2)  # (reviews, 2 teachers, 2 classes)
    extras = dict(teacher_logits=teachers, unlabelled_input_ids=unlabelled,
                  unlabelled_attention_mask=torch.ones_like(unlabelled), unlabelled_teacher_logits=unlabelled_teachers)
    outputs, terms = terms_of(model, batch, arguments(distillation_alpha=0.3), extras)
    cross_entropy = torch.nn.functional.cross_entropy(outputs.logits, batch["labels"])
    kl = torch.cat([distillation_differences(outputs.logits, teachers, 2.0, False),
                    distillation_differences(model(unlabelled).logits, unlabelled_teachers, 2.0, False)])
    assert sum(terms.values()).item() == pytest.approx((0.3 * cross_entropy + 0.7 * kl.mean()).item(), rel=1e-6)
    assert set(terms) == {"supervised", "distillation"}
