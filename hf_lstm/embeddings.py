"""Initialise the embedding from a local word-vector text file (GloVe, or word2vec's text format), or from word2vec
vectors learned on the training split itself."""

import zlib

import numpy as np
import torch
from gensim.models import Word2Vec


def read_word_vectors(path, vocabulary, dimension):
    """Vectors of the words of `vocabulary` ({word: id}) found in a text file of `word v1 ... vD` lines.

    A word2vec header line (`count dimension`) is skipped. Returns {id: vector}; a line whose size is not
    `dimension` is an error naming the file and the line.
    """
    found = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip().split(" ")
            if number == 1 and len(parts) == 2 and all(part.isdigit() for part in parts):
                continue  # word2vec header
            if len(parts) < 2:
                continue
            if len(parts) - 1 != dimension:
                raise ValueError(
                    f"{path}, line {number}: {len(parts) - 1} numbers, but embedding_dim is {dimension}"
                )
            index = vocabulary.get(parts[0])
            if index is not None and index not in found:
                try:
                    found[index] = np.asarray(parts[1:], dtype=np.float32)
                except ValueError as error:
                    raise ValueError(f"{path}, line {number}: not a vector of numbers") from error
    return found


def load_pretrained_embeddings(model, tokenizer, path, freeze=False):
    """Copy the vectors of `path` into the model's embedding rows; returns the share of the vocabulary found."""
    embedding = model.get_input_embeddings()
    special = {tokenizer.pad_token_id, tokenizer.unk_token_id}
    vocabulary = {word: index for word, index in tokenizer.get_vocab().items() if index not in special}
    found = read_word_vectors(path, vocabulary, embedding.embedding_dim)
    with torch.no_grad():
        for index, vector in found.items():
            embedding.weight[index] = torch.from_numpy(vector)
    embedding.weight.requires_grad = not freeze
    return len(found) / max(1, len(vocabulary))


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
