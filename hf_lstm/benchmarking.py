"""Measuring speed and memory: peak resident memory of a block, the best rate of repeated work, and the machine's
own ceiling (a large matrix multiply's GFLOP/s). `scripts/benchmark.py` reports them; the model's FLOPs per token
are `LSTMPreTrainedModel.recurrent_flops_per_token`."""

import threading
import time

import psutil
import torch


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
