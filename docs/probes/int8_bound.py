"""int8 dynamic against float32 on the matrix products an LSTM is made of: about the most int8 inference can gain.
PyTorch's dynamic-quantised `Linear` (activations quantised at each call, as in the quantised LSTM) on four products,
then ONNX Runtime's dynamic-quantised product (`MatMulInteger`, as `DynamicQuantizeLSTM` runs at every step) on one
time step of the default model's hidden-to-gates product, [64 x 256] @ [256 x 1,024].

    python docs/probes/int8_bound.py

(Until 2026-12-08 `scripts/benchmark.py` also measured the last two figures, as `int8_matmul_speedup` and
`onnx_int8_matmul_speedup`; docs/benchmarks/*.json files written before then hold them.)
"""
import os
import tempfile
import time

import numpy as np
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


def onnx_runtime_ratio(rows=64, hidden=256, gates=1024, calls=200):
    """ONNX Runtime's int8 dynamic-quantised product over its float32 `MatMul`, 2 threads."""
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    weight = np.random.default_rng(0).standard_normal((hidden, gates)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "product",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, gates])],
        initializer=[numpy_helper.from_array(weight, "w")],
    )
    feed = {"x": np.random.default_rng(1).standard_normal((rows, hidden)).astype(np.float32)}
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
    with tempfile.TemporaryDirectory() as folder:
        fp32_path, int8_path = os.path.join(folder, "fp32.onnx"), os.path.join(folder, "int8.onnx")
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), fp32_path)
        quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8)
        rates = {}
        for name, path in (("fp32", fp32_path), ("int8", int8_path)):
            runtime = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            rates[name] = rate(lambda: [runtime.run(None, feed) for _ in range(calls)], 2 * rows * hidden * gates * calls)
    return rates["int8"] / rates["fp32"]


print(f"ONNX Runtime, [64 x 256] @ [256 x 1024]: int8 / float32 {onnx_runtime_ratio():.2f}")
