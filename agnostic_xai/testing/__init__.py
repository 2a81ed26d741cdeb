"""Reference models and exact oracles, shipped for tests (the project's and its users')."""

from .models import AdditiveModel, LinearModel, LogisticModel, Standardize, make_mlp, seeded
from .oracles import MAX_EXACT_FEATURES, coalition_matrix, exact_shapley, linear_shapley, shapley_weights

__all__ = [
    "AdditiveModel",
    "LinearModel",
    "LogisticModel",
    "Standardize",
    "make_mlp",
    "seeded",
    "exact_shapley",
    "linear_shapley",
    "coalition_matrix",
    "shapley_weights",
    "MAX_EXACT_FEATURES",
]
