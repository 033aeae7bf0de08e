"""Which words moved a prediction: one attribution per word (token, as the model's tokenizer split the text), with its
character span in the original text, toward a class's logit (the predicted class by default; the rating for a
regression model).

Methods, both through captum on the word vectors the model reads (`inputs_embeds`):
- `integrated_gradients` (Sundararajan et al., 2017; the default): the gradient averaged along the straight path from
  the `[PAD]` embedding to each word's vector, times their difference; the attributions of a text sum to its logit
  minus the all-`[PAD]` text's logit (completeness), up to the path's discretisation (`steps`, batched).
- `gradient_x_input`: the gradient at the text times the word vectors: one backward pass, a first-order estimate.

A model with an n-gram channel adds that channel's exact share to each word (`ngram_shares`): the channel is linear,
so each distinct bucket's weight is split evenly among the words of the n-grams that fall in it; its baseline is the
bag with no n-gram (the channel's bias).

A text is explained alone, cut by the model's own truncation first (a word the model never reads gets no
attribution), so its attributions do not depend on the batch it came in or on padding.
"""

import html

import torch
from captum.attr import InputXGradient, IntegratedGradients

from .atomic import write_file_atomically
from .modeling_lstm import LSTMForSequenceClassification, hashed_ngrams, truncate_batch

METHODS = ("integrated_gradients", "gradient_x_input")


def words_read(tokenizer, config, text):
    """(ids (1, time), [(start, end)] character spans) of the tokens the model reads of `text`, after its truncation."""
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = torch.tensor([encoding["input_ids"]], dtype=torch.long)  # (1, time)
    spans = torch.tensor([encoding["offset_mapping"]], dtype=torch.long).view(1, -1, 2)  # (1, time, 2)
    if config.truncation is not None and ids.shape[1] > 0:
        _, ids, spans = truncate_batch(torch.ones_like(ids), config.max_tokens, config.truncation, ids, spans)
    return ids, [tuple(span) for span in spans[0].tolist()]


def target_index(model, logits, target):
    """The output explained: the class named `target` (a name or id), else the predicted class (a multi-label model:
    its most probable label); a regression model's rating (output 0)."""
    config = model.config
    if config.problem_type == "regression" or target is None and config.num_labels == 1:
        return 0
    if target is None:
        return int(logits.argmax())
    if isinstance(target, str):
        if target not in config.label2id:
            raise ValueError(f"target {target!r} is not one of the model's labels {list(config.label2id)}")
        return config.label2id[target]
    return int(target)


@torch.no_grad()
def _logits(model, embeddings):
    return model(inputs_embeds=embeddings).logits[0]  # (num_labels,): the encoder's and head's alone


@torch.no_grad()
def ngram_shares(channel, ids, index):
    """Each token's share (time,) of the n-gram channel's logit `index` for one text `ids` (1, time): every distinct
    bucket's weight split evenly among the tokens of the n-grams in it. They sum to that logit less the bias."""
    time = ids.shape[1]
    hashes, in_review = hashed_ngrams(ids, torch.tensor([time], device=ids.device), channel.orders, channel.buckets)
    orders = torch.tensor(channel.orders, device=ids.device).repeat_interleave(time)[in_review[0]]  # (ngrams,)
    starts = torch.arange(time, device=ids.device).repeat(len(channel.orders))[in_review[0]]  # (ngrams,)
    _, bucket, occurrences = torch.unique(hashes[0][in_review[0]], return_inverse=True, return_counts=True)
    share = channel.weight[hashes[0][in_review[0]], index] / (occurrences[bucket] * orders)  # (ngrams,): per token
    shares = torch.zeros(time, dtype=channel.weight.dtype, device=ids.device)
    for offset in range(max(channel.orders)):
        covered = offset < orders  # (ngrams,): the n-grams long enough to reach this offset
        shares.index_add_(0, starts[covered] + offset, share[covered])
    return shares


def explain(model, tokenizer, texts, target=None, method="integrated_gradients", steps=50):
    """One dict per text: {"target": the class name (or "rating"), "logit": its logit, "words": [{"word", "start",
    "end", "attribution"}], in text order}, and for integrated gradients "baseline_logit" (the all-[PAD] text's) and
    "delta" (how far the attributions' sum is from logit - baseline_logit)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    model.eval()
    forward = lambda embeddings, index: model(inputs_embeds=embeddings).logits[:, index]  # noqa: E731  (batch,)
    explained = []
    for text in texts:
        ids, spans = words_read(tokenizer, model.config, text)
        if ids.shape[1] == 0:  # an empty text: nothing to attribute
            ids, spans = torch.full((1, 1), model.config.pad_token_id), []
        ids = ids.to(model.device)
        embeddings = model.lstm.embed(ids).detach()  # (1, time, embedding_dim)
        baseline = model.lstm.embed(torch.full_like(ids, model.config.pad_token_id)).detach()
        with torch.no_grad():
            logits = model(ids).logits[0]  # (num_labels,), the n-gram channel's included
        index = target_index(model, logits, target)
        channel = getattr(model, "ngrams", None)
        regression = model.config.problem_type == "regression"
        result = {"target": "rating" if regression else model.config.id2label[index], "logit": float(logits[index])}
        if method == "integrated_gradients":
            attributions, delta = IntegratedGradients(forward).attribute(
                embeddings, baselines=baseline, additional_forward_args=(index,), n_steps=steps,
                internal_batch_size=steps, return_convergence_delta=True)
            bias = float(channel.bias[index]) if channel is not None else 0.0
            result |= {"baseline_logit": float(_logits(model, baseline)[index]) + bias, "delta": float(delta[0])}
        else:
            attributions = InputXGradient(forward).attribute(embeddings.requires_grad_(),
                                                             additional_forward_args=(index,))
        per_word = attributions[0].sum(dim=-1)  # (time,)
        if channel is not None and spans:
            per_word = per_word + ngram_shares(channel, ids, index)
        per_word = per_word.tolist()
        result["words"] = [{"word": text[start:end], "start": start, "end": end, "attribution": value}
                           for (start, end), value in zip(spans, per_word)]
        explained.append(result)
    return explained


def top_words(explanation, k):
    """The `k` words of an explanation that moved its target most, either way (largest |attribution| first)."""
    return sorted(explanation["words"], key=lambda word: -abs(word["attribution"]))[:k]


def explainable_model(classifier):
    """The PyTorch model of a `prediction.load_classifier` pipeline, or `ValueError` naming why it cannot be explained
    (an ONNX export or a quantised model has no gradients to read)."""
    model = classifier.model
    if not isinstance(model, LSTMForSequenceClassification):
        raise ValueError("explanations need the PyTorch model (they read its gradients): give the model folder, not "
                         "its ONNX export")
    quantized = any(type(module).__module__.startswith("torch.ao.nn.quantized") for module in model.modules())
    if quantized or any(parameter.dtype != torch.float32 for parameter in model.parameters()):
        raise ValueError("explanations read the float32 model's gradients: drop --quantize")
    return model


def with_explanations(classifier, texts, results, k, method="integrated_gradients"):
    """`results` (`prediction.predict`'s answers to `texts`) each with "explanation": the `k` words that moved its
    prediction most (`top_words`), toward the predicted class (or the rating)."""
    model = explainable_model(classifier)
    explained = explain(model, classifier.tokenizer, texts, method=method)
    return [result | {"explanation": top_words(explanation, k)} for result, explanation in zip(results, explained)]


REPORT = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.7; color: #222; }}
.review {{ border-top: 1px solid #ccc; padding: 0.6rem 0; }}
.meta {{ font-size: 0.9rem; color: #555; }}
.wrong {{ color: #b00; font-weight: bold; }}
span[title] {{ border-radius: 3px; padding: 0 1px; }}
</style></head><body>
<h1>{title}</h1>
<p class="meta">{legend}</p>
{reviews}
</body></html>
"""


def segments(text, words):
    """`text` cut into [(piece, share, attribution)]: each explained word with its attribution and that over the
    text's largest (`share`, in [-1, 1]); the text between words (and words the model never read) with None, None."""
    strongest = max((abs(word["attribution"]) for word in words), default=0.0) or 1.0
    pieces, at = [], 0
    for word in words:
        value = word["attribution"]
        pieces += [(text[at:word["start"]], None, None), (text[word["start"]:word["end"]], value / strongest, value)]
        at = word["end"]
    return [piece for piece in pieces + [(text[at:], None, None)] if piece[0]]


def shaded(text, words):
    """`text` as HTML, each explained word on a background whose colour says which way it moved the target (blue:
    toward, red: against) and whose strength says how much (`segments`); the value on hover."""
    parts = []
    for piece, share, value in segments(text, words):
        if share is None:
            parts.append(html.escape(piece))
            continue
        colour = f"rgba(33, 102, 172, {share:.3f})" if share >= 0 else f"rgba(178, 24, 43, {-share:.3f})"
        parts.append(f'<span style="background: {colour}" title="{value:+.4f}">{html.escape(piece)}</span>')
    return "".join(parts)


def write_report(path, entries, method="integrated_gradients", title="Which words moved each prediction"):
    """A self-contained HTML page, written whole (atomically): per entry ({"text", "explanation", "predicted", and
    "gold" where known}) its gold and predicted answer and its text, words shaded by attribution."""
    reviews = []
    for entry in entries:
        explanation, gold = entry["explanation"], entry.get("gold")
        wrong = gold is not None and gold != entry["predicted"]
        meta = (f'predicted <b>{html.escape(str(entry["predicted"]))}</b>' + (
            f', gold <span class="{"wrong" if wrong else ""}">{html.escape(str(gold))}</span>' if gold is not None
            else "") + f'; words shaded toward <b>{html.escape(explanation["target"])}</b> '
            f'(logit {explanation["logit"]:.3f})')
        reviews.append(f'<div class="review"><p class="meta">{meta}</p><p>{shaded(entry["text"], explanation["words"])}'
                       "</p></div>")
    legend = ("Blue words pushed the prediction toward the shaded class, red ones away from it; the stronger the "
              f"colour, the larger the attribution ({method.replace('_', ' ')}; hover a word for its value).")
    page = REPORT.format(title=html.escape(title), legend=legend, reviews="\n".join(reviews))
    write_file_atomically(path, page.encode("utf-8"))
