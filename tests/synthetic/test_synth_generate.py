"""generate() and `pulsecl synth`: the UBFC-rPPG layout, determinism, the known pulse."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from pulsecl.cli import main
from pulsecl.errors import DataError
from pulsecl.synthetic import generate, render_clip
from pulsecl.video import open_source


def _read_all(path):
    frames, ts = zip(*open_source(path))
    return np.concatenate(frames), np.concatenate(ts)


def test_layout_and_ground_truth(tmp_path):
    folders = generate(tmp_path / "ds", n=2, seed=4, duration=2.0, fps=12.5, width=96, height=72)
    assert [f.name for f in folders] == ["subject1", "subject2"]
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == ["ground_truth.txt", "params.json", "vid.avi"]
        rows = [np.array(line.split(), float) for line in (folder / "ground_truth.txt").read_text().splitlines()]
        assert len(rows) == 3 and len({r.size for r in rows}) == 1
        ppg, hr, t = rows
        assert ppg.size == 25
        assert np.allclose(t, np.arange(25) / 12.5)
        params = json.loads((folder / "params.json").read_text())
        assert params["generator"] == "pulsecl.synthetic" and params["n_frames"] == 25
        assert abs(np.mean(hr) - params["hr_mean_bpm"]) < 1e-3
        assert 40.0 <= params["hr_mean_bpm"] <= 180.0
        frames, ts = _read_all(folder / "vid.avi")
        assert frames.shape == (25, 72, 96, 3)
        assert np.allclose(ts, t, atol=1e-3)  # the fractional frame rate survives the container
    # No temporary folders or files left behind.
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["subject1", "subject2"]


def test_deterministic_for_a_seed_and_independent_of_n(tmp_path):
    a = generate(tmp_path / "a", n=2, seed=9, duration=1.0, fps=15, width=96, height=72)
    b = generate(tmp_path / "b", n=1, seed=9, duration=1.0, fps=15, width=96, height=72)
    c = generate(tmp_path / "c", n=1, seed=10, duration=1.0, fps=15, width=96, height=72)
    for name in ("ground_truth.txt", "params.json"):
        assert (a[0] / name).read_bytes() == (b[0] / name).read_bytes()
    assert np.array_equal(_read_all(a[0] / "vid.avi")[0], _read_all(b[0] / "vid.avi")[0])
    assert (a[0] / "ground_truth.txt").read_bytes() != (c[0] / "ground_truth.txt").read_bytes()


def test_compression_knob_sets_quality(tmp_path):
    clip = render_clip(seed=2, duration=0.5, fps=10, width=160, height=120, noise=0.0)
    errors, sizes = [], []
    for q in (10, 95):
        folder = generate(
            tmp_path / f"q{q}", n=1, seed=2, duration=0.5, fps=10, width=160, height=120, quality=q, noise=0.0
        )[0]
        frames, _ = _read_all(folder / "vid.avi")
        errors.append(np.abs(frames.astype(float) - clip.frames).mean())
        sizes.append((folder / "vid.avi").stat().st_size)
    # (Chroma subsampling leaves ~2.5 levels of error even at 95 on these small frames.)
    assert errors[0] > errors[1] + 1.0
    assert sizes[0] < 0.6 * sizes[1]


def test_existing_subjects_are_kept_unless_overwrite(tmp_path):
    out = tmp_path / "ds"
    generate(out, n=1, seed=1, duration=0.5, fps=10, width=96, height=72)
    before = (out / "subject1" / "ground_truth.txt").read_bytes()
    with pytest.raises(DataError, match="subject1.*already exists.*--overwrite"):
        generate(out, n=1, seed=2, duration=0.5, fps=10, width=96, height=72)
    assert (out / "subject1" / "ground_truth.txt").read_bytes() == before
    generate(out, n=1, seed=2, duration=0.5, fps=10, width=96, height=72, overwrite=True)
    assert (out / "subject1" / "ground_truth.txt").read_bytes() != before


def test_interrupted_generation_leaves_no_partial_subject(tmp_path, monkeypatch):
    import pulsecl.synthetic.generator as gen

    calls = {"n": 0}
    original = gen.SyntheticSubject.frames

    def frames_then_interrupt(self, chunk=64):
        for i, item in enumerate(original(self, chunk=4)):
            calls["n"] += 1
            if calls["n"] == 8:  # inside the second subject
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(gen.SyntheticSubject, "frames", frames_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path / "ds", n=3, seed=0, duration=2.0, fps=10, width=96, height=72)
    # Subject 1 is complete; nothing of subject 2, no temporary files.
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == ["subject1"]
    assert sorted(p.name for p in (tmp_path / "ds" / "subject1").iterdir()) == [
        "ground_truth.txt", "params.json", "vid.avi",
    ]


def test_the_pulse_is_recoverable_from_the_video(tmp_path):
    """End to end: synth -> UBFC loader -> face crops -> skin trace -> the known HR."""
    from pulsecl.data import open_dataset
    from pulsecl.video import preprocess, rgb_trace

    generate(tmp_path / "ds", n=2, seed=21, duration=8.0, fps=30, width=160, height=120)
    for rec in open_dataset(tmp_path / "ds").records():
        clip = preprocess(rec.source, cache_dir=tmp_path / "cache")
        trace = rgb_trace(clip.frames)
        g = -(trace[:, 1] - trace[:, 1].mean())
        f = np.fft.rfftfreq(16 * len(g), 1 / clip.fs)
        p = np.abs(np.fft.rfft(g * np.hanning(len(g)), 16 * len(g)))
        band = (f > 0.6) & (f < 3.3)
        hr = 60 * f[band][np.argmax(p[band])]
        assert abs(hr - rec.meta["hr"]) < 4.0
        ref = rec.reference(clip.timestamps)
        assert np.corrcoef(g, ref)[0, 1] > 0.7


def test_synth_cli(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["synth", str(out), "--n", "2", "--seed", "3", "--duration", "1", "--fps", "10",
                 "--width", "96", "--height", "72", "--flicker", "0.02", "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    assert "wrote 2 subject(s)" in text and "subject2: mean HR" in text and "flicker=0.02" in text
    params = json.loads((out / "subject1" / "params.json").read_text())
    assert params["nuisances"]["flicker"] == 0.02 and params["seed"] == 3
    assert cv2.VideoCapture(str(out / "subject2" / "vid.avi")).get(cv2.CAP_PROP_FRAME_COUNT) == 10


def test_synth_cli_bad_input(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "x"), "--fps", "500", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "fps = 500" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()
    (tmp_path / "file").write_text("not a folder")
    assert main(["synth", str(tmp_path / "file"), "--n", "1", "--duration", "0.5", "--no-progress"]) == 2
    assert "is not a folder" in capsys.readouterr().err


def _pos_snr_at_truth(subject, band_bpm=(45.0, 150.0)) -> float:
    import pulsecl
    from pulsecl.signal.presets import get_preset
    from pulsecl.signal.quality import snr

    frames = subject.render()
    trace = frames.reshape(len(frames), -1, 3).mean(axis=1) / 255.0
    band = (band_bpm[0] / 60, band_bpm[1] / 60)
    pulse = get_preset(None).process(pulsecl.rgb_to_pulse(trace, subject.fps, "pos"), subject.fps, band_hz=band)
    return float(snr(pulse, subject.fps, subject.params["hr_mean_bpm"], band))


def test_the_realistic_preset_has_the_pulse_snr_of_real_skin_patches():
    """Real bias-eval dev patches: -6.5 dB median at the reference (IQR -7.5 to -5.9)."""
    from pulsecl.synthetic import synthesize
    from pulsecl.synthetic.generator import PRESETS

    real_like = [_pos_snr_at_truth(synthesize(index=i, seed=4000, duration=40.0, **PRESETS["realistic"])) for i in range(3)]
    plain = [_pos_snr_at_truth(synthesize(index=i, seed=4000, duration=40.0, fps=15.0, width=266, height=200,
                                          hr_range=(50.0, 110.0), patch="leftcheek")) for i in range(2)]
    assert -10.0 < float(np.median(real_like)) < -3.0, real_like
    assert min(plain) > 0.0, plain  # the default knobs flatter every method


def test_a_patch_is_the_faces_region_upscaled_and_glitches_move_it_for_one_frame():
    from pulsecl.synthetic import synthesize

    kw = dict(index=0, seed=3, duration=2.0, fps=15.0, width=266, height=200, noise=0.0)
    whole = synthesize(**kw).render()
    patched = synthesize(patch="rightcheek", patch_size=100, **kw)
    x, y, w, h = patched.params["patch"]["box_xywh"]
    assert (w, h) == (25, 25)
    expected = cv2.resize(np.ascontiguousarray(whole[0, y : y + h, x : x + w]), (100, 100), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(patched.render()[0], expected)
    glitchy = synthesize(patch="rightcheek", patch_size=100, glitch=0.25, **{**kw, "duration": 20.0})
    jumped = int(glitchy.params["glitch_frames"])
    assert 0.15 * 300 < jumped < 0.35 * 300
    frames = glitchy.render()
    steady = synthesize(patch="rightcheek", patch_size=100, **{**kw, "duration": 20.0}).render()
    differs = np.abs(frames.astype(int) - steady.astype(int)).reshape(300, -1).max(axis=1) > 0
    assert int(differs.sum()) <= jumped  # only the glitch frames change (a jump can land on skin)
    assert int(differs.sum()) >= 0.8 * jumped


def test_synth_cli_preset_and_an_explicit_flag_over_it(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "r"), "--n", "1", "--duration", "3", "--preset", "realistic",
                 "--noise", "3", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "15 fps, leftcheek patches 200x200" in printed and "preset realistic" in printed
    params = json.loads((tmp_path / "r" / "subject1" / "params.json").read_text())
    assert params["nuisances"]["noise"] == 3.0 and params["nuisances"]["glitch"] == 0.08  # the flag wins
    assert main(["synth", str(tmp_path / "x"), "--preset", "realistc", "--no-progress"]) == 2
    assert "unknown synthetic preset 'realistc'; did you mean 'realistic'" in capsys.readouterr().err
