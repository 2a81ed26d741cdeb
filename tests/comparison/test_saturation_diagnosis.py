"""The saturation warning names the cause: unscaled inputs or a probability head (raw logits: test_hostile_inputs)."""

import numpy as np
import pytest
import torch
from torch import nn

from agnostic_xai import compare, wrap
from agnostic_xai.comparison.diagnostics_saturation import out_of_range_columns
from agnostic_xai.exceptions import SaturationWarning

FAST = {"explainers": ["feature_ablation"], "metrics": ["sparseness"], "progress": False}


def minmax_table(n=60, seed=0):
    """MinMax-scaled rows: an amount (0 in half the rows), a duration, a binary flag, a one-hot pair."""
    rng = np.random.default_rng(seed)
    amount = np.where(rng.random(n) < 0.5, 0.0, rng.lognormal(8, 1, n))
    duration = rng.integers(1, 72, n).astype(float)
    flag = (rng.random(n) < 0.3).astype(float)
    level = rng.integers(0, 2, n)
    raw = np.column_stack([amount, duration, flag, level == 0, level == 1]).astype(float)
    low, high = raw.min(axis=0), raw.max(axis=0)
    return raw, (raw - low) / (high - low)


def scaled_model(softmax):
    """A classifier made for [0, 1] inputs, with moderate logits there (no saturation on scaled rows)."""
    torch.manual_seed(0)
    layers = [nn.Linear(5, 2).double()]
    with torch.no_grad():
        layers[0].weight.copy_(torch.tensor([[2.0, -1.5, 1.0, 0.5, -0.5], [-2.0, 1.5, -1.0, -0.5, 0.5]]))
        layers[0].bias.zero_()
    return nn.Sequential(*layers, *([nn.Softmax(dim=1)] if softmax else []))


def test_unscaled_rows_against_a_scaled_background_are_diagnosed():
    raw, scaled = minmax_table()
    adapter = wrap(scaled_model(softmax=True), feature_names=["amount", "duration", "flag", "level_a", "level_b"])
    with pytest.warns(SaturationWarning, match=r"look unscaled") as caught:
        comparison = compare(adapter, raw[:30], background=scaled[30:], **FAST)
    message = str(caught[0].message)
    assert comparison.config["saturated_share"] >= 0.5
    assert "amount" in message and "duration" in message
    assert "flag" not in message and "level_a" not in message  # binary and one-hot columns are in range
    assert "output='logit'" not in message  # log-odds would not cure unscaled inputs
    compare(adapter, scaled[:30], background=scaled[30:], **FAST)  # scaled rows: no warning (warnings are errors)


def test_a_probability_head_is_not_told_to_explain_logits():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 5))
    model = scaled_model(softmax=True)
    with torch.no_grad():
        model[0].weight.mul_(40)  # saturated probabilities on rows in the background's range
    with pytest.warns(SaturationWarning, match=r"returns probabilities itself") as caught:
        compare(wrap(model), X, **FAST)
    message = str(caught[0].message)
    assert "wrap(model, output='logit')" not in message and "without its final softmax" in message


def test_out_of_range_columns_flags_only_columns_on_another_scale():
    raw, scaled = minmax_table()
    background = scaled[30:]
    assert out_of_range_columns(scaled[:30], background).tolist() == []
    assert out_of_range_columns(raw[:30], background).tolist() == [0, 1]
    spread = background.max(axis=0) - background.min(axis=0)
    drifted = scaled[:30] + 0.9 * spread  # shifted by less than one background range: drift, not another scale
    assert out_of_range_columns(drifted, background).tolist() == []
    constant = background.copy()
    constant[:, 2] = 0.0  # a level absent from the background: no scale to compare with
    assert 2 not in out_of_range_columns(np.full((5, 5), 7.0), constant).tolist()
