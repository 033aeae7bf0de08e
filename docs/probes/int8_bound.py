"""int8 dynamic against float32 on the matrix products an LSTM is made of: about the most int8 inference can gain.

    python docs/probes/int8_bound.py
"""
import time
import torch

torch.set_num_threads(2)
torch.manual_seed(0)


def rate(fn, flops, repeats=5):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


for m, k, n in ((64, 512, 2048), (64, 256, 1024), (4096, 512, 2048), (16384, 512, 2048)):
    x = torch.randn(m, k)
    fp32 = torch.nn.Linear(k, n, bias=False)
    int8 = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(fp32), {torch.nn.Linear}, dtype=torch.qint8)
    inner = 20 if m <= 64 else 1

    def run(layer):
        def go():
            with torch.no_grad():
                for _ in range(inner):
                    layer(x)
        return go

    flops = 2 * m * k * n * inner
    f, q = rate(run(fp32), flops), rate(run(int8), flops)
    print(f"[{m} x {k}] @ [{k} x {n}]: float32 {f:6.1f} GFLOP/s, int8 dynamic {q:6.1f} GOP/s, ratio {q / f:.2f}")
