"""Load a model from a file, refusing files that would run code unless they are trusted.

Many model files are Python pickles, and unpickling a file can run any code its author
chose. :func:`load_model` therefore looks at a file's *content* (and extension) before
deserialising it, and opens the code-executing kinds only with ``trust_model=True``
(``--trust-model`` on the command line).

==========================  ==========================================  ==================
Format                      How it is read                              Untrusted file
==========================  ==========================================  ==================
TorchScript                 ``torch.jit.load(path, map_location="cpu")``  loaded
``torch.save`` state dict   ``torch.load(weights_only=True)`` into      loaded
                            ``model_class()`` (``load_state_dict``)
skops (scikit-learn)        ``skops.io.load``                            loaded when skops
                                                                        trusts every type
``torch.export`` (``.pt2``)  ``torch.export.load(path).module()``       refused
``torch.save`` of a module  ``torch.load(weights_only=False)``          refused
pickle / joblib             ``joblib.load``                              refused
==========================  ==========================================  ==================

Why ``torch.export`` programs need trust although they are not pickles: in torch 2.13,
``torch.export.load`` unpickles weights flagged as pickled with ``weights_only=False``,
retries sample inputs with ``weights_only=False`` when the safe loader fails, parses the
shape expressions in the file with ``sympy.sympify`` (which evaluates Python) and loads
AOTInductor shared libraries; its own documentation says never to load one from an
untrusted source. TorchScript archives, by contrast, are read by torch's C++ loader, which
rebuilds only TorchScript types and compiled TorchScript code (torch operators, no Python).

safetensors files are not supported: the ``safetensors`` package is not a dependency.

This module owns the entry points (:func:`read_model`, :func:`load_model`) and is the
public home of the model-file names. The parts live in private siblings: ``_model_format``
(file checks and format detection), ``_untrusted`` (pickle inspection and refusal),
``_torch_loaders`` and ``_sklearn_loaders`` (one loader per format).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._validation import check_path
from ..adapters import Adapter, wrap
from ..exceptions import InvalidInputError
from ._model_format import MODEL_FORMATS, detect_model_format
from ._sklearn_loaders import load_pickle, load_skops
from ._torch_loaders import load_torch_export, load_torch_save, load_torchscript

__all__ = ["MODEL_FORMATS", "detect_model_format", "load_model", "read_model"]


def read_model(path: str | Path, *, trust_model: bool = False, model_class: str | type | None = None) -> Any:
    """Read the model object stored in a file (see the module docstring for the formats).

    Parameters
    ----------
    path : str or Path
        The model file.
    trust_model : bool, default=False
        Open formats that can run code from the file (pickle, joblib, a pickled
        ``nn.Module``, ``torch.export`` programs, skops files with untrusted types). Only for
        files you made or fully trust.
    model_class : str or type, optional
        For a ``torch.save`` state dict: the ``nn.Module`` class to load the weights into,
        as ``"package.module:ClassName"`` or the class itself. It is called with no
        arguments. Importing it runs that module's code: it is code you name, on your
        machine, not code from the file.

    Returns
    -------
    torch.nn.Module or scikit-learn estimator
        The model, on the CPU, in eval mode (torch).

    Raises
    ------
    UnsafeFileError
        When loading would run code from the file and ``trust_model`` is False. Nothing has
        been deserialised when this is raised.
    InvalidInputError
        When the file is missing, empty, corrupt, or not a supported format.
    """
    if not isinstance(trust_model, bool):
        raise InvalidInputError(f"trust_model must be True or False, got {trust_model!r}.")
    path = Path(check_path(path, "path"))
    kind = detect_model_format(path)
    if model_class is not None and kind != "torch_save":
        raise InvalidInputError(
            f"model_class applies to torch.save state dicts only; {path} is a {kind.replace('_', '.')} file."
        )
    if kind == "torchscript":
        return load_torchscript(path)
    if kind == "torch_export":
        return load_torch_export(path, trust_model)
    if kind == "torch_save":
        return load_torch_save(path, trust_model, model_class)
    if kind == "skops":
        return load_skops(path, trust_model)
    return load_pickle(path, kind, trust_model)


def load_model(
    path: str | Path,
    *,
    trust_model: bool = False,
    model_class: str | type | None = None,
    task: str | None = None,
    output: str | None = None,
    feature_names: Sequence[str] | None = None,
    head: str | None = None,
) -> Adapter:
    """Load a model file and put it behind the :class:`~agnostic_xai.adapters.Adapter` interface.

    The format is recognised from the file's content: TorchScript, ``torch.save`` state
    dicts (with ``model_class``) and skops files are read safely by default; pickle, joblib,
    pickled ``nn.Module`` and ``torch.export`` files can run code when loaded and are
    refused unless ``trust_model=True``. The module docstring has the details.

    Parameters
    ----------
    path : str or Path
        The model file.
    trust_model : bool, default=False
        Allow formats whose loading can run code from the file. Only for files you trust.
    model_class : str or type, optional
        For a state dict: ``"package.module:ClassName"`` (or the class) of an ``nn.Module``
        constructible with no arguments. Importing it runs that module's code.
    task, output, feature_names, head
        Passed to :func:`agnostic_xai.wrap` (``head``: what a torch module returns, when its
        detection should not decide).

    Returns
    -------
    Adapter

    Raises
    ------
    UnsafeFileError
        When loading would run code from the file and ``trust_model`` is False.
    InvalidInputError
        When the file is missing, empty, corrupt or of no supported format.

    Examples
    --------
    >>> import tempfile, torch
    >>> path = tempfile.mkdtemp() + "/model.pt"
    >>> torch.jit.save(torch.jit.script(torch.nn.Linear(3, 1)), path)  # doctest: +SKIP
    >>> load_model(path).n_features  # doctest: +SKIP
    3
    """
    model = read_model(path, trust_model=trust_model, model_class=model_class)
    return wrap(model, task=task, output=output, feature_names=feature_names, head=head)
