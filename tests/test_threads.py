import numpy as np
import threadpoolctl

from agnostic_xai import wrap
from agnostic_xai._threads import blas_single_threaded


def blas_threads():
    return [info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]


def test_blas_is_single_threaded_inside_and_restored_after():
    before = blas_threads()
    with blas_single_threaded():
        assert all(n == 1 for n in blas_threads())
        with blas_single_threaded():  # re-entrant
            assert all(n == 1 for n in blas_threads())
        assert all(n == 1 for n in blas_threads())
    assert blas_threads() == before


def test_prediction_leaves_the_callers_thread_settings_alone():
    before = blas_threads()
    seen = []

    def model(X):
        seen.append(blas_threads())
        return X.sum(axis=1)

    wrap(model).predict(np.ones((3, 2)))
    assert all(n == 1 for n in seen[0])
    assert blas_threads() == before
