import numpy as np
import torch
from datasets import Dataset
from transformers import DataCollatorWithPadding

from hf_lstm import LSTMForSequenceClassification
from hf_lstm.arguments import parse_arguments
from hf_lstm.trainer import (
    COMPLETE_MARKER,
    LSTMTrainer,
    UnlabelledCollator,
    WithUnlabelled,
    complete_checkpoints,
    last_complete_checkpoint,
)

from .conftest import tiny_config


def tiny_trainer(tmp_path, tokenizer, **kwargs):
    model = LSTMForSequenceClassification(tiny_config(vocab_size=len(tokenizer), num_layers=2, bidirectional=True))
    _, _, args = parse_arguments(["configs/tiny.yaml", "--output_dir", str(tmp_path), "--report_to", "none",
                                     "--per_device_eval_batch_size", "2", "--bf16", "false"])
    texts = ["a fine film", "bad", "a very long and rather dull film indeed", "fine", "the film"]
    encoded = tokenizer(texts)
    dataset = Dataset.from_dict({"input_ids": encoded["input_ids"], "labels": [1, 0, 0, 1, 1],
                                 "length": [len(ids) for ids in encoded["input_ids"]]})
    trainer = LSTMTrainer(model=model, args=args, eval_dataset=dataset, data_collator=DataCollatorWithPadding(tokenizer),
                          **kwargs)
    return trainer, dataset


def test_predictions_in_length_order_come_back_in_the_datasets_order(tmp_path, tokenizer):
    trainer, dataset = tiny_trainer(tmp_path, tokenizer)
    output = trainer.predict_in_length_order(dataset)
    assert output.label_ids.tolist() == [1, 0, 0, 1, 1]
    trainer.model.eval()
    with torch.no_grad():
        for row in range(len(dataset)):  # one review at a time: the logits of its own row
            alone = trainer.model(input_ids=torch.tensor([dataset[row]["input_ids"]])).logits[0].numpy()
            assert np.allclose(output.predictions[row], alone, atol=1e-5), row


def test_complete_checkpoints_are_the_marked_ones_ordered_by_step_number(tmp_path):
    for step in (9, 10, 100, 200):
        (tmp_path / f"checkpoint-{step}").mkdir()
        if step != 200:  # checkpoint-200: half-written, no marker
            (tmp_path / f"checkpoint-{step}" / COMPLETE_MARKER).write_text(str(step))
    assert [path.name for path in complete_checkpoints(tmp_path)] == ["checkpoint-9", "checkpoint-10", "checkpoint-100"]
    assert (tmp_path / "checkpoint-200").is_dir()  # only listed, not removed, unless asked
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-100")
    assert not (tmp_path / "checkpoint-200").exists()


def reviews(tokenizer, count, longest=7):
    texts = [" ".join(["film"] * (1 + i % longest)) for i in range(count)]
    ids = tokenizer(texts)["input_ids"]
    return Dataset.from_dict({"input_ids": ids, "length": [len(row) for row in ids], "labels": [i % 2 for i in range(count)]})


def test_each_labelled_review_brings_unlabelled_ones_of_its_length_rank_and_the_next_of_its_band_each_epoch(tokenizer):
    labelled, unlabelled = reviews(tokenizer, 10), reviews(tokenizer, 23, longest=5).remove_columns("labels")
    paired = WithUnlabelled(labelled, unlabelled, ratio=1.0, seed=5)
    epochs = []
    for epoch in range(3):
        paired.set_epoch(epoch)
        items = [paired[i] for i in range(len(paired))]
        assert all(len(item["unlabelled"]) == 1 for item in items)
        epochs.append([tuple(item["unlabelled"][0]["input_ids"]) for item in items])
        shortest, longest = np.argmin(labelled["length"]), np.argmax(labelled["length"])
        assert len(items[shortest]["unlabelled"][0]["input_ids"]) <= len(items[longest]["unlabelled"][0]["input_ids"])
    assert epochs[0] != epochs[1]  # a band of 2 unlabelled reviews per labelled one: the next one each epoch
    paired.set_epoch(0)
    assert [tuple(paired[i]["unlabelled"][0]["input_ids"]) for i in range(10)] == epochs[0]  # (seed, epoch, review)
    half = WithUnlabelled(labelled, unlabelled, ratio=0.5, seed=5)
    assert sum(len(half[i]["unlabelled"]) for i in range(10)) == 5


def test_fewer_unlabelled_reviews_than_labelled_ones_are_repeated_and_collated_as_one_more_batch(tokenizer):
    labelled, unlabelled = reviews(tokenizer, 6), reviews(tokenizer, 2).remove_columns("labels")
    paired = WithUnlabelled(labelled, unlabelled, ratio=1.0, seed=0)
    features = [{key: value for key, value in paired[i].items() if key != "length"} for i in range(6)]
    batch = UnlabelledCollator(DataCollatorWithPadding(tokenizer))(features)
    assert batch["input_ids"].shape[0] == 6 and batch["unlabelled_input_ids"].shape[0] == 6
    assert batch["unlabelled_attention_mask"].shape == batch["unlabelled_input_ids"].shape
