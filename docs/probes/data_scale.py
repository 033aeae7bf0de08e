"""Data preparation at the scale of Amazon polarity: time and peak memory for N synthetic labelled reviews (plus N/9
test reviews), each stage in its own process so that its peak resident memory is its own.

    python docs/probes/data_scale.py --reviews 400000 --workdir /tmp/scale
    python docs/probes/data_scale.py --reviews 3600000 --workdir /tmp/scale

Stages: `lm` prepares the language model's text (held-out texts removed by hash, vocabulary trained, blocks of 128
tokens: `prepare_data` with task language_modeling); `classifier` prepares the classifier's splits (a stratified
validation split, duplicates kept out of it, tokenized reviews) and learns one epoch of word2vec vectors on the
training split as `--word2vec_epochs` does. Reviews: words drawn from a Zipf distribution over 60,000 made-up words,
lengths log-normal around 80 words (Amazon polarity's reviews are about 75 words long).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 100_000


def write_corpus(folder, reviews, seed=0):
    """Parquet shards `train-*.parquet` (`reviews` rows) and `test-*.parquet` (reviews / 9 rows): text, label."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = np.array(["".join(rng.choice(letters, size=rng.integers(2, 10))) for _ in range(60_000)])
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.1
    weights /= weights.sum()
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", reviews), ("test", reviews // 9)):
        for shard, start in enumerate(range(0, count, CHUNK)):
            rows = min(CHUNK, count - start)
            lengths = np.clip(rng.lognormal(np.log(70), 0.6, size=rows).astype(int), 3, 1000)
            tokens = words[rng.choice(len(words), size=lengths.sum(), p=weights)]
            texts = [" ".join(review) for review in np.split(tokens, np.cumsum(lengths)[:-1])]
            table = pa.table({"text": texts, "label": rng.integers(0, 2, size=rows)})
            pq.write_table(table, folder / f"{split}-{shard:05d}.parquet")


def memory_kib(pid):
    """(peak resident memory `VmHWM`, resident private memory `RssAnon`) of a running process, in KiB. Private memory
    leaves out pages of memory-mapped files, such as the Arrow files `datasets` reads, which the kernel can drop and
    read again; (0, 0) once the process has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        return int(fields["VmHWM"].split()[0]), int(fields["RssAnon"].split()[0])
    except (FileNotFoundError, ProcessLookupError, KeyError):
        return 0, 0


def run_stage(stage, folder, cache):
    """Run one stage in this process; print its seconds."""
    from hf_lstm import LSTMConfig, LSTMForSequenceClassification
    from hf_lstm.arguments import DataArguments
    from hf_lstm.data import prepare_data
    from hf_lstm.embeddings import train_word2vec_embeddings

    started = time.perf_counter()
    if stage == "lm":
        args = DataArguments(dataset_name=str(folder), task="language_modeling", block_size=128, cache_dir=str(cache))
        prepare_data(args)
    else:
        args = DataArguments(dataset_name=str(folder), validation_split_size=0.1, max_length=400, cache_dir=str(cache))
        splits, tokenizer, _ = prepare_data(args)
        prepared = time.perf_counter() - started
        model = LSTMForSequenceClassification(LSTMConfig(vocab_size=len(tokenizer), embedding_dim=100))
        train_word2vec_embeddings(model, tokenizer, splits["train"], epochs=1)
        print(json.dumps({"prepare_s": prepared}))
    print(json.dumps({"seconds": time.perf_counter() - started}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=400_000)
    parser.add_argument("--workdir", default="/tmp/hf_lstm_scale")
    parser.add_argument("--stage", choices=["lm", "classifier"], help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    folder = Path(args.workdir) / f"corpus-{args.reviews}"
    if args.stage:
        return run_stage(args.stage, folder, Path(args.workdir) / f"cache-{args.reviews}-{args.stage}")
    if not (folder / "train-00000.parquet").exists():
        started = time.perf_counter()
        write_corpus(folder, args.reviews)
        print(f"{args.reviews:,} synthetic reviews written in {time.perf_counter() - started:.0f} s")
    for stage in ("lm", "classifier"):
        with tempfile.TemporaryFile("w+") as output:
            child = subprocess.Popen([sys.executable, __file__, "--reviews", str(args.reviews), "--workdir",
                                      args.workdir, "--stage", stage], stdout=output, stderr=subprocess.DEVNULL)
            peak, peak_private = 0, 0
            while child.poll() is None:  # sample the child's memory every 0.2 s
                high_water, private = memory_kib(child.pid)
                peak, peak_private = max(peak, high_water), max(peak_private, private)
                time.sleep(0.2)
            if child.returncode:
                raise SystemExit(f"stage {stage} failed (status {child.returncode})")
            output.seek(0)
            figures = {}
            for line in output:
                if line.startswith("{"):
                    figures.update(json.loads(line))
        print(f"{stage}: {json.dumps(figures)}, peak resident memory {peak / 2**20:.2f} GiB, of which private "
              f"(not mapped files) at most {peak_private / 2**20:.2f} GiB", flush=True)


if __name__ == "__main__":
    main()
