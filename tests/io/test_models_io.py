"""Loading models from files: formats, safety (refusing code-executing files), round trips."""

from __future__ import annotations

import os
import pickle
import sys
import textwrap
import zipfile

import joblib
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import agnostic_xai as ax
from agnostic_xai.exceptions import AgnosticXAIError, InvalidInputError, UnsafeFileError
from agnostic_xai.io import detect_model_format, load_model, read_model

# torch 2.13 deprecates TorchScript; it stays a supported (and safe) file format here.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*:DeprecationWarning")


def _mlp(head: nn.Module, k: int, d: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, k), head))


HEADS = [
    pytest.param(nn.Softmax(dim=1), 3, "probability", id="softmax"),
    pytest.param(nn.LogSoftmax(dim=1), 3, "log_probability", id="log_softmax"),
    pytest.param(nn.Sigmoid(), 1, "probability", id="sigmoid"),
    pytest.param(nn.Identity(), 3, "raw", id="logits"),
]


def _exported(module: nn.Module, d: int = 4) -> nn.Module:
    batch = torch.export.Dim("batch")
    return torch.export.export(module, (torch.zeros(2, d),), dynamic_shapes=({0: batch},)).module()


@pytest.mark.parametrize("compile_", [torch.jit.script, _exported], ids=["torchscript", "export"])
@pytest.mark.parametrize(("head", "k", "kind"), HEADS)
def test_compiled_modules_keep_their_head_and_width(compile_, head, k, kind):
    # A compiled Softmax head must be seen, or the adapter would apply softmax a second time.
    module = _mlp(head, k)
    X = np.random.default_rng(0).normal(size=(6, 4))
    eager, compiled = ax.wrap(module), ax.wrap(compile_(module))
    assert compiled.head == eager.head == kind
    assert compiled.n_features == 4 and compiled.n_outputs == eager.n_outputs
    np.testing.assert_allclose(compiled.predict(X), eager.predict(X), rtol=0, atol=1e-6)
    np.testing.assert_allclose(compiled.gradient(X), eager.gradient(X), rtol=0, atol=1e-6)


def test_symbolically_traced_module_head_is_seen():
    traced = torch.fx.symbolic_trace(nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=1)))
    adapter = ax.wrap(traced)
    assert adapter.head == "probability" and adapter.n_features == 3


# --------------------------------------------------------------------------- loading files
X4 = np.random.default_rng(1).normal(size=(9, 4))


class _Payload:
    """Unpickling this object creates the directory ``marker``: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """An importable user module with a no-argument nn.Module, as a --model-class target."""
    name = f"user_models_{tmp_path.name}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn

            class Net(nn.Module):
                def __init__(self, hidden=8):
                    super().__init__()
                    self.body = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 3))

                def forward(self, x):
                    return self.body(x)

            class Wide(Net):
                def __init__(self):
                    super().__init__(hidden=16)

            class NeedsArgs(nn.Module):
                def __init__(self, width):
                    super().__init__()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    yield name
    sys.modules.pop(name, None)


class _Reference(nn.Module):
    """The module of ``_mlp(nn.Identity(), 3)``, constructible without arguments."""

    def __init__(self):
        super().__init__()
        self.net = _mlp(nn.Identity(), 3)

    def forward(self, x):
        return self.net(x)


def _reference():
    return _mlp(nn.Identity(), 3)


def test_torchscript_round_trip(tmp_path):
    module = _reference()
    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(module), str(path))
    assert detect_model_format(path) == "torchscript"
    adapter = load_model(path, feature_names=list("abcd"))
    np.testing.assert_allclose(adapter.predict(X4), ax.wrap(module).predict(X4), rtol=0, atol=1e-6)
    assert adapter.feature_names == tuple("abcd")


def test_torch_export_round_trip_needs_trust(tmp_path):
    module = _mlp(nn.Softmax(dim=1), 3)
    program = torch.export.export(module, (torch.zeros(2, 4),), dynamic_shapes=({0: torch.export.Dim("b")},))
    path = tmp_path / "model.pt2"
    torch.export.save(program, str(path))
    with pytest.raises(UnsafeFileError, match="torch.export.*trust"):
        load_model(path)
    adapter = load_model(path, trust_model=True, output="probability")
    assert adapter.head == "probability"  # not softmaxed twice
    np.testing.assert_allclose(adapter.predict(X4), ax.wrap(module).predict(X4), rtol=0, atol=1e-6)


def test_torch_export_with_fixed_batch_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "static.pt2"
    torch.export.save(torch.export.export(_reference(), (torch.zeros(2, 4),)), str(path))
    with pytest.raises(InvalidInputError, match="exactly 2 rows.*Dim"):
        load_model(path, trust_model=True)


@pytest.mark.parametrize("as_class", [False, True])
def test_state_dict_round_trip(tmp_path, user_module, as_class):
    module_cls = __import__(user_module).Net
    torch.manual_seed(3)
    original = module_cls()
    path = tmp_path / "weights.pth"
    torch.save(original.state_dict(), path)
    spec = module_cls if as_class else f"{user_module}:Net"
    adapter = load_model(path, model_class=spec)
    np.testing.assert_allclose(adapter.predict(X4), ax.wrap(original).predict(X4), rtol=0, atol=1e-6)


def test_state_dict_errors_say_what_to_do(tmp_path, user_module):
    path = tmp_path / "weights.pt"
    torch.save(__import__(user_module).Net().state_dict(), path)
    with pytest.raises(InvalidInputError, match="state dict.*model_class"):
        load_model(path)
    with pytest.raises(InvalidInputError, match="do not fit.*Wide"):
        load_model(path, model_class=f"{user_module}:Wide")
    with pytest.raises(InvalidInputError, match="without arguments"):
        load_model(path, model_class=f"{user_module}:NeedsArgs")
    with pytest.raises(InvalidInputError, match="package.module:ClassName"):
        load_model(path, model_class="no_colon_here")
    with pytest.raises(InvalidInputError, match="Cannot import module"):
        load_model(path, model_class="no_such_package_xyz:Net")
    with pytest.raises(InvalidInputError, match="has no attribute"):
        load_model(path, model_class=f"{user_module}:Missing")
    with pytest.raises(InvalidInputError, match="not a torch.nn.Module"):
        load_model(path, model_class="collections:OrderedDict")
    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"model": _reference().state_dict(), "epoch": 3}, checkpoint)
    with pytest.raises(InvalidInputError, match=r"keys \['model', 'epoch'\]"):
        load_model(checkpoint, model_class=f"{user_module}:Net")


def test_model_class_is_refused_for_other_formats(tmp_path, user_module):
    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(_reference()), str(path))
    with pytest.raises(InvalidInputError, match="state dicts only"):
        load_model(path, model_class=f"{user_module}:Net")


def test_skops_loads_standard_estimators_and_refuses_untrusted_types(tmp_path):
    skops_io = pytest.importorskip("skops.io")
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    linear = LogisticRegression().fit(X, y)
    skops_io.dump(linear, tmp_path / "linear.skops")
    adapter = load_model(tmp_path / "linear.skops")
    np.testing.assert_allclose(adapter.predict(X), linear.predict_proba(X), rtol=0, atol=1e-12)

    # skops does not trust sklearn's Tree by default (a crafted one can read out of bounds).
    tree = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    skops_io.dump(tree, tmp_path / "tree.skops")
    with pytest.raises(UnsafeFileError, match=r"sklearn\.tree\._tree\.Tree.*trust"):
        load_model(tmp_path / "tree.skops")
    trusted = load_model(tmp_path / "tree.skops", trust_model=True)
    np.testing.assert_allclose(trusted.predict(X), tree.predict_proba(X), rtol=0, atol=0)


def _save_pickle(obj, path):
    with open(path, "wb") as file:
        pickle.dump(obj, file)


def _save_joblib(obj, path):
    joblib.dump(obj, path, compress=3)


SAVERS = [
    pytest.param(_save_pickle, "model.pkl", "pickle file", id="pickle"),
    pytest.param(_save_joblib, "model.joblib", "joblib file", id="joblib"),
    pytest.param(torch.save, "model.pt", "torch.save file holding pickled", id="torch-module"),
]


@pytest.mark.parametrize(("save", "name", "what"), SAVERS)
def test_code_running_files_are_refused_before_anything_is_unpickled(tmp_path, save, name, what):
    marker = tmp_path / "code-ran"
    path = tmp_path / name
    save(_Payload(marker), path)
    with pytest.raises(UnsafeFileError, match=f"{what}.*arbitrary code.*trust_model=True"):
        load_model(path)
    assert not marker.exists()
    # The same file with trust: the payload runs (so the check above could have failed).
    with pytest.raises(AgnosticXAIError):  # it unpickles to None, which is not a model
        load_model(path, trust_model=True)
    assert marker.exists()


def test_refusal_names_what_a_pickle_would_import(tmp_path):
    path = tmp_path / "model.pkl"
    _save_pickle(_Payload(tmp_path / "x"), path)
    with pytest.raises(UnsafeFileError, match=r"import posix\.mkdir|import nt\.mkdir"):
        read_model(path)


@pytest.mark.parametrize(("save", "name", "what"), SAVERS)
def test_trusted_pickles_load(tmp_path, save, name, what):
    if save is torch.save:
        model = _reference()
        reference = ax.wrap(model).predict(X4)
    else:
        from sklearn.linear_model import LinearRegression

        model = LinearRegression().fit(X4, X4 @ np.arange(4.0))
        reference = model.predict(X4)[:, None]
    path = tmp_path / name
    save(model, path)
    with pytest.raises(UnsafeFileError):
        load_model(path)
    np.testing.assert_allclose(load_model(path, trust_model=True).predict(X4), reference, rtol=0, atol=1e-6)


def test_whole_module_refusal_says_it_holds_a_pickled_module(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(_reference(), path)
    with pytest.raises(UnsafeFileError, match=r"whole nn\.Module.*torch\.nn\.modules\.container\.Sequential"):
        load_model(path)


def test_missing_empty_and_unknown_files(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_model(tmp_path / "nope.pt")
    with pytest.raises(InvalidInputError, match="not a file"):
        load_model(tmp_path)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(InvalidInputError, match="empty"):
        load_model(tmp_path / "empty.pt")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InvalidInputError, match="not a model file"):
        load_model(tmp_path / "notes.txt")
    with pytest.raises(InvalidInputError, match="trust_model must be True or False"):
        load_model(tmp_path / "notes.txt", trust_model="yes")


def test_corrupt_files_name_the_format_tried(tmp_path):
    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(_reference()), str(path))
    data = path.read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInputError, match="torch.save / TorchScript.*corrupt"):
        load_model(tmp_path / "truncated.pt")
    (tmp_path / "garbage.pt2").write_bytes(b"not a zip")
    with pytest.raises(InvalidInputError, match="torch.export.*corrupt"):
        load_model(tmp_path / "garbage.pt2")
    (tmp_path / "garbage.skops").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(InvalidInputError, match="skops.*corrupt"):
        load_model(tmp_path / "garbage.skops")
    with zipfile.ZipFile(tmp_path / "other.pt", "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(InvalidInputError, match="zip archive, but not"):
        load_model(tmp_path / "other.pt")
    with zipfile.ZipFile(tmp_path / "bad.skops", "w") as archive:
        archive.writestr("schema.json", "{not json")
    with pytest.raises(InvalidInputError, match="could not be read as a skops file"):
        load_model(tmp_path / "bad.skops")
    with zipfile.ZipFile(tmp_path / "bad_state.pt", "w") as archive:
        archive.writestr("bad_state/data.pkl", b"\x80\x02garbage")
    with pytest.raises(InvalidInputError, match="torch.save"):
        load_model(tmp_path / "bad_state.pt")


def test_a_zip_claiming_an_unknown_version_is_a_project_error(tmp_path):
    # Found by the fuzz test below: a flipped byte in the central directory makes zipfile
    # raise NotImplementedError ("zip file version 6.4"), which is a damaged file, not a crash.
    path = tmp_path / "weights.pt"
    torch.save(_Reference().state_dict(), path)
    raw = bytearray(path.read_bytes())
    raw[raw.rfind(b"PK\x01\x02") + 6] = 64  # "version needed to extract" of the last central record
    path.write_bytes(bytes(raw))
    with pytest.raises(InvalidInputError, match="truncated or corrupt"):
        read_model(path, model_class=_Reference)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_damaged_state_dict_files_give_project_errors(tmp_path_factory, data):
    # Flip bytes of a valid torch.save file: the loader may succeed (a flipped weight) or
    # raise a project error, never anything else, and never runs code.
    path = tmp_path_factory.mktemp("fuzz") / "weights.pt"
    torch.save(_Reference().state_dict(), path)
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(1, len(raw)))]
    path.write_bytes(bytes(raw))
    try:
        read_model(path, model_class=_Reference)
    except AgnosticXAIError:
        pass
