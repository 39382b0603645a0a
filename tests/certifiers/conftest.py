"""Fixtures shared by the certifier tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread and one BLAS thread for a whole test module: tiny products and attacks gain nothing from
    threads, and on a 2-core CI machine they lose a lot. Use with ``pytestmark = pytest.mark.usefixtures(...)``."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        yield
    torch.set_num_threads(before)
