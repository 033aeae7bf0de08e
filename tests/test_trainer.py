import numpy as np
import pytest
import torch
from datasets import Dataset
from transformers import DataCollatorWithPadding

from hf_lstm import LSTMForSequenceClassification
from hf_lstm.arguments import parse_arguments
from hf_lstm.trainer import (
    COMPLETE_MARKER,
    LSTMTrainer,
    complete_checkpoints,
    discriminative_optimizer,
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
    sampling = trainer.args.train_sampling_strategy
    output = trainer.predict_in_length_order(dataset)
    assert output.label_ids.tolist() == [1, 0, 0, 1, 1]
    trainer.model.eval()
    with torch.no_grad():
        for row in range(len(dataset)):  # one review at a time: the logits of its own row
            alone = trainer.model(input_ids=torch.tensor([dataset[row]["input_ids"]])).logits[0].numpy()
            assert np.allclose(output.predictions[row], alone, atol=1e-5), row
    assert trainer.args.train_sampling_strategy == sampling  # restored


def test_loss_terms_are_added_to_the_models_loss(tmp_path, tokenizer):
    calls = []

    def term(model, inputs, outputs):
        calls.append(outputs.logits.shape)
        return torch.tensor(2.5)

    plain, dataset = tiny_trainer(tmp_path, tokenizer)
    extended, _ = tiny_trainer(tmp_path, tokenizer, loss_terms=[term])
    extended.model.load_state_dict(plain.model.state_dict())
    batch = plain.data_collator([{key: dataset[0][key] for key in ("input_ids", "labels")}])
    assert extended.compute_loss(extended.model, dict(batch)).item() == pytest.approx(
        plain.compute_loss(plain.model, dict(batch)).item() + 2.5)
    assert calls == [torch.Size([1, 2])]


def test_the_discriminative_optimizer_is_the_trainers_when_asked(tmp_path, tokenizer):
    trainer, _ = tiny_trainer(tmp_path, tokenizer, layer_learning_rate_decay=2.0)
    trainer.create_optimizer()
    rates = sorted({group["lr"] for group in trainer.optimizer.param_groups}, reverse=True)
    assert rates == [2e-3, 1e-3, 5e-4, 2.5e-4]  # head, top layer, lower layer, embedding
    plain, _ = tiny_trainer(tmp_path, tokenizer)
    plain.create_optimizer()
    assert {group["lr"] for group in plain.optimizer.param_groups} == {2e-3}


def test_complete_checkpoints_are_the_marked_ones_ordered_by_step_number(tmp_path):
    for step in (9, 10, 100, 200):
        (tmp_path / f"checkpoint-{step}").mkdir()
        if step != 200:  # checkpoint-200: half-written, no marker
            (tmp_path / f"checkpoint-{step}" / COMPLETE_MARKER).write_text(str(step))
    assert [path.name for path in complete_checkpoints(tmp_path)] == ["checkpoint-9", "checkpoint-10", "checkpoint-100"]
    assert (tmp_path / "checkpoint-200").is_dir()  # only listed, not removed, unless asked
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-100")
    assert not (tmp_path / "checkpoint-200").exists()


def test_discriminative_learning_rates_fall_by_the_factor_from_the_head_down_to_the_embedding():
    model = LSTMForSequenceClassification(tiny_config(num_layers=2, bidirectional=True))
    model_args, _, training_args = parse_arguments(["configs/tiny.yaml"])
    optimizer = discriminative_optimizer(model, training_args, decay=2.0)
    rate = {id(param): group["lr"] for group in optimizer.param_groups for param in group["params"]}
    decay = {id(param): group["weight_decay"] for group in optimizer.param_groups for param in group["params"]}
    assert len(rate) == len(list(model.parameters()))  # every parameter trains, once
    assert rate[id(model.classifier.weight)] == 2e-3
    assert rate[id(model.lstm.layers[1].forward_cell.weight_hh_l0)] == 2e-3 / 2
    assert rate[id(model.lstm.layers[0].backward_cell.weight_ih_l0)] == 2e-3 / 4
    assert rate[id(model.lstm.embeddings.weight)] == 2e-3 / 8
    assert decay[id(model.classifier.bias)] == 0.0 and decay[id(model.classifier.weight)] == training_args.weight_decay


def unlabelled_batches(tokenizer, size, count=23):
    from hf_lstm.trainer import UnlabelledBatches

    texts = [" ".join(["film"] * (1 + i % 7)) for i in range(count)]
    ids = tokenizer(texts)["input_ids"]
    dataset = Dataset.from_dict({"input_ids": ids, "length": [len(row) for row in ids], "row": list(range(count))})
    return UnlabelledBatches(dataset, size, seed=5, collator=DataCollatorWithPadding(tokenizer)), dataset


def test_unlabelled_pieces_of_a_step_make_up_the_one_process_batch_and_follow_the_step_only(tokenizer):
    whole, dataset = unlabelled_batches(tokenizer, size=8)
    split, _ = unlabelled_batches(tokenizer, size=4)
    for step in (0, 1, 2, 7):
        one = whole.piece(step, 0, 1)["input_ids"]  # one process, no accumulation: 8 reviews
        pieces = [split.piece(step, piece, 2)["input_ids"] for piece in (0, 1)]  # 2 processes or 2 micro-batches
        rows = [row[row != tokenizer.pad_token_id].tolist() for row in one]
        assert rows == [row[row != tokenizer.pad_token_id].tolist() for piece in pieces for row in piece]
        lengths = (one != tokenizer.pad_token_id).sum(1)
        assert (lengths[:-1] >= lengths[1:]).all()  # length-grouped: longest first
        assert torch.equal(whole.piece(step, 0, 1)["input_ids"], one)  # the same step again: the same reviews
    # one pass reads every review at most once: 23 reviews make 2 batches of 8, then a new permutation
    first_pass = [tuple(row.tolist()) for step in (0, 1) for row in whole.piece(step, 0, 1)["input_ids"]]
    assert len(first_pass) == 16
    order = whole.order(8, 0)
    assert sorted(order.tolist()) == list(range(23)) and not np.array_equal(order, whole.order(8, 1))


def test_fewer_unlabelled_reviews_than_a_batch_are_repeated(tokenizer):
    batches, _ = unlabelled_batches(tokenizer, size=8, count=3)
    assert batches.piece(0, 0, 1)["input_ids"].shape[0] == 8
