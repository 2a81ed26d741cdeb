"""Explainers behind one interface, and their registry.

>>> from agnostic_xai import explainers
>>> explainers.available()[:3]
['saliency', 'input_x_gradient', 'integrated_gradients']
>>> ig = explainers.get("integrated_gradients", n_steps=64)

Modules are imported on first use, so naming an explainer does not import shap or lime.
"""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from .base import Explainer, Explanation

__all__ = ["Explainer", "Explanation", "get", "available", "get_class"]

# name -> "module:Class" inside this package, in the order tables list them.
_REGISTRY: dict[str, str] = {
    "saliency": "gradients:Saliency",
    "input_x_gradient": "gradients:InputXGradient",
    "integrated_gradients": "gradients:IntegratedGradients",
    "smoothgrad": "gradients:SmoothGrad",
    "expected_gradients": "gradients:ExpectedGradients",
    "deep_lift": "deep_lift:DeepLift",
    "feature_ablation": "ablation:FeatureAblation",
    "kernel_shap": "shap_kernel:KernelShap",
    "deep_shap": "shap_deep:DeepShap",
    "gradient_shap": "shap_gradient:GradientShap",
    "permutation_shap": "shap_permutation:PermutationShap",
    "exact_shap": "shap_exact:ExactShap",
    "exact_shapley": "exact:ExactShapley",
    "sampling_shapley": "sampling_shapley:SamplingShapley",
    "lime": "lime_tabular:Lime",
    "surrogate_tree": "surrogate_tree:SurrogateTree",
    "random": "reference:RandomExplainer",
}


_EXPLAINERS = Registry(__name__, "explainer", _REGISTRY)


def available() -> list[str]:
    """Registry names of all explainers whose module is present."""
    return _EXPLAINERS.names()


def get_class(name: str) -> type[Explainer]:
    """The explainer class registered under ``name``.

    Raises
    ------
    InvalidTypeError
        When ``name`` is not a string.
    UnknownNameError
        When no explainer has that name (the message lists those that exist).
    """
    return _EXPLAINERS.load(name)


def get(name: str, **params: Any) -> Explainer:
    """A new explainer ``name`` with the given parameters.

    Parameters are checked against the class's ``__init__`` before it is built, so a typo
    is reported with the parameters that exist.

    Raises
    ------
    UnknownNameError
        When no explainer has that name.
    InvalidTypeError
        When ``name`` is not a string, or a parameter does not exist (the message lists the
        explainer's parameters).
    """
    return _EXPLAINERS.build(name, params)
