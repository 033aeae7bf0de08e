from transformers import AutoTokenizer

from hf_lstm.tokenization import train_tokenizer


def test_vocabulary_is_trained_and_unknown_words_map_to_unk(tokenizer):
    assert tokenizer.convert_ids_to_tokens([0, 1]) == ["[PAD]", "[UNK]"]
    assert tokenizer.pad_token_id == 0 and tokenizer.unk_token_id == 1
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("GREAT film<br />zyzzyva!")["input_ids"])
    assert tokens == ["great", "film", "[UNK]", "!"]  # lower-cased, <br /> removed, unseen word -> [UNK]


def test_max_vocab_size_and_min_frequency():
    texts = ["a a a b b c"] * 2
    assert len(train_tokenizer(texts, max_vocab_size=2)) == 4  # a, b + [PAD], [UNK]
    assert "c" not in train_tokenizer(texts, min_frequency=3).get_vocab()  # c is seen twice only


def test_save_and_load_with_auto_tokenizer(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    text = ["the acting is great", "awful"]
    assert loaded(text, padding=True)["input_ids"] == tokenizer(text, padding=True)["input_ids"]
    assert loaded(text, padding=True)["attention_mask"][1] == [1, 0, 0, 0]  # padded on the right
