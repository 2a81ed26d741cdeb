from dataclasses import replace

import numpy as np
import pytest

from agnostic_xai import Attribution, FeatureGroups, wrap
from agnostic_xai.exceptions import InvalidInputError
from agnostic_xai.testing import exact_shapley


def make_record(rng, n=4, d=3, **overrides):
    fields = dict(
        values=rng.normal(size=(n, d)),
        base_values=rng.normal(size=n),
        data=rng.normal(size=(n, d)),
        target=np.zeros(n, dtype=int),
        feature_names=[f"f{i}" for i in range(d)],
        method="test",
        params={"n_steps": 3, "baseline": np.arange(d, dtype=float), "rule": "trapezoid"},
        output="logit",
        seconds=0.25,
        model_rows=123,
        extras={"delta": rng.normal(size=n), "fidelity": 0.97, "note": "ok"},
    )
    fields.update(overrides)
    return Attribution(**fields)


def test_save_load_round_trips_bit_for_bit(rng, tmp_path):
    record = make_record(rng, groups=None)
    path = tmp_path / "a.npz"
    record.save(path)
    loaded = Attribution.load(path)
    for name in ("values", "base_values", "data", "target"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(record, name))
        assert getattr(loaded, name).dtype == getattr(record, name).dtype
    np.testing.assert_array_equal(loaded.extras["delta"], record.extras["delta"])
    np.testing.assert_array_equal(loaded.params["baseline"], record.params["baseline"])
    assert loaded.extras["fidelity"] == 0.97 and loaded.extras["note"] == "ok"
    assert (loaded.feature_names, loaded.method, loaded.output) == (record.feature_names, "test", "logit")
    assert (loaded.seconds, loaded.model_rows) == (0.25, 123)


def test_save_load_through_a_file_object(rng):
    import io

    record = make_record(rng, groups=None)
    buffer = io.BytesIO()
    record.save(buffer)
    buffer.seek(0)
    loaded = Attribution.load(buffer)
    np.testing.assert_array_equal(loaded.values, record.values)
    assert loaded.extras["note"] == "ok"


def test_groups_round_trip(rng, tmp_path):
    groups = FeatureGroups.from_prefixes(["a_1", "a_2", "b"])
    record = make_record(rng, values=rng.normal(size=(4, 2)), feature_names=groups.names, groups=groups)
    record.save(tmp_path / "g.npz")
    assert Attribution.load(tmp_path / "g.npz").groups == groups


def test_load_never_unpickles(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, header=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        Attribution.load(path)


def test_record_is_frozen_and_copies_its_inputs(rng):
    values = rng.normal(size=(2, 3))
    record = make_record(rng, n=2, values=values)
    values[0, 0] = 99.0
    assert record.values[0, 0] != 99.0
    with pytest.raises(ValueError):
        record.values[0, 0] = 1.0
    with pytest.raises(AttributeError):
        record.method = "other"


def test_slicing_keeps_per_row_extras_aligned(rng):
    record = make_record(rng, n=5)
    part = record[1:3]
    assert part.n_rows == 2
    np.testing.assert_array_equal(part.values, record.values[1:3])
    np.testing.assert_array_equal(part.extras["delta"], record.extras["delta"][1:3])
    assert part.extras["fidelity"] == 0.97
    assert record[4].n_rows == 1
    mask = np.array([True, False, True, False, False])
    np.testing.assert_array_equal(record[mask].base_values, record.base_values[[0, 2]])


def test_shape_mismatches_are_refused(rng):
    with pytest.raises(InvalidInputError, match="base_values has 3 rows"):
        make_record(rng, base_values=np.zeros(3))
    with pytest.raises(InvalidInputError, match="feature names"):
        make_record(rng, feature_names=["a", "b"])
    with pytest.raises(InvalidInputError, match="no groups"):
        make_record(rng, data=np.zeros((4, 5)))


def test_additivity_gap_and_to_frame(linear_setup):
    model, weights, X, background = linear_setup
    adapter = wrap(model)
    record = exact_shapley(adapter, X, background)
    assert record.additivity_gap(adapter).max() < 1e-12
    frame = record.to_frame()
    assert len(frame) == X.shape[0] * X.shape[1]
    first = frame[frame.row == 0]
    np.testing.assert_allclose(first.value, record.values[0])
    np.testing.assert_allclose(first.feature_value, X[0])


def test_concatenate_joins_row_chunks_in_order(rng):
    record = make_record(rng, n=7, extras={"delta": rng.normal(size=7), "standard_error": rng.normal(size=(7, 3)),
                                           "n_permutations": 8, "budget": np.arange(3.0), "note": "ok"})
    parts = [record[0:3], record[3:6], record[6:7]]
    parts = [replace(part, seconds=0.5, model_rows=10 + i) for i, part in enumerate(parts)]
    joined = Attribution.concatenate(parts)
    for name in ("values", "base_values", "data", "target"):
        np.testing.assert_array_equal(getattr(joined, name), getattr(record, name))
    np.testing.assert_array_equal(joined.extras["delta"], record.extras["delta"])
    np.testing.assert_array_equal(joined.extras["standard_error"], record.extras["standard_error"])
    # Extras that are not per row are kept when every chunk holds the same value.
    assert joined.extras["n_permutations"] == 8 and joined.extras["note"] == "ok"
    np.testing.assert_array_equal(joined.extras["budget"], np.arange(3.0))
    assert (joined.seconds, joined.model_rows) == (1.5, 33)
    assert (joined.method, joined.output, joined.feature_names) == (record.method, record.output, record.feature_names)
    assert joined.params is not parts[0].params and joined.params.keys() == record.params.keys()
    assert Attribution.concatenate([record]) is record


def test_concatenate_drops_extras_that_differ_and_refuses_mismatched_records(rng):
    a, b = make_record(rng, n=2), make_record(rng, n=3)
    b = replace(b, extras={**b.extras, "fidelity": 0.5})
    joined = Attribution.concatenate([a, b])
    assert "fidelity" not in joined.extras and joined.extras["delta"].shape == (5,)
    assert joined.n_rows == 5
    with pytest.raises(InvalidInputError, match="at least one"):
        Attribution.concatenate([])
    with pytest.raises(InvalidInputError, match="takes Attributions"):
        Attribution.concatenate([a, "b"])
    with pytest.raises(InvalidInputError, match="same method"):
        Attribution.concatenate([a, replace(b, method="other")])
    with pytest.raises(InvalidInputError, match="same method, output"):
        Attribution.concatenate([a, replace(b, output="probability")])
    groups = FeatureGroups.from_prefixes(["a_1", "a_2", "b"])
    grouped = make_record(rng, n=2, values=rng.normal(size=(2, 2)), feature_names=groups.names, groups=groups)
    with pytest.raises(InvalidInputError, match="same method"):
        Attribution.concatenate([a, grouped])
