"""`pulsecl export`: the exported backbone gives the original's output."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from pulsecl.cli import main


def _original(ck):
    from pulsecl.models import load_model

    loaded = load_model(ck)
    return lambda x: loaded.backbone(loaded.sampler(x))


def test_torchscript_export_gives_the_same_output(make_checkpoint, tmp_path, capsys):
    ck = make_checkpoint()
    out = tmp_path / "model.pt"
    assert main(["export", str(ck), "--format", "torchscript", "--out", str(out)]) == 0
    assert "matches the original" in capsys.readouterr().out
    exported = torch.jit.load(str(out))
    original = _original(ck)
    torch.manual_seed(1)
    for shape in [(1, 3, 64, 32, 32), (2, 3, 100, 32, 32)]:  # traced length and another
        x = 0.4 + 0.2 * torch.rand(shape)
        with torch.no_grad():
            torch.testing.assert_close(exported(x), original(x), rtol=1e-5, atol=1e-5)


def test_export_of_a_bad_checkpoint_writes_nothing(make_checkpoint, tmp_path, capsys):
    ck = make_checkpoint(state_dict={"x": "not a tensor"})
    out = tmp_path / "model.pt"
    assert main(["export", str(ck), "--out", str(out)]) == 2
    assert "not a state dict" in capsys.readouterr().err
    assert not out.exists()


def test_onnx_without_the_package_says_what_to_install(make_checkpoint, tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a))
    out = tmp_path / "model.onnx"
    assert main(["export", str(make_checkpoint()), "--format", "onnx", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'pulsecl[export]'" in err[0] and "'onnx'" in err[0]
    assert not out.exists()


def test_onnx_export_gives_the_same_output(make_checkpoint, tmp_path):
    pytest.importorskip("onnx")
    import numpy as np

    from pulsecl.export import export, run_onnx

    ck = make_checkpoint()
    out = tmp_path / "model.onnx"
    info = export(ck, out, format="onnx")
    assert info["max_rel_error"] is not None and info["max_rel_error"] < 1e-4
    x = 0.4 + 0.2 * torch.rand(1, 3, 64, 32, 32)
    with torch.no_grad():
        expected = _original(ck)(x).numpy()
    np.testing.assert_allclose(run_onnx(out.read_bytes(), x.numpy()), expected, rtol=1e-4, atol=1e-4)


def test_onnx_export_runs_in_onnxruntime_like_the_original(make_checkpoint, tmp_path, capsys):
    """The exported file, loaded by onnxruntime itself (not through pulsecl), gives the
    original model's pulse."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")

    ck = make_checkpoint()
    out = tmp_path / "model.onnx"
    assert main(["export", str(ck), "--format", "onnx", "--out", str(out)]) == 0
    assert "matches the original" in capsys.readouterr().out
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    torch.manual_seed(2)
    x = 0.4 + 0.2 * torch.rand(1, 3, 64, 32, 32)
    with torch.no_grad():
        expected = _original(ck)(x).numpy()
    (got,) = session.run(None, {inp.name: x.numpy()})
    assert got.shape == expected.shape
    torch.testing.assert_close(torch.from_numpy(got), torch.from_numpy(expected), rtol=1e-4, atol=1e-4)


def test_a_write_error_of_export_names_out_and_a_bad_out_is_found_before_tracing(make_checkpoint, tmp_path, capsys,
                                                                                 disk_full, monkeypatch):
    """Issue 30, case 7: a full disk said "choose another --cache/--out"; an --out under
    a file was found after the model was loaded and traced."""
    import pulsecl.export

    ck = make_checkpoint()
    out = tmp_path / "model.pt"
    disk_full(100)
    assert main(["export", str(ck), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"pulsecl: error: '{out}': no space left on device; nothing was written; free space or choose another --out\n"
    )
    monkeypatch.setattr(pulsecl.export, "export", lambda *a, **k: pytest.fail("traced before --out was checked"))
    (tmp_path / "taken").write_text("x")
    assert main(["export", str(ck), "--out", str(tmp_path / "taken" / "model.pt")]) == 2
    assert capsys.readouterr().err == (
        f"pulsecl: error: --out '{tmp_path / 'taken' / 'model.pt'}': '{tmp_path / 'taken'}' is a file, not a folder; "
        "choose another --out\n"
    )
