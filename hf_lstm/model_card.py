"""The README.md model card saved with every trained model: YAML metadata (huggingface_hub's ModelCardData) + a body."""

import json
import os
from pathlib import Path

from huggingface_hub import DatasetCard, EvalResult, ModelCard, ModelCardData

from .hardware import machine_description

BODY = """
# {name}

An hf_lstm text classifier: {architecture}.
It is a standard `transformers` model (`model_type: hf_lstm`) with a word-level `tokenizers` vocabulary.

## Results on the test split ({test_rows} reviews, scored once, after model selection on validation)

{results}
{warning}
## How it was trained

- data: `{dataset}`, text from {text_columns}, label `{label_column}` ({task}); splits train {train_rows} / validation {validation_rows} / test {test_rows}{unlabelled}{distillation}
- vocabulary: {vocab_size} entries trained on the training split only; {max_length} tokens kept per review ({truncation}),
  cut by the model itself (`truncation` and `max_tokens` in config.json), so every way of loading it reads the same tokens
- command: `{command}`
- training arguments: learning rate {learning_rate}, {epochs} epochs, batch {batch_size}, seed {seed}, {precision} (the test split scored in float32, as saved); weights: {weights}
- time: {runtime} on {machine}

## How to load it

With the hf_lstm package installed from its source (`pip install -e .` in a clone of its repository), no remote code
runs:

```python
import hf_lstm  # registers the hf_lstm model type with the Auto classes
from transformers import pipeline
classifier = pipeline("text-classification", model="PATH_OR_REPO_ID")
classifier("A moving, beautifully acted film.")
```

Without the package, the folder carries its own modelling code (`configuration_lstm.py`, `modeling_lstm.py`):
`AutoModelForSequenceClassification.from_pretrained("PATH_OR_REPO_ID", trust_remote_code=True)`. Read those two
files first: `trust_remote_code=True` runs them in your Python process.

From a hub directory: `from_pretrained("org/name", cache_dir=HUB, revision="main")`, or set `HF_HUB_CACHE=HUB`.
"""


LANGUAGE_MODEL_BODY = """
# {name}

An hf_lstm language model: {architecture}. {directions}
It is a standard `transformers` model (`model_type: hf_lstm`) with a word-level `tokenizers` vocabulary.

## Results on the validation split ({validation_rows} blocks of {block_size} tokens)

{results}

## How it was trained

- data: `{dataset}`, text from {text_columns}: the training split and every unlabelled split, never test text (a
  training text equal to a validation or test text is dropped); {train_rows} training blocks
- vocabulary: {vocab_size} entries trained on the training text
- command: `{command}`
- training arguments: learning rate {learning_rate}, {epochs} epochs, batch {batch_size}, seed {seed}, {precision}; weights: {weights}
- time: {runtime} on {machine}

## How to use it

Start a classifier from it (its vocabulary and encoder weights; a new head):
`python scripts/train.py configs/imdb.yaml --model_name_or_path PATH_OR_REPO_ID --word2vec_epochs 0`.
With the package installed, `AutoModelForCausalLM.from_pretrained("PATH_OR_REPO_ID")` after `import hf_lstm`; without
it, `trust_remote_code=True` runs the folder's `configuration_lstm.py` and `modeling_lstm.py`: read them first.
"""


def hub_dataset_id(dataset_name):
    """The hub id of the training data for the card's `datasets:` metadata, or None.

    A name that is not a local path is a hub id. A local folder is one only if its dataset card (README.md) names the
    hub dataset it is a copy of (`copy_of: stanfordnlp/imdb` in `data/imdb/README.md`); a local path never is.
    """
    path = Path(dataset_name)
    if not path.exists():
        return dataset_name
    card = path / "README.md"
    if path.is_dir() and card.is_file():
        return DatasetCard.load(card).data.to_dict().get("copy_of")
    return None


def describe_architecture(config):
    direction = "bidirectional " if config.bidirectional else ""
    return (
        f"{config.num_layers}-layer {direction}{config.cell_type.upper()} (embedding {config.embedding_dim}, hidden "
        f"{config.hidden_size}, {config.pooling} pooling, dropout {config.dropout}, "
        f"embedding dropout {config.embedding_dropout})"
        + (f", plus an n-gram channel (word {'-'.join(map(str, config.ngram_orders))}-grams of its token ids hashed "
           f"into {config.ngram_buckets:,} buckets, fitted as NBSVM; its logits are added to the head's)"
           if config.ngram_orders else "")
    )


def unlabelled_line(config, training_args, splits, word2vec=False):
    """What a classifier learned from unlabelled reviews, for the card's data line ("" when it read none)."""
    if "unlabelled" not in splits:
        return ""
    terms = [name for name, on in (("word2vec", word2vec),
                                   ("word frequencies of the normalised embeddings", config.normalize_embeddings),
                                   ("virtual adversarial training", training_args.virtual_adversarial_epsilon),
                                   ("entropy minimisation", training_args.entropy_weight),
                                   ("distillation", "teacher_logits" in splits["unlabelled"].column_names)) if on]
    return f"; also {len(splits['unlabelled'])} unlabelled reviews ({', '.join(terms)}; never validation or test text)"


def distillation_line(training_args, distilled):
    """The teachers a model was distilled from, their test scores and the model's agreement with them, for the card's
    data line ("" when it had none)."""
    if not distilled:
        return ""
    metric = "rmse" if "student_rmse_to_ensemble" in distilled else "accuracy"
    scores = ", ".join(f"`{name}` (test {metric} {values[metric]:.4f})" for name, values in distilled["teachers"].items())
    if metric == "rmse":
        agreement = f"this model's ratings are {distilled['student_rmse_to_ensemble']:.4f} RMSE from theirs"
    else:
        agreement = (f"this model predicts their class on {100 * distilled['student_agreement_with_ensemble']:.2f} % "
                     "of the test reviews")
    return (f"\n- distilled (distillation_alpha {training_args.distillation_alpha}, temperature "
            f"{training_args.distillation_temperature}) from {scores}; their average: test {metric} "
            f"{distilled['ensemble'][metric]:.4f}; {agreement}")


def build_model_card(
    config, data_args, training_args, splits, test_metrics, best_metric, runtime_s, command, base_model=None,
    distilled=None, word2vec=False, warning=None,
):
    """Return the model card text (README.md) of a trained model; `base_model`
    the hub id (`org/name[@revision]`) of the model it started from, if any (a local folder is named in the command);
    `distilled` the teachers' test scores (`distillation.teacher_report`), named in the `teachers` metadata (the Hub's
    `base_model_relation` has no value for distillation: the weights are not the teachers'); `word2vec` whether the
    embedding started from word2vec vectors (learned on the unlabelled reviews too, when there are some); `warning` a
    line saying the model learned nothing from its labels (`training.learned_nothing`)."""
    language_model = data_args.task == "language_modeling"
    scored = "validation" if language_model else "test"  # a language model's scores are on validation text
    metrics = {key[len(scored) + 1 :]: value for key, value in test_metrics.items() if key.startswith(f"{scored}_")
               and key[len(scored) + 1 :] not in ("runtime", "samples_per_second", "steps_per_second")}
    dataset_id = hub_dataset_id(data_args.dataset_name)
    dataset_label = dataset_id or Path(data_args.dataset_name).name
    if not language_model:
        pipeline_tag = "text-classification"
    else:  # a two-way model reads ahead: it gives features, not text
        pipeline_tag = "feature-extraction" if config.bidirectional else "text-generation"
    card_data = ModelCardData(
        library_name="transformers",
        pipeline_tag=pipeline_tag,
        license="apache-2.0",
        tags=["hf_lstm", "lstm", pipeline_tag, *(["distillation"] if distilled else [])],
        teachers=list(distilled["teachers"]) if distilled else None,
        datasets=[dataset_id] if dataset_id else None,
        base_model=base_model.partition("@")[0] if base_model else None,
        base_model_revision=base_model.partition("@")[2] or None if base_model else None,
        model_name=os.path.basename(os.path.normpath(training_args.output_dir)),
        eval_results=[
            EvalResult(
                task_type=pipeline_tag,
                dataset_type=dataset_label,
                dataset_name=dataset_label,
                dataset_split=scored,
                metric_type=name,
                metric_value=round(float(value), 4),
            )
            for name, value in metrics.items()
        ],
    )
    body = (LANGUAGE_MODEL_BODY if language_model else BODY).format(
        name=card_data.model_name,
        architecture=describe_architecture(config),
        directions=(
            "The forward direction predicts each next word and the backward direction each previous word, the two "
            "kept apart through the stack." if config.bidirectional else "It predicts each next word."
        ),
        block_size=data_args.block_size,
        warning=f"\n**Warning:** {warning}\n" if warning else "",
        test_rows=len(splits["test"]) if "test" in splits else 0,
        results="\n".join(f"| {name} | {value:.4f} |" for name, value in metrics.items()).join(
            ["| metric | value |\n|---|---|\n", ""]
        ),
        dataset=data_args.dataset_name,
        text_columns=", ".join(f"`{column}`" for column in data_args.text_columns),
        label_column=data_args.label_column,
        task=("multi-label classification: a sigmoid per label, each predicted at its threshold in config.json's "
              "`decision_thresholds` (0.5 where null); `pipeline(..., top_k=None)` gives every label's probability"
              if config.problem_type == "multi_label_classification" else data_args.task),
        train_rows=len(splits["train"]),
        validation_rows=len(splits["validation"]),
        unlabelled=unlabelled_line(config, training_args, splits, word2vec),
        distillation=distillation_line(training_args, distilled),
        vocab_size=config.vocab_size,
        max_length=data_args.max_length,
        truncation=data_args.truncation,
        command=command,
        learning_rate=training_args.learning_rate,
        epochs=training_args.num_train_epochs,
        batch_size=training_args.per_device_train_batch_size * max(1, training_args.world_size)
        * training_args.gradient_accumulation_steps,
        seed=training_args.seed,
        precision="bf16 autocast" if training_args.bf16 else "float32",
        weights=(f"the best epoch (chosen on validation: `{best_metric[0]}` = {json.dumps(best_metric[1])})"
                 if training_args.load_best_model_at_end else "the last epoch"),
        runtime=f"{runtime_s / 60:.1f} min",
        machine=machine_description(),
    )
    return str(ModelCard(f"---\n{card_data.to_yaml()}\n---\n{body}"))
