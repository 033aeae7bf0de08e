from huggingface_hub import ModelCard

from hf_lstm.arguments import DataArguments
from hf_lstm.model_card import build_model_card, hub_dataset_id
from transformers import TrainingArguments

from .conftest import tiny_config


def test_model_card_has_metadata_with_test_metrics_and_loading_instructions(tmp_path):
    splits = {"train": [0] * 8, "validation": [0] * 2, "test": [0] * 3}
    args = TrainingArguments(output_dir=str(tmp_path / "imdb"), eval_strategy="epoch", save_strategy="epoch",
                             load_best_model_at_end=True)
    text = build_model_card(
        tiny_config(bidirectional=True), DataArguments(), args, splits,
        {"test_accuracy": 0.91234, "test_loss": 0.25, "test_runtime": 3.0}, ("accuracy", 0.9), 125.0,
        "python scripts/train.py configs/imdb.yaml",
    )
    card = ModelCard(text)
    assert card.data.library_name == "transformers" and card.data.pipeline_tag == "text-classification"
    assert card.data.license == "apache-2.0" and card.data.datasets == ["stanfordnlp/imdb"]
    metrics = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert metrics == {"accuracy": 0.9123, "loss": 0.25}  # runtime is not a metric of the model
    assert "configs/imdb.yaml" in text and "2.1 min" in text and "trust_remote_code=True" in text
    assert "bidirectional LSTM" in text and "train 8 / validation 2 / test 3" in text
    assert "weights: the best epoch (chosen on validation: `accuracy` = 0.9)" in text
    assert "pip install hf_lstm" not in text and "`pip install -e .` in a clone of its repository" in text
    assert "Warning" not in text
    warned = build_model_card(tiny_config(), DataArguments(), args, splits, {"test_accuracy": 0.5}, ("accuracy", 0.5),
                              1.0, "python scripts/train.py", warning="it predicts 'pos' for every test review")
    assert "**Warning:** it predicts 'pos' for every test review" in warned


def test_datasets_metadata_names_a_hub_id_never_a_local_path(tmp_path):
    csv = tmp_path / "reviews.csv"
    csv.write_text("text,label\n")
    assert hub_dataset_id(str(csv)) is None  # a local file: no hub id
    assert hub_dataset_id(str(tmp_path)) is None  # a folder without a dataset card
    assert hub_dataset_id("data/imdb") == "stanfordnlp/imdb"  # its dataset card says what it copies
    assert hub_dataset_id("someone/reviews") == "someone/reviews"  # not a local path: a hub id
    splits = {"train": [0] * 8, "validation": [0] * 2, "test": [0] * 3}
    text = build_model_card(
        tiny_config(), DataArguments(dataset_name=str(csv)), TrainingArguments(output_dir=str(tmp_path / "m")),
        splits, {"test_accuracy": 0.5}, ("accuracy", 0.5), 1.0, "python scripts/train.py",
    )
    assert ModelCard(text).data.datasets is None and str(tmp_path) not in ModelCard(text).data.to_yaml()
