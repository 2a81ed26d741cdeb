"""One two-worker LocalCluster shared by the distributed tests (starting one takes seconds)."""

from __future__ import annotations

import pytest

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="session")
def client():
    """A client of a LocalCluster of 2 single-threaded worker processes, closed after the tests."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()
