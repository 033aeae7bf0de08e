import pytest
import torch

from hf_lstm import LSTMForSequenceClassification
from hf_lstm.embeddings import train_word2vec_embeddings

from .conftest import tiny_config


def model_for(tokenizer):
    return LSTMForSequenceClassification(tiny_config(vocab_size=len(tokenizer), embedding_dim=3))


def test_word2vec_on_training_tokens_fills_the_embedding_reproducibly(tokenizer):
    vocabulary = tokenizer.get_vocab()
    reviews = ["a great film", "a great great film", "a bad film", "a bad boring film"] * 20
    token_ids = [tokenizer(review)["input_ids"] for review in reviews]
    rows = []
    for _ in range(2):
        torch.manual_seed(0)
        model = model_for(tokenizer)
        share = train_word2vec_embeddings(model, tokenizer, token_ids, epochs=2, seed=7)
        rows.append(model.get_input_embeddings().weight.detach().clone())
    assert torch.equal(rows[0], rows[1])  # same seed, same vectors
    torch.manual_seed(0)
    untouched = model_for(tokenizer).get_input_embeddings().weight.detach()
    seen = {token for ids in token_ids for token in ids} - {tokenizer.unk_token_id}
    changed = {i for i in range(len(vocabulary)) if not torch.equal(rows[0][i], untouched[i])}
    assert len(seen) >= 4 and changed == seen
    assert share == pytest.approx(len(changed) / (len(vocabulary) - 2)) and torch.all(rows[0][0] == 0)


def test_word2vec_streams_a_dataset_and_learns_what_a_list_of_sentences_learns(tokenizer):
    import datasets
    from gensim.models import Word2Vec

    from hf_lstm.embeddings import TokenSentences, stable_hash

    reviews = ["a great film", "a great great film", "a bad film", "a bad boring film"] * 700  # several batches
    token_ids = [tokenizer(review)["input_ids"] for review in reviews]
    streamed = TokenSentences(datasets.Dataset.from_dict({"input_ids": token_ids}))
    assert list(streamed) == list(streamed) == [[str(token) for token in ids] for ids in token_ids]  # re-iterable
    torch.manual_seed(0)
    model = model_for(tokenizer)
    train_word2vec_embeddings(model, tokenizer, datasets.Dataset.from_dict({"input_ids": token_ids}), epochs=2, seed=7)
    # the vectors a list of all sentences in memory gives (how they were learned before streaming)
    in_memory = Word2Vec([[str(token) for token in ids] for ids in token_ids], vector_size=3, window=5, min_count=1,
                         sg=0, workers=1, epochs=2, seed=7, hashfxn=stable_hash).wv
    great = tokenizer.get_vocab()["great"]
    assert torch.equal(model.get_input_embeddings().weight[great].detach(), torch.from_numpy(in_memory[str(great)]))
