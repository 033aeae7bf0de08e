import json
import subprocess
import sys

KEYS = ["tokenizer_speedup_vs_spacy", "pad_share", "train_flops_ratio", "int8_speedup", "int8_accuracy_drop",
        "train_peak_rss_mib", "inference_peak_rss_mib", "train_real_tokens_per_s", "fp32_reviews_per_s",
        "matmul_gflops", "onnx_fp32_speedup", "onnx_int8_speedup", "onnx_int8_accuracy_drop"]
BF16_INFERENCE_KEYS = ["bf16_speedup", "bf16_accuracy_drop"]  # timed only where bf16 is fast


def test_quick_benchmark_writes_every_key(saved_model, tmp_path):
    out = tmp_path / "benchmark.json"
    result = subprocess.run(
        [sys.executable, "scripts/benchmark.py", "--quick", "--config", "configs/tiny.yaml", "--model", str(saved_model),
         "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(out.read_text())
    for key in KEYS + (BF16_INFERENCE_KEYS if results["train_bf16"] else []):
        assert isinstance(results[key], float) and results[key] == results[key], key  # a number, not NaN
    if not results["train_bf16"]:  # emulated bf16 would take the full run 23 minutes longer on an AVX2 CPU
        assert all(results[key] is None for key in BF16_INFERENCE_KEYS)
        assert "bf16 inference not timed" in result.stdout
    assert 0 <= results["pad_share"] < 1 and results["tokenizer_speedup_vs_spacy"] > 0
    # the float32 ONNX graph gives PyTorch's logits to 1e-4: the same labels, but for a review exactly at a tie
    assert abs(results["onnx_fp32_accuracy_drop"]) <= 0.5
    assert "pad_share" in result.stdout  # the readable table
    assert results["machine"].split(",")[0].strip()  # names the CPU model, so figures from two machines differ
    if results["train_bf16"]:  # bf16 training here: float32 training is measured beside it
        assert isinstance(results["fp32_train_flops_ratio"], float) and results["bf16_matmul_gflops"] > 0


def test_tokenizer_benchmark_without_spacy_reports_no_ratio(saved_model, monkeypatch, capsys):
    from transformers import AutoTokenizer

    from hf_lstm import benchmarking as benchmark

    monkeypatch.setitem(sys.modules, "spacy", None)  # `import spacy` now raises ImportError
    results = benchmark.benchmark_tokenizer(["a good film", "a bad one"], AutoTokenizer.from_pretrained(saved_model))
    assert results["tokenizer_speedup_vs_spacy"] is None and results["tokenizer_reviews_per_s"] > 0
    assert "spaCy is not installed" in capsys.readouterr().out
