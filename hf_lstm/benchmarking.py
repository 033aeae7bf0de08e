"""What `scripts/benchmark.py` measures, in one run: tokenisation, training and inference speed and peak memory, and
the machine's own ceiling (a large matrix multiply's GFLOP/s); the model's FLOPs per token are
`LSTMPreTrainedModel.recurrent_flops_per_token`. (The int8 kernels' own bound: docs/probes/int8_bound.py.)"""

import json
import shutil
import tempfile
import threading
import time

import numpy as np
import psutil
import torch
from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer, TrainerCallback

from .arguments import parse_arguments
from .data import load_raw_dataset, prepare_data
from .hardware import fast_bf16_available, machine_description
from .prediction import load_classifier, predict
from .training import build_model


class PeakMemory:
    """Largest resident set size of this process while the block runs (sampled every 5 ms)."""

    def __enter__(self):
        self.peak, self.running = psutil.Process().memory_info().rss, True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        process = psutil.Process()
        while self.running:
            self.peak = max(self.peak, process.memory_info().rss)
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak_mib = self.peak / 2**20


def best_rate(count, work, repeats=3):
    """Items per second of the fastest of `repeats` runs of `work()` (as timeit does: the others met interruptions)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return count / best


def accelerator():
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def synchronize():
    """Wait for queued GPU work, so that a timer reads the work done (no-op on a CPU)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def matmul_gflops(dtype=torch.float32, repeats=10):
    """GFLOP/s of a large square matrix multiply on the device that trains (2048 on a CPU, 8192 on a GPU)."""
    device = accelerator()
    size = 8192 if device.type == "cuda" else 2048
    a, b = torch.randn(size, size, dtype=dtype, device=device), torch.randn(size, size, dtype=dtype, device=device)
    a @ b
    synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


class CountingCollator(DataCollatorWithPadding):
    """Pads like the training collator, and counts real and padded positions."""

    real = padded = 0

    def __call__(self, features):
        batch = super().__call__(features)
        self.real += int(batch["attention_mask"].sum())
        self.padded += batch["attention_mask"].numel()
        return batch


def benchmark_tokenizer(texts, tokenizer):
    backend = tokenizer.backend_tokenizer
    ours = best_rate(len(texts), lambda: backend.encode_batch(texts, add_special_tokens=False))
    try:
        import spacy
    except ImportError:
        print("spaCy is not installed: tokenizer speed measured without the spaCy comparison (pip install spacy)")
        return {"tokenizer_reviews_per_s": ours, "spacy_reviews_per_s": None, "tokenizer_speedup_vs_spacy": None}
    nlp = spacy.blank("en")
    spacy_rate = best_rate(len(texts), lambda: [[token.text for token in nlp.tokenizer(text)] for text in texts])
    return {
        "tokenizer_reviews_per_s": ours,
        "spacy_reviews_per_s": spacy_rate,
        "tokenizer_speedup_vs_spacy": ours / spacy_rate,
    }


def benchmark_training(config_path, steps, output_dir, bf16):
    """Time `steps` Trainer steps of the config's model, with bf16 autocast or in float32."""
    model_args, data_args, training_args = parse_arguments(
        [config_path, "--output_dir", output_dir, "--bf16", str(bf16)]
    )
    splits, tokenizer, names = prepare_data(data_args)
    torch.manual_seed(0)
    model = build_model(model_args, data_args, tokenizer, names)
    collator = CountingCollator(tokenizer)
    training_args.max_steps = steps + 5
    training_args.save_strategy = training_args.eval_strategy = training_args.logging_strategy = "no"
    training_args.load_best_model_at_end, training_args.disable_tqdm = False, True
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=splits["train"],
        data_collator=collator,
        processing_class=tokenizer,
    )
    timings = {}

    class Timer(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 5:
                synchronize()
                timings["start"], timings["real"], timings["padded"] = time.perf_counter(), collator.real, collator.padded

    trainer.add_callback(Timer())
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    with PeakMemory() as memory:
        trainer.train()
        synchronize()
    elapsed = time.perf_counter() - timings["start"]
    real, padded = collator.real - timings["real"], collator.padded - timings["padded"]
    lstm_gflops = real * model.recurrent_flops_per_token() / elapsed / 1e9
    results = {
        "train_real_tokens_per_s": real / elapsed,
        "pad_share": 1 - real / padded,
        "train_lstm_gflops": lstm_gflops,
        "train_peak_rss_mib": memory.peak_mib,
    }
    if torch.cuda.is_available():
        results["train_peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return results, splits


def benchmark_inference(model_dir, texts, labels, bf16):
    """fp32 and int8 prediction, and bf16 if `bf16` (where it is fast: the same decision as for training)."""
    results = {}
    precisions = [("fp32", None), ("int8", "int8")]
    if bf16:
        precisions.append(("bf16", "bf16"))
    else:  # emulated: 17.8 against 165 reviews/s for float32 on an AVX2 CPU, 23 minutes (docs/experiments.md)
        print("bf16 inference not timed: this machine has no GPU with bf16 and no CPU with AMX, where it is emulated")
        keys = ("reviews_per_s", "accuracy", "peak_rss_mib", "speedup", "accuracy_drop")
        results.update({f"bf16_{key}": None for key in keys})
    from .onnx_model import export_onnx

    onnx_dir = tempfile.mkdtemp(prefix="hf_lstm_onnx_")
    export_onnx(model_dir, onnx_dir, quantize="int8")
    precisions += [("onnx_fp32", None), ("onnx_int8", "int8")]
    for name, quantize in precisions:
        if name.startswith("onnx"):
            classifier = load_classifier(onnx_dir, quantize=quantize, batch_size=64, backend="onnx")
        else:
            classifier = load_classifier(model_dir, quantize=quantize, batch_size=64)
        predict(classifier, texts[:64])  # warm-up
        with PeakMemory() as memory:
            started = time.perf_counter()
            predictions = predict(classifier, texts)
            elapsed = time.perf_counter() - started
        label2id = classifier.model.config.label2id
        accuracy = float(np.mean([label2id[p["label"]] == label for p, label in zip(predictions, labels)]))
        results.update({f"{name}_reviews_per_s": len(texts) / elapsed, f"{name}_accuracy": accuracy,
                        f"{name}_peak_rss_mib": memory.peak_mib})
    for name, _ in precisions[1:]:
        results[f"{name}_speedup"] = results[f"{name}_reviews_per_s"] / results["fp32_reviews_per_s"]
        results[f"{name}_accuracy_drop"] = 100 * (results["fp32_accuracy"] - results[f"{name}_accuracy"])
    results["inference_peak_rss_mib"] = max(results[f"{name}_peak_rss_mib"] for name, _ in precisions)
    shutil.rmtree(onnx_dir)
    return results


def run_benchmark(args):
    """Every measurement of `scripts/benchmark.py` for `args` (its `BenchmarkArguments`), printed and returned."""
    torch.manual_seed(0)
    imdb = load_raw_dataset("data/imdb")
    texts = list(imdb["train"]["text"]) + list(imdb["test"]["text"])
    if args.quick:
        texts = texts[:: len(texts) // 2000]
    results = {"machine": machine_description(), "quick": args.quick}
    steps = 10 if args.quick else args.train_steps
    # As the config trains here (bf16 autocast where the hardware runs it fast), and in float32 for comparison.
    bf16 = fast_bf16_available()
    training, splits = benchmark_training(args.config, steps, "/tmp/hf_lstm_benchmark", bf16)
    results["train_bf16"] = bf16
    results.update(training)
    results["matmul_gflops"] = matmul_gflops()
    results["train_flops_ratio"] = results["train_lstm_gflops"] / results["matmul_gflops"]
    if bf16:
        results["bf16_matmul_gflops"] = matmul_gflops(dtype=torch.bfloat16)
        results["train_flops_ratio_vs_bf16_matmul"] = results["train_lstm_gflops"] / results["bf16_matmul_gflops"]
        fp32, _ = benchmark_training(args.config, steps, "/tmp/hf_lstm_benchmark", False)
        results.update({f"fp32_{key}": value for key, value in fp32.items() if key != "pad_share"})
        results["fp32_train_flops_ratio"] = results["fp32_train_lstm_gflops"] / results["matmul_gflops"]
    results.update(benchmark_tokenizer(texts, AutoTokenizer.from_pretrained(args.model)))
    test = splits["test"].shuffle(seed=0)
    test = test.select(range(min(500, len(test)))) if args.quick else test
    results.update(benchmark_inference(args.model, list(test["text"]), list(test["labels"]), bf16))
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value:,.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    if torch.cuda.is_available():
        print("int8 runs on the CPU (quantised kernels are CPU kernels); fp32 and bf16 inference run on the GPU")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return results

