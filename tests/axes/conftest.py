"""Fixtures for the axes tests."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _flush_denormals():
    """Tiny-width networks with the study's 0.02 init carry subnormal floats (|x| < 1.2e-38) deep in
    D's double backward; x86 CPUs compute on them 50-100x slower. Flushing them to zero keeps these
    tests fast and changes no asserted value (every checked quantity is far from the subnormal range)."""
    torch.set_flush_denormal(True)
    yield
    torch.set_flush_denormal(False)
