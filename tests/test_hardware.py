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
