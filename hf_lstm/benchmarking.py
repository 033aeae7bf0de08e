"""What `scripts/benchmark.py` measures, in one run: tokenisation, training and inference speed and peak memory, and
the machine's own ceilings (a large matrix multiply's GFLOP/s; the int8 against the float32 product); the model's
FLOPs per token are `LSTMPreTrainedModel.recurrent_flops_per_token`."""

import json
import os
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
from .prediction import load_classifier, predict, quantize_int8
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


def gate_rows(config):
    """Rows of a cell's hidden-to-gates matrix: gates x hidden (4 for an LSTM, 3 for a GRU, 1 for an RNN)."""
    return getattr(torch.nn, config.cell_type.upper())(1, config.hidden_size).weight_hh_l0.shape[0]


class CountingCollator(DataCollatorWithPadding):
    """Pads like the training collator, and counts real and padded positions."""

    real = padded = 0

    def __call__(self, features):
        batch = super().__call__(features)
        self.real += int(batch["attention_mask"].sum())
        self.padded += batch["attention_mask"].numel()
        return batch


def int8_matmul_speedup(config, rows=64, calls=200):
    """The CPU's int8 dynamic-quantised linear layer (activations quantised at each call, as in the quantised LSTM)
    over its float32 one, on the hidden-to-gates product of one time step: [rows, H] @ [H, gates * H]. Nearly all of
    an LSTM's inference work is such products, so int8 inference gains about this ratio at most."""
    hidden = config.hidden_size
    x = torch.randn(rows, hidden)
    fp32 = torch.nn.Sequential(torch.nn.Linear(hidden, gate_rows(config)))
    int8 = quantize_int8(fp32)  # what --quantize int8 does to the model's linear layers
    rates = {}
    for name, layer in (("fp32", fp32), ("int8", int8)):

        def work():
            for _ in range(calls):
                layer(x)

        with torch.no_grad():
            work()  # warm-up
            rates[name] = best_rate(calls, work, repeats=5)
    return rates["int8"] / rates["fp32"]


def onnx_int8_matmul_speedup(config, rows=64, calls=200):
    """`int8_matmul_speedup` for ONNX Runtime: its dynamic-quantised product (`MatMulInteger`, as
    `DynamicQuantizeLSTM` runs at every step) over its float32 `MatMul`, on the same [rows, H] @ [H, gates * H]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from .onnx_model import onnx_runtime

    hidden = config.hidden_size
    weight = np.random.default_rng(0).standard_normal((hidden, gate_rows(config))).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "product",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, weight.shape[1]])],
        initializer=[numpy_helper.from_array(weight, "w")],
    )
    x = {"x": np.random.default_rng(1).standard_normal((rows, hidden)).astype(np.float32)}
    with tempfile.TemporaryDirectory() as folder:
        fp32_path, int8_path = os.path.join(folder, "fp32.onnx"), os.path.join(folder, "int8.onnx")
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), fp32_path)
        quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8)
        rates = {}
        for name, path in (("fp32", fp32_path), ("int8", int8_path)):
            runtime = onnx_runtime(path)

            def work():
                for _ in range(calls):
                    runtime.run(None, x)

            work()  # warm-up
            rates[name] = best_rate(calls, work, repeats=5)
    return rates["int8"] / rates["fp32"]


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
    config = classifier.model.config  # the same network in every precision
    results["int8_matmul_speedup"] = int8_matmul_speedup(config)
    results["onnx_int8_matmul_speedup"] = onnx_int8_matmul_speedup(config)
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

