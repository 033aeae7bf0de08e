"""What the machine runs fast: an accelerator (CUDA, MPS, XPU...), and bf16 (a GPU with bf16, or a CPU with AMX tiles)."""

import torch


def has_accelerator():
    """Whether torch sees an accelerator of any kind (`torch.accelerator`: CUDA, ROCm, Apple MPS, Intel XPU...)."""
    return torch.accelerator.is_available()


def fast_bf16_available():
    """Whether bf16 is faster than float32 here: a CUDA GPU with bf16 support, or (no accelerator) a CPU with AMX
    tiles, where oneDNN's bf16 LSTM trains about twice as fast. Elsewhere bf16 on a CPU is emulated and slow
    (prediction about 9 times slower than float32 on an AVX2 CPU: docs/performance.md); other accelerators keep
    float32 unless asked."""
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    if has_accelerator():
        return False
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(amx and amx())
