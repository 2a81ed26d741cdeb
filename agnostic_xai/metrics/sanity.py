"""Sanity check by model randomisation (Adebayo et al. 2018).

An explanation that describes the model must change when the model's weights are
destroyed. The cascading randomisation test re-initialises the model's layers one by one,
from the output layer down to the input layer, re-runs the explainer on each partially
randomised model and measures how similar its explanations stay to the original ones. An
explainer whose explanations survive the full randomisation (an edge detector, in the
paper's words) explains the data, not the model.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._checks import check_int
from .._params import child_seeds, clone
from ..adapters import Adapter, wrap
from ..attribution import Attribution
from ..exceptions import IncompatibleModelError, InvalidInputError
from .base import Metric
from .ranking import rowwise_spearman
from .stability import _check_explainer

__all__ = ["RandomizationSanity", "explanation_similarity", "parameterized_layers"]


def explanation_similarity(values: Any, randomized_values: Any) -> np.ndarray:
    """Spearman correlation of ``|φ|`` and ``|φ_rand|`` per row (the paper's rank correlation of absolute values).

    Returns
    -------
    ndarray of shape (n,), in [-1, 1]
        NaN for rows where either explanation is constant.
    """
    values = np.asarray(values, dtype=np.float64)
    randomized_values = np.asarray(randomized_values, dtype=np.float64)
    if values.ndim != 2 or values.shape != randomized_values.shape:
        raise InvalidInputError(
            f"Expected two (n, m) arrays of the same shape, got {values.shape} and {randomized_values.shape}."
        )
    return rowwise_spearman(np.abs(values), np.abs(randomized_values))


def parameterized_layers(module: Any) -> list[tuple[str, Any]]:
    """``(name, submodule)`` of every submodule holding parameters of its own, output layer first.

    The order is the reverse of registration order (``module.named_modules()``), which is
    the forward order for ``nn.Sequential`` and for modules that register their layers in
    the order they use them.
    """
    layers = [
        (name, sub) for name, sub in module.named_modules() if next(sub.parameters(recurse=False), None) is not None
    ]
    return layers[::-1]


@contextlib.contextmanager
def _forked_seed(seed: int, device: Any) -> Iterator[None]:
    """Seed torch's RNG for a block and restore the caller's RNG state afterwards."""
    import torch

    devices = []
    if device.type == "cuda":
        devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _reinitialize(layer: Any, seed: int) -> None:
    """Re-draw ``layer``'s own parameters: its ``reset_parameters()`` initialisation when it has one.

    Layers without ``reset_parameters`` get each parameter redrawn from a normal distribution
    with the parameter's current standard deviation (1 when that is 0 or undefined).
    """
    import torch

    parameter = next(layer.parameters(recurse=False))
    with torch.no_grad():
        reset = getattr(layer, "reset_parameters", None)
        if callable(reset):
            with _forked_seed(seed, parameter.device):
                reset()
            return
        generator = torch.Generator(device=parameter.device).manual_seed(seed)
        for p in layer.parameters(recurse=False):
            std = float(p.std()) if p.numel() > 1 else 0.0
            p.normal_(0.0, std if np.isfinite(std) and std > 0 else 1.0, generator=generator)


class RandomizationSanity(Metric):
    """Cascading model-randomisation test (Adebayo et al. 2018); lower is better.

    For a torch model: deep-copies the module (the caller's module is never changed),
    re-initialises its parameterised layers one at a time from the output layer down
    (cumulatively, each with a seed derived from ``random_state``), wraps the copy with the
    same task, output and feature names, re-fits a clone of the explainer on it with the
    same background and groups, and explains the same rows and targets. The score of a row
    is the Spearman correlation of ``|φ|`` between the original explanation and the one of
    the fully randomised model (:func:`explanation_similarity`): near 0 for an explainer
    that depends on the model, 1 for one that ignores it.

    ``extras["similarity_by_step"]`` has shape ``(L, n)``: the similarity after randomising
    the top ``1 … L`` layers, named in ``extras["layers"]``.

    Parameters
    ----------
    random_state : int, default=0
        Root seed of the re-initialisations.

    References
    ----------
    Adebayo, J., Gilmer, J., Muelly, M., Goodfellow, I., Hardt, M., & Kim, B. (2018).
    *Sanity checks for saliency maps.* NeurIPS.
    """

    name = "randomization_sanity"
    is_stochastic = True
    family = "sanity"
    higher_is_better = False
    requires_model = False
    requires_background = False
    requires_explainer = True

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def _score(
        self, attribution: Attribution, adapter: Adapter | None, background: np.ndarray | None, explainer: Any
    ) -> tuple[np.ndarray, dict[str, Any]]:
        _check_explainer(explainer, attribution, self.name)
        check_int(self.random_state, "random_state", minimum=0)
        original = explainer.adapter_
        if not hasattr(original, "module"):
            raise IncompatibleModelError(
                f"{self.name} re-initialises the layers of a torch model; {type(original).__name__} exposes no "
                "layers to randomise. Run it on a torch model, or rely on the other metric families."
            )
        module = copy.deepcopy(original.module)
        layers = parameterized_layers(module)
        if not layers:
            raise IncompatibleModelError(f"{self.name}: the torch module has no parameters to randomise.")
        randomized = wrap(
            module,
            task=original.task,
            output=original.output,
            feature_names=original.feature_names,
            device=original.device,
            batch_size=original.batch_size,
        )
        similarity = np.empty((len(layers), attribution.n_rows))
        for step, ((_, layer), seed) in enumerate(zip(layers, child_seeds(int(self.random_state), len(layers)))):
            _reinitialize(layer, seed)
            rerun = clone(explainer).fit(randomized, explainer.background_, groups=explainer.groups_)
            values = rerun.explain(attribution.data, target=attribution.target).values
            similarity[step] = explanation_similarity(attribution.values, values)
        extras = {
            "similarity_by_step": similarity,
            "layers": [name for name, _ in layers],
            "model_rows_randomized": int(randomized.rows_evaluated),
        }
        return similarity[-1], extras
