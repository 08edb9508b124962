"""irrepro.precision: what each setting means on a CPU, and the process's inference default."""

import pytest
import torch

from irrepro import precision as amp


@pytest.fixture(autouse=True)
def restore_process_precision():
    before = amp.current()
    yield
    amp.use(before)


def test_auto_on_a_cpu_is_bf16_exactly_where_it_has_bf16_instructions(monkeypatch):
    for native, expected in ((True, torch.bfloat16), (False, None)):
        monkeypatch.setattr(amp, "cpu_has_native_bf16", lambda native=native: native)
        assert amp.autocast_dtype("auto", "cpu") is expected


def test_explicit_settings_on_a_cpu():
    assert amp.autocast_dtype("fp32", "cpu") is None
    assert amp.autocast_dtype("bf16", "cpu") is torch.bfloat16
    assert amp.autocast_dtype("fp16", "cpu") is None  # CUDA only: fp32, said in the log
    with pytest.raises(ValueError, match="precision must be auto, fp32, fp16, bf16, not 'fp8'"):
        amp.autocast_dtype("fp8", "cpu")


def test_library_calls_are_exact_until_a_job_sets_its_precision():
    assert amp.current() == "fp32" and amp.describe(None, "cpu") == "fp32"
    amp.use("bf16")
    assert amp.describe(None, "cpu") == "bfloat16"
    with amp.autocast("cpu"):
        assert (torch.ones(4, 4) @ torch.ones(4, 4)).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="precision"):
        amp.use("half")
