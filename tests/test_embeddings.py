import pytest
import torch

from hf_lstm import LSTMForSequenceClassification
from hf_lstm.embeddings import load_pretrained_embeddings

from .conftest import tiny_config


def model_for(tokenizer):
    return LSTMForSequenceClassification(tiny_config(vocab_size=len(tokenizer), embedding_dim=3))


@pytest.mark.parametrize("header", ["", "3 3\n"])
def test_vectors_from_a_glove_or_word2vec_text_file(tokenizer, tmp_path, header):
    path = tmp_path / "vectors.txt"
    path.write_text(header + "great 1 2 3\nfilm 0.5 0.5 0.5\nzebra 9 9 9\n")
    model = model_for(tokenizer)
    share = load_pretrained_embeddings(model, tokenizer, path)
    vocabulary = tokenizer.get_vocab()
    weight = model.get_input_embeddings().weight
    assert torch.equal(weight[vocabulary["great"]], torch.tensor([1.0, 2.0, 3.0]))
    assert share == pytest.approx(2 / (len(vocabulary) - 2))  # great and film; [PAD]/[UNK] do not count
    assert torch.all(weight[0] == 0) and weight.requires_grad


def test_frozen_embedding_does_not_train(tokenizer, tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("great 1 2 3\n")
    model = model_for(tokenizer)
    load_pretrained_embeddings(model, tokenizer, path, freeze=True)
    output = model(torch.tensor([[2, 3, 4]]), labels=torch.tensor([1]))
    output.loss.backward()
    assert model.get_input_embeddings().weight.grad is None


def test_wrong_dimension_names_file_and_line(tokenizer, tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("great 1 2 3\nfilm 1 2\n")
    with pytest.raises(ValueError, match=r"vectors.txt, line 2: 2 numbers, but embedding_dim is 3"):
        load_pretrained_embeddings(model_for(tokenizer), tokenizer, path)
