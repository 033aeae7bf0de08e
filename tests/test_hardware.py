import pytest
import torch

from hf_lstm import hardware


@pytest.fixture
def cpu_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: False)


@pytest.mark.parametrize("amx", [False, True])
def test_on_a_cpu_bf16_is_fast_only_with_amx_tiles(cpu_only, monkeypatch, amx):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert hardware.has_accelerator() is False
    assert hardware.fast_bf16_available() is amx


def test_a_torch_without_the_amx_probe_counts_as_no_amx(cpu_only, monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported")
    assert hardware.fast_bf16_available() is False


@pytest.mark.parametrize("bf16_supported", [False, True])
def test_on_a_gpu_bf16_is_fast_where_the_gpu_supports_it(monkeypatch, bf16_supported):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16_supported)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)  # the CPU does not decide on a GPU machine
    assert hardware.has_accelerator() is True
    assert hardware.fast_bf16_available() is bf16_supported


def test_an_apple_gpu_counts_as_an_accelerator_and_keeps_float32(cpu_only, monkeypatch):
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: True)  # what torch reports on a Mac with MPS
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    assert hardware.has_accelerator() is True  # so training does not default to use_cpu
    assert hardware.fast_bf16_available() is False


@pytest.fixture
def two_cores(cpu_only, monkeypatch):
    monkeypatch.setattr(hardware.os, "sched_getaffinity", lambda pid: {0, 1})
    for name in ("OMP_NUM_THREADS", "ACCELERATE_DYNAMO_BACKEND", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)


def launched_by_accelerate(monkeypatch, user_environment):
    """What `accelerate launch` gives its process: OMP_NUM_THREADS=1 over the user's environment."""
    monkeypatch.setenv("ACCELERATE_DYNAMO_BACKEND", "no")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(hardware, "_launcher_environment", lambda: user_environment)


def test_a_single_process_on_a_cpu_only_machine_uses_every_core(two_cores):
    assert hardware.cpu_threads() == 2


def test_the_launchers_one_thread_is_not_the_users_setting(two_cores, monkeypatch):
    launched_by_accelerate(monkeypatch, {"PATH": "/usr/bin"})
    assert hardware.user_thread_setting() is None
    assert hardware.cpu_threads() == 2  # accelerate's OMP_NUM_THREADS=1 would run one core of two


def test_a_thread_count_the_user_exported_wins_under_the_launcher_too(two_cores, monkeypatch):
    launched_by_accelerate(monkeypatch, {"OMP_NUM_THREADS": "1"})
    assert hardware.cpu_threads() == 1
    monkeypatch.setattr(hardware, "_launcher_environment", lambda: None)  # started with python
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert hardware.cpu_threads() == 3


def test_the_option_wins_over_everything(two_cores, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert hardware.cpu_threads(requested=4) == 4


def test_local_processes_share_the_cores(two_cores, monkeypatch):
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert hardware.cpu_threads() == 1


def test_the_launchers_environment_is_read_from_its_process(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCELERATE_DYNAMO_BACKEND", "no")
    environment = hardware._launcher_environment()  # this test's parent process: whatever started pytest
    assert environment is not None and "PATH" in environment
    monkeypatch.delenv("ACCELERATE_DYNAMO_BACKEND")
    assert hardware._launcher_environment() is None


def test_cpu_with_several_processes_is_refused_with_the_command_that_works(monkeypatch):
    for name in ("WORLD_SIZE", "RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")  # what `accelerate launch --cpu --num_processes 2` leaves
    monkeypatch.setenv("ACCELERATE_USE_CPU", "true")
    assert "--multi_gpu --num_processes N" in hardware.launch_problem()
    monkeypatch.setenv("WORLD_SIZE", "2")  # a real multi-process launch
    assert hardware.launch_problem() is None
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.delenv("MASTER_ADDR")  # one process, no rendezvous asked
    assert hardware.launch_problem() is None
