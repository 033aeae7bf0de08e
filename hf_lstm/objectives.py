"""Training-only loss terms, added to the head's standard loss by `LSTMTrainer.compute_loss`; none of them changes
what a model predicts, and a saved model knows nothing of them. Their weights are `LSTMTrainingArguments` fields.

- virtual adversarial training on labelled and unlabelled reviews (Miyato et al., 2017);
- entropy minimisation on unlabelled reviews (Sachan et al., 2019);
- distillation from teachers' cached outputs (Hinton et al., 2015).

Each term reads the model only through its public forward (`input_ids` or `inputs_embeds`), so it works under the
Trainer's autocast, several processes and gradient accumulation alike.
"""

import torch

from .modeling_lstm import tokens_read


def loss_terms(model, batch, outputs, extras, args, seed):
    """The named terms of one training batch's loss (their sum is the loss).

    `outputs` is the model's pass over `batch` (with `output_hidden_states`); `extras` holds what the batch brought
    besides its labelled reviews: `teacher_logits` (batch, teachers, num_labels) and a batch of unlabelled reviews
    (`unlabelled_input_ids`, `unlabelled_attention_mask`, `unlabelled_teacher_logits`); `seed` seeds virtual
    adversarial training's random directions (one per optimiser step)."""
    regression = model.config.num_labels == 1
    distilling = "teacher_logits" in extras
    terms = {"supervised": args.distillation_alpha * outputs.loss if distilling else outputs.loss}
    passes = [(batch["input_ids"], batch.get("attention_mask"), outputs)]
    if "unlabelled_input_ids" in extras:
        ids, mask = extras["unlabelled_input_ids"], extras["unlabelled_attention_mask"]
        passes.append((ids, mask, model(input_ids=ids, attention_mask=mask, output_hidden_states=True)))
    if args.entropy_weight:
        terms["entropy"] = args.entropy_weight * entropy(passes[-1][2].logits).mean()
    if distilling:
        teachers = [extras["teacher_logits"], extras.get("unlabelled_teacher_logits")]
        differences = [distillation_differences(output.logits, teacher, args.distillation_temperature, regression)
                       for (_, _, output), teacher in zip(passes, teachers) if teacher is not None]
        terms["distillation"] = (1 - args.distillation_alpha) * torch.cat(differences).mean()  # over every review
    if args.virtual_adversarial_epsilon:
        changes = [virtual_adversarial_changes(model, ids, mask, output, seed, args, regression)
                   for ids, mask, output in passes]
        terms["virtual_adversarial"] = torch.cat(changes).mean()  # over every review
    return terms


def virtual_adversarial_changes(model, input_ids, attention_mask, outputs, seed, args, regression):
    """Each review's change of prediction (batch,) under the perturbation of norm `virtual_adversarial_epsilon` that
    changes it most, found by one power iteration from a random direction of norm `virtual_adversarial_xi`. Gradients
    reach the weights through the perturbed pass and the embeddings, not through the clean prediction (its target)."""
    read_ids, mask, lengths = tokens_read(input_ids, attention_mask, model.config)
    embeddings, logits = outputs.hidden_states[0], outputs.logits  # (batch, time, embedding_dim), (batch, num_labels)
    direction = random_directions(read_ids, lengths, embeddings.shape[-1], seed).to(embeddings.dtype)
    direction = scale_per_review(direction, args.virtual_adversarial_xi).requires_grad_()
    perturbed = model(inputs_embeds=embeddings.detach() + direction, attention_mask=mask).logits
    (gradient,) = torch.autograd.grad(change_of(logits, perturbed, regression).sum(), direction)
    moved = embeddings + scale_per_review(gradient.detach(), args.virtual_adversarial_epsilon)
    return change_of(logits, model(inputs_embeds=moved, attention_mask=mask).logits, regression)


def change_of(clean_logits, perturbed_logits, regression):
    """KL(p_clean || p_perturbed) of each review (batch,), the clean prediction held fixed as the target; for
    regression, the squared change of the predicted value."""
    if regression:
        return (perturbed_logits - clean_logits.detach()).squeeze(-1) ** 2
    clean = clean_logits.detach().log_softmax(dim=-1)  # (batch, num_labels)
    return (clean.exp() * (clean - perturbed_logits.log_softmax(dim=-1))).sum(dim=-1)


def entropy(logits):
    """The entropy of each review's predicted class distribution (batch,)."""
    log_probs = logits.log_softmax(dim=-1)  # (batch, num_labels)
    return -(log_probs.exp() * log_probs).sum(dim=-1)


def distillation_differences(student_logits, teacher_logits, temperature, regression):
    """Each review's distillation term (batch,): `T**2 * KL(teacher_T || student_T)`, the teachers' probabilities at
    temperature `T` averaged over the teachers (`teacher_logits` (batch, teachers, num_labels): logits or
    log-probabilities, the same under a softmax); for regression, the squared difference from their mean rating."""
    if regression:
        return (student_logits.float().squeeze(-1) - teacher_logits.float().mean(dim=1).squeeze(-1)) ** 2
    teacher = (teacher_logits.float() / temperature).softmax(dim=-1).mean(dim=1)  # (batch, num_labels)
    student = (student_logits.float() / temperature).log_softmax(dim=-1)  # (batch, num_labels)
    return temperature**2 * (teacher * (teacher.clamp_min(1e-30).log() - student)).sum(dim=-1)


def scale_per_review(direction, norm):
    """`direction` (batch, time, embedding_dim) rescaled to L2 norm `norm` over each review's whole block."""
    norms = direction.flatten(1).norm(dim=1).clamp(min=1e-12).view(-1, 1, 1)  # (batch, 1, 1)
    return norm * direction / norms


def random_directions(input_ids, lengths, embedding_dim, seed):
    """A random direction (batch, time, embedding_dim), standard normal at each review's real positions and zero at
    its padding, drawn from a generator seeded by `seed` and the review's own token ids: it does not depend on the
    batch it is in or its padding, so one process, several processes and accumulation draw the same one."""
    direction = torch.zeros(*input_ids.shape, embedding_dim)  # (batch, time, embedding_dim)
    for row, (ids, length) in enumerate(zip(input_ids.tolist(), lengths.tolist())):
        generator = torch.Generator().manual_seed((seed * 1_000_003 + hash(tuple(ids[:length]))) % 2**63)
        direction[row, :length] = torch.randn(length, embedding_dim, generator=generator)
    return direction.to(input_ids.device)
