"""What the machine runs fast: an accelerator (CUDA, MPS, XPU...), bf16 (a GPU with bf16, or a CPU with AMX tiles),
and how many CPU threads a process should use."""

import os
import platform
from pathlib import Path

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


def _launcher_environment():
    """The environment the user started `accelerate launch` with (its process's initial environment), or None when
    this process was not started by accelerate's launcher or that environment cannot be read (not Linux)."""
    if "ACCELERATE_DYNAMO_BACKEND" not in os.environ:  # set by `accelerate launch` for the processes it starts
        return None
    try:
        raw = Path(f"/proc/{os.getppid()}/environ").read_bytes()
    except OSError:
        return None
    pairs = (entry.split(b"=", 1) for entry in raw.split(b"\0") if b"=" in entry)
    return {key.decode(errors="replace"): value.decode(errors="replace") for key, value in pairs}


def user_thread_setting():
    """The `OMP_NUM_THREADS` the user exported, or None. `accelerate launch` sets `OMP_NUM_THREADS=1` for the
    processes it starts unless told `--cpu`; a value the launcher put there is not the user's."""
    launcher = _launcher_environment()
    value = os.environ.get("OMP_NUM_THREADS") if launcher is None else launcher.get("OMP_NUM_THREADS")
    try:
        return int(value) if value and int(value) > 0 else None
    except ValueError:
        return None


def cpu_threads(requested=None):
    """How many threads torch should run in this process: `requested` (the `--cpu_threads` option) if given, else
    the `OMP_NUM_THREADS` the user exported, else (with no accelerator) this machine's cores divided among the local
    processes (`LOCAL_WORLD_SIZE`); with an accelerator, torch's own setting (the CPU only feeds it)."""
    if requested:
        return requested
    exported = user_thread_setting()
    if exported:
        return exported
    if has_accelerator():
        return torch.get_num_threads()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))


def launch_problem():
    """Why this process's launch cannot run what was asked, or None. `accelerate launch --cpu --num_processes N`
    starts a single process (`--cpu` picks accelerate's one-process launcher), although it sets up the rendezvous
    address for N."""
    several = "MASTER_ADDR" in os.environ and "WORLD_SIZE" not in os.environ and "RANK" not in os.environ
    if several and os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("true", "1"):
        return (
            "`accelerate launch --cpu --num_processes N` starts one process, not N; for N processes on the CPU use "
            "`accelerate launch --multi_gpu --num_processes N scripts/train.py ...` (with no accelerator it runs DDP "
            "over gloo, the cores shared among the processes), or drop --num_processes for one process on every core"
        )
    return None


def cpu_model():
    """The CPU's model name as Linux reports it (/proc/cpuinfo), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else platform.processor() or platform.machine()


def machine_description():
    """The GPU (if any), the CPU model, its cores, the torch version and threads: named beside every figure."""
    cpu = f"{cpu_model()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads"
    return f"{torch.cuda.get_device_name()}, {cpu}" if torch.cuda.is_available() else cpu
