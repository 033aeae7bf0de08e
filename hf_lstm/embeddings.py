"""Initialise the embedding from word2vec vectors learned on the training split itself (and unlabelled reviews)."""

import zlib

import torch
from gensim.models import Word2Vec


def stable_hash(text):
    """gensim seeds each word's starting vector with this hash; Python's own `hash` changes from process to process."""
    return zlib.crc32(text.encode("utf-8"))


class TokenSentences:
    """Encoded reviews as word2vec sentences (ids as strings), made afresh on every pass over them.

    gensim reads the corpus once for its vocabulary and once per epoch. A list of sentences would hold every token of
    the corpus as a Python string at once (about 18 GB for 3.6 million reviews); this holds one batch. `token_ids`:
    a `datasets.Dataset` with an `input_ids` column (read 1,000 rows at a time) or any re-iterable of id lists."""

    def __init__(self, token_ids):
        self.token_ids = token_ids

    def __iter__(self):
        if hasattr(self.token_ids, "iter"):  # a Dataset: batches of rows
            for batch in self.token_ids.select_columns(["input_ids"]).iter(batch_size=1000):
                yield from ([str(token) for token in ids] for ids in batch["input_ids"])
        else:
            yield from ([str(token) for token in ids] for ids in self.token_ids)


def train_word2vec_embeddings(model, tokenizer, token_ids, epochs, seed=42):
    """Learn word2vec (CBOW, window 5) vectors on `token_ids` (the training split's
    encoded reviews: a `Dataset` with `input_ids`, or lists of ids) and copy them into the model's embedding rows.
    One worker thread and a stable hash make it reproducible. Returns the share of the non-special vocabulary that
    got a vector."""
    embedding = model.get_input_embeddings()
    vectors = Word2Vec(
        TokenSentences(token_ids), vector_size=embedding.embedding_dim, window=5, min_count=1, sg=0, workers=1,
        epochs=epochs, seed=seed, hashfxn=stable_hash,
    ).wv
    special = {tokenizer.pad_token_id, tokenizer.unk_token_id}
    learned = [int(key) for key in vectors.index_to_key if int(key) not in special]
    with torch.no_grad():
        for index in learned:
            embedding.weight[index] = torch.from_numpy(vectors[str(index)].copy())
    return len(learned) / max(1, len(tokenizer) - len(special))
