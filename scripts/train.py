"""Train an hf_lstm text classifier (or pretrain its language model) from a config file; any field can be overridden
on the command line.

    accelerate launch scripts/train.py configs/imdb.yaml
    accelerate launch scripts/train.py configs/imdb_lm.yaml && accelerate launch scripts/train.py configs/imdb_pretrained.yaml
    python scripts/train.py configs/tiny.yaml --output_dir /tmp/tiny --num_train_epochs 1

Fields: ModelArguments (LSTMConfig's fields), DataArguments and LSTMTrainingArguments (transformers'
TrainingArguments with the LSTM's defaults and the run's own options), all in hf_lstm/arguments.py;
`python scripts/train.py --help` lists them, grouped.
"""

from hf_lstm.training import main

if __name__ == "__main__":
    main()
