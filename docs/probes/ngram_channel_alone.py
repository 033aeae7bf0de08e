"""The n-gram channel on its own (no LSTM), on a config's training and validation splits: which orders and how many
hashed buckets a bag of hashed n-grams of the model's own token ids wants, and how to fit it. Either fitted as NBSVM
(`--fit`: `hf_lstm.baseline.fit_ngram_channel`, what a training run does), or trained by gradient as the LSTM is
(AdamW, the config's batch size, epochs and warmup, linear decay; learning rates and weight decays given). Prints
one JSON line per setting: validation accuracy (and training accuracy after each epoch), and with `--collisions` the
share of the training split's distinct n-grams that share a bucket with another. The test split is not read.

    python docs/probes/ngram_channel_alone.py configs/imdb.yaml --fit --orders 1,2,3 --buckets 262144 1048576 4194304
    python docs/probes/ngram_channel_alone.py configs/imdb.yaml --orders 1,2,3 --learning_rates 0.002 0.05 0.2 1.0
"""

import argparse
import itertools
import json
import logging
import time

import numpy as np
import torch
from transformers import get_linear_schedule_with_warmup

from hf_lstm.arguments import parse_arguments
from hf_lstm.baseline import fit_ngram_channel
from hf_lstm.configuration_lstm import LSTMConfig
from hf_lstm.data import prepare_data
from hf_lstm.modeling_lstm import NgramChannel, hashed_ngrams


def batches(dataset, size, shuffle_seed=None):
    """(input_ids (batch, time) right-padded with 0, lengths (batch,), labels (batch,)) over `dataset`."""
    order = np.arange(len(dataset))
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(order)
    for start in range(0, len(order), size):
        rows = dataset[order[start : start + size]]
        lengths = torch.tensor([len(ids) for ids in rows["input_ids"]])
        ids = torch.zeros(len(lengths), int(lengths.max()), dtype=torch.long)
        for i, row in enumerate(rows["input_ids"]):
            ids[i, : len(row)] = torch.tensor(row)
        yield ids, lengths.clamp(min=1), torch.tensor(rows["labels"])


@torch.no_grad()
def accuracy(channel, bias, dataset):
    right = 0
    for ids, lengths, labels in batches(dataset, 512):
        right += int(((channel(ids, lengths) + bias).argmax(-1) == labels).sum())
    return right / len(dataset)


def shared_buckets(dataset, orders, buckets):
    """The share of the distinct n-grams of `dataset` whose bucket holds another distinct n-gram."""
    grams = set()
    for row in dataset["input_ids"]:
        for order in orders:
            grams.update(tuple(row[i : i + order]) for i in range(len(row) - order + 1))
    grams = list(grams)
    ids = torch.zeros(len(grams), max(orders), dtype=torch.long)
    lengths = torch.tensor([len(gram) for gram in grams])
    for i, gram in enumerate(grams):
        ids[i, : len(gram)] = torch.tensor(gram)
    found = []
    for order in orders:  # the bucket of each gram of this order: its hash at position 0
        rows = (lengths == order).nonzero().squeeze(1)
        found.append(hashed_ngrams(ids[rows], lengths[rows], [order], buckets)[0][:, 0])
    _, counts = torch.unique(torch.cat(found), return_counts=True)
    return len(grams), float((counts[counts > 1]).sum()) / len(grams)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("--orders", nargs="+", default=["1,2,3"], help="Comma-separated orders, one set per value.")
    parser.add_argument("--buckets", nargs="+", type=int, default=[2**22])
    parser.add_argument("--learning_rates", nargs="+", type=float, default=[2e-3])
    parser.add_argument("--weight_decays", nargs="+", type=float, default=[None])
    parser.add_argument("--epochs", type=int, default=None, help="Default: the config's.")
    parser.add_argument("--collisions", action="store_true", help="Also count the n-grams that share a bucket.")
    parser.add_argument("--fit", action="store_true", help="Fit as NBSVM (C chosen on validation).")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    _, data_args, training_args = parse_arguments([args.config, "--output_dir", "unused"])
    splits, _, names = prepare_data(data_args)
    train, validation = splits["train"], splits["validation"]
    epochs = args.epochs or int(training_args.num_train_epochs)
    if args.fit:
        for orders, buckets in itertools.product(args.orders, args.buckets):
            orders = [int(order) for order in orders.split(",")]
            config = LSTMConfig(ngram_orders=orders, ngram_buckets=buckets, num_labels=len(names),
                                truncation=data_args.truncation, max_tokens=data_args.max_length)
            holder = torch.nn.Module()
            holder.config, holder.ngrams = config, NgramChannel(config)
            started = time.time()
            record = {"orders": orders, "buckets": buckets, **fit_ngram_channel(holder, splits),
                      "seconds": round(time.time() - started, 1)}
            if args.collisions:
                record["distinct_ngrams"], record["shared_bucket_share"] = shared_buckets(train, orders, buckets)
            print(json.dumps(record), flush=True)
        return
    for orders, buckets, rate, decay in itertools.product(args.orders, args.buckets, args.learning_rates,
                                                          args.weight_decays):
        orders = [int(order) for order in orders.split(",")]
        torch.manual_seed(training_args.seed)
        channel = NgramChannel(LSTMConfig(ngram_orders=orders, ngram_buckets=buckets, num_labels=len(names)))
        bias = torch.nn.Parameter(torch.zeros(len(names)))
        decay = training_args.weight_decay if decay is None else decay
        optimizer = torch.optim.AdamW([{"params": [channel.weight], "weight_decay": decay},
                                       {"params": [bias], "weight_decay": 0.0}], lr=rate)
        steps = epochs * -(-len(train) // training_args.per_device_train_batch_size)
        schedule = get_linear_schedule_with_warmup(optimizer, training_args.get_warmup_steps(steps), steps)
        started, record = time.time(), {"orders": orders, "buckets": buckets, "learning_rate": rate,
                                        "weight_decay": decay, "epochs": []}
        for epoch in range(epochs):
            for ids, lengths, labels in batches(train, training_args.per_device_train_batch_size,
                                                training_args.seed + epoch):
                loss = torch.nn.functional.cross_entropy(channel(ids, lengths) + bias, labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
            record["epochs"].append({"validation": accuracy(channel, bias, validation),
                                     "train": accuracy(channel, bias, train)})
        record["seconds"] = round(time.time() - started, 1)
        if args.collisions:
            record["distinct_ngrams"], record["shared_bucket_share"] = shared_buckets(train, orders, buckets)
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
