"""explain on Dask when workers die: the lost partition is re-run with the same values, or reported.

These tests kill worker processes, so they run on a cluster of their own, not the session's.
Its Active Memory Manager runs every 50 ms instead of every 2 s: the manager drops copies of
data that no waiting task needs, which is how objects once shared with ``client.scatter``
ended up on a single worker and were lost with it (``FutureCancelledError: already
forgotten``). Running it often makes that situation the rule here rather than a race.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest

from agnostic_xai import explain
from agnostic_xai.adapters.callable_adapter import CallableAdapter
from agnostic_xai.distributed import SharedObjectError
from agnostic_xai.explainers import get

distributed = pytest.importorskip("dask.distributed")
dask = pytest.importorskip("dask")
cloudpickle = pytest.importorskip("cloudpickle")
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # pytest's module name is not importable on workers

D = 4
N_ROWS = 96  # 12 partitions of 8 rows
KILLER_ROW = 52  # in partition [48, 56), the 7th of 12
WEIGHTS = np.array([1.0, -2.0, 0.5, 3.0])


class KillsItsWorker:
    """``f(x) = x·w``, except that evaluating the marked row kills the process running it.

    With a ``flag`` path it kills once (the first time, creating the flag); without one it
    kills every time. A flag that already exists disarms it (for the local reference run).
    """

    def __init__(self, marker: float, flag: str | None) -> None:
        self.marker = marker
        self.flag = flag

    def __call__(self, X: np.ndarray) -> np.ndarray:
        if np.any(X[:, 0] == self.marker):
            if self.flag is None:
                os._exit(1)
            if not os.path.exists(self.flag):
                open(self.flag, "w").close()
                os._exit(1)
        time.sleep(0.002)  # slow enough that the other worker is busy when one dies
        return X @ WEIGHTS


class Unloadable:
    """A model function that pickles on the client but cannot be rebuilt anywhere."""

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return X @ WEIGHTS

    def __reduce__(self):
        return (_refuse_to_load, ())


def _refuse_to_load() -> None:
    raise ImportError("no module named 'only_on_the_laptop'")


def _cluster(n_workers: int):
    with dask.config.set({"distributed.scheduler.active-memory-manager.interval": "50ms"}):
        return distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )


@pytest.fixture(scope="module")
def fragile():
    """A client of a 2-worker cluster whose workers the tests may kill (restarted by their nannies)."""
    cluster = _cluster(2)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture
def lonely():
    """A client of a 1-worker cluster: killing the worker loses every copy of everything it held."""
    cluster = _cluster(1)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(11)
    X, background = rng.normal(size=(N_ROWS, D)), rng.normal(size=(6, D))
    return X, background, float(X[KILLER_ROW, 0])


def _kwargs(background: np.ndarray) -> dict:
    # sampling_shapley is stochastic: identical values show that the re-run used the same seeds.
    explainer = get("sampling_shapley", n_permutations=6)
    return {"explainer": explainer, "background": background, "seed": 9, "row_chunk": 8, "partition_rows": 8}


def _reference(table, tmp_path):
    X, background, marker = table
    (tmp_path / "disarmed").touch()
    return explain(CallableAdapter(KillsItsWorker(marker, str(tmp_path / "disarmed"))), X, **_kwargs(background))


@pytest.mark.slow  # a worker is killed and restarted
@pytest.mark.parametrize(("cluster", "n_workers"), [("fragile", 2), ("lonely", 1)])
def test_a_killed_worker_s_partition_is_rerun_with_the_same_values(cluster, n_workers, table, tmp_path, request):
    # On "lonely" the only worker dies: the job, model and background it held must be rebuilt
    # (scattered, they were lost for good and every partition was cancelled).
    client = request.getfixturevalue(cluster)
    X, background, marker = table
    reference = _reference(table, tmp_path)
    client.wait_for_workers(n_workers)
    flag = tmp_path / "died"
    model = CallableAdapter(KillsItsWorker(marker, str(flag)))
    result = explain(model, X, backend="dask", client=client, **_kwargs(background))
    assert flag.exists()  # a worker did die, mid-run
    assert result.ok, result.summary()
    assert result.n_rows == result.n_explained == N_ROWS and result.n_partitions == 12
    np.testing.assert_array_equal(result.row_ids, np.arange(N_ROWS))
    np.testing.assert_array_equal(result.attribution.values, reference.attribution.values)
    np.testing.assert_array_equal(result.attribution.base_values, reference.attribution.base_values)


@pytest.mark.slow  # a worker is killed and restarted
def test_a_partition_that_keeps_killing_workers_is_reported_with_its_rows(fragile, table, tmp_path):
    X, background, marker = table
    reference = _reference(table, tmp_path)
    fragile.wait_for_workers(2)
    before = fragile.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    # Give up on a task the first time its worker dies (dask's default allows 3 deaths).
    fragile.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 0))
    try:
        model = CallableAdapter(KillsItsWorker(marker, None))
        result = explain(model, X, backend="dask", client=fragile, **_kwargs(background))
    finally:
        fragile.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", before))
    assert not result.ok and result.n_rows == N_ROWS and result.n_partitions == 12
    lost = [f for f in result.failures if f.error == "KilledWorker"]
    assert any(f.start <= 48 and f.stop >= 56 for f in lost), result.summary()
    assert f"rows {lost[0].start}-" in result.summary()
    # Tasks queued on the dying worker may be lost with it; every row is explained or reported.
    failed = sum(f.stop - f.start for f in result.failures)
    assert result.n_explained + failed == N_ROWS
    explained = np.isin(np.arange(N_ROWS), result.row_ids)
    np.testing.assert_array_equal(result.attribution.values, reference.attribution.values[explained])


def test_a_model_the_workers_cannot_rebuild_is_reported_once(client, table):
    X, background, _ = table
    with pytest.raises(SharedObjectError, match="model could not be rebuilt.*only_on_the_laptop"):
        explain(CallableAdapter(Unloadable()), X, backend="dask", client=client, **_kwargs(background))


class KillsAWorkerOnce:
    """``f(x) = x·w``; the first evaluation of the marked row in a process other than ``home`` kills it."""

    def __init__(self, marker: float, flag: str, home: int) -> None:
        self.marker, self.flag, self.home = marker, flag, home

    def __call__(self, X: np.ndarray) -> np.ndarray:
        if os.getpid() != self.home and np.any(X[:, 0] == self.marker) and not os.path.exists(self.flag):
            open(self.flag, "w").close()
            os._exit(1)
        time.sleep(0.002)
        return X @ WEIGHTS


@pytest.mark.slow  # the only worker is killed and restarted
def test_compare_on_dask_survives_losing_its_only_worker(lonely, table, tmp_path):
    """compare's shared model, rows and background are rebuilt, the lost chunk re-run: local's numbers."""
    import pandas as pd

    from agnostic_xai import compare

    X, background, marker = table
    X = X[:24]
    marker = float(X[13, 0])  # in the third of four chunks of 6 rows
    model = CallableAdapter(KillsAWorkerOnce(marker, str(tmp_path / "died"), os.getpid()))
    options = dict(
        background=background, seed=3, row_chunk=6, progress=False,
        explainers={"sampling_shapley": {"n_permutations": 6}, "exact_shapley": {}},
        metrics=["deletion_auc", "shapley_error"],
    )
    local = compare(model, X, **options)
    lonely.wait_for_workers(1)
    remote = compare(model, X, backend="dask", client=lonely, **options)
    assert (tmp_path / "died").exists()  # the worker did die, mid-run
    # Nothing failed; only exact_shapley × shapley_error is skipped (the ground truth is not
    # scored against itself).
    for result in (local, remote):
        assert list(zip(result.failures["explainer"], result.failures["metric"], result.failures["stage"])) == [
            ("exact_shapley", "shapley_error", "skipped")
        ], result.failures
    columns = ["explainer", "metric", "row", "score", "seed"]
    pd.testing.assert_frame_equal(local.table[columns], remote.table[columns], check_exact=True)
    for name, attribution in local.attributions.items():
        np.testing.assert_array_equal(attribution.values, remote.attributions[name].values)
