"""Every loss against a hand computation in numpy, known answers, finite gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pulsecl
from pulsecl.errors import ConfigError, SignalError
from pulsecl_losses import combine

BAND = (40 / 60, 250 / 60)


# -- numpy references ---------------------------------------------------------------------


def np_psd(x, fs, pad=1.0):
    """|rfft|^2 of the mean-removed signal, zero-padded; and its bin frequencies."""
    n = int(round(len(x) * pad))
    return np.abs(np.fft.rfft(x - x.mean(), n)) ** 2, np.fft.rfftfreq(n, 1.0 / fs)


def np_band_psd(x, fs, pad=1.0):
    p, f = np_psd(x, fs, pad)
    inside = (f >= BAND[0]) & (f <= BAND[1])
    p = np.where(inside, p, 0.0)
    return p / p.sum(), f, inside


def np_mvtl(a, p, n, fs, pad, distance, extra=None, grid=None, extra_weight=1.0):
    dist = (lambda u, v: np.mean((u - v) ** 2)) if distance == "mse" else (lambda u, v: np.mean(np.abs(u - v)))
    losses = []
    for b in range(a.shape[0]):
        spec = lambda x: np_band_psd(x, fs[b], pad)  # noqa: E731
        _, f, inside = spec(a[b, 0])
        cut = lambda s: s[inside]  # noqa: E731  in-band bins only
        pa = [cut(spec(v)[0]) for v in a[b]]
        pp = [cut(spec(v)[0]) for v in p[b]]
        pn = [cut(spec(v)[0]) for v in n[b]]
        pos = np.mean([dist(x, y) for x in pa for y in pp])
        neg = np.mean([dist(x, y) for x in pa for y in pn])
        loss = pos - neg
        if extra is not None:
            onb = []
            for e in extra:
                v = np.interp(f, grid, e, left=0.0, right=0.0)
                v = np.where(inside, v, 0.0)
                onb.append(cut(v / v.sum()))
            loss -= extra_weight * np.mean([dist(x, y) for x in pa for y in onb])
        losses.append(loss)
    return float(np.mean(losses))


def np_mcc(y_hat, y, fs):
    t = len(y)
    n = 2 * t
    y_hat, y = y_hat - y_hat.mean(), y - y.mean()
    cross = np.fft.rfft(y_hat, n) * np.conj(np.fft.rfft(y, n))
    f = np.fft.rfftfreq(n, 1 / fs)
    inside = (f >= BAND[0]) & (f <= BAND[1])
    w = np.full(len(f), 2.0)
    w[0] = w[-1] = 1.0
    share = np.sum(w * np.abs(cross) * inside) / np.sum(w * np.abs(cross))
    cc = np.fft.irfft(cross * inside, n) / t
    return cc.max() / (share * y_hat.std() * y.std())


def sig(batch, t, seed, fs=30.0):
    rng = np.random.default_rng(seed)
    time = np.arange(t) / fs
    hr = rng.uniform(1.0, 2.5, (batch, 1))
    return np.sin(2 * np.pi * hr * time + rng.uniform(0, 6, (batch, 1))) + 0.5 * rng.standard_normal((batch, t))


def tt(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


# -- MVTL ----------------------------------------------------------------------------------


@pytest.mark.parametrize("distance", ["mse", "l1"])
@pytest.mark.parametrize("pad", [1.0, 2.0])
def test_mvtl_matches_numpy(distance, pad):
    rng = np.random.default_rng(1)
    a, p, n = (rng.standard_normal((2, 3, 40)) for _ in range(3))
    fs = np.array([30.0, 24.0])
    loss = pulsecl.build("losses", "mvtl", distance=distance, pad_factor=pad)
    value = loss({"anchor_views": tt(a), "positive_views": tt(p), "negative_views": tt(n), "fs": torch.tensor(fs)})
    assert value.item() == pytest.approx(np_mvtl(a, p, n, fs, pad, distance), rel=1e-9)


def test_mvtl_with_extra_negatives_matches_numpy():
    rng = np.random.default_rng(2)
    a, p, n = (rng.standard_normal((2, 2, 50)) for _ in range(3))
    fs = np.array([30.0, 20.0])
    grid = np.arange(40, 251) / 60.0
    extra = rng.random((4, grid.size))
    extra /= extra.sum(1, keepdims=True)
    loss = pulsecl.build("losses", "mvtl", pad_factor=2.0, extra_weight=0.5)
    inputs = {
        "anchor_views": tt(a), "positive_views": tt(p), "negative_views": tt(n), "fs": torch.tensor(fs),
        "extra_negatives": torch.tensor(extra), "freqs": torch.tensor(grid),
    }
    expected = np_mvtl(a, p, n, fs, 2.0, "mse", extra, grid, 0.5)
    assert loss(inputs).item() == pytest.approx(expected, rel=1e-6)


def np_cross(a, fs, groups, pad):
    """Per anchor: mean MSE of its view PSDs to the view PSDs of other groups' anchors (same fs)."""
    out = []
    for i in range(a.shape[0]):
        _, _, inside = np_band_psd(a[i, 0], fs, pad)
        psd = lambda x: np_band_psd(x, fs, pad)[0][inside]  # noqa: E731
        d = [np.mean([np.mean((psd(u) - psd(v)) ** 2) for u in a[i] for v in a[j]])
             for j in range(a.shape[0]) if groups[j] != groups[i]]
        out.append(np.mean(d) if d else 0.0)
    return np.array(out)


def test_mvtl_cross_video_negatives_match_numpy_and_skip_the_own_group():
    rng = np.random.default_rng(3)
    a, p, n = (rng.standard_normal((4, 2, 48)) for _ in range(3))
    fs = np.full(4, 15.0)
    groups = [0, 0, 1, 2]  # anchors 0 and 1: patches of one subject
    base = {"anchor_views": tt(a), "positive_views": tt(p), "negative_views": tt(n), "fs": torch.tensor(fs)}
    plain = np_mvtl(a, p, n, fs, 2.0, "mse")
    loss = pulsecl.build("losses", "mvtl", cross_weight=0.7)
    value = loss({**base, "groups": torch.tensor(groups)})
    expected = plain - 0.7 * np_cross(a, 15.0, groups, 2.0).mean()
    assert value.item() == pytest.approx(expected, rel=1e-9)
    assert loss(base).item() == pytest.approx(plain, rel=1e-9)  # no groups: no cross term
    one = loss({**base, "groups": torch.zeros(4, dtype=torch.long)}).item()
    assert one == pytest.approx(plain, rel=1e-9)  # all one group: nobody is another's negative
    value.backward()
    assert torch.isfinite(base["anchor_views"].grad).all()


def test_mvtl_cross_video_negatives_with_differing_frame_rates_go_through_the_grid():
    """Same pulses, different fs: on each anchor's own bins the spectra agree, so the
    cross distance of two equal pulses is ~0 and of different pulses clearly above it."""
    t = 96
    fs = torch.tensor([15.0, 30.0, 15.0])
    hz = torch.tensor([1.2, 1.2, 2.0])
    time = torch.arange(t)[None, None] / fs[:, None, None]
    views = torch.sin(2 * math.pi * hz[:, None, None] * time).expand(3, 2, t).double()
    loss = pulsecl.build("losses", "mvtl", cross_weight=1.0)
    spec = __import__("pulsecl.nn.spectral", fromlist=["band_spectrum"]).band_spectrum(views, fs, loss.band, loss.pad_factor)
    d = loss._cross(spec, fs, torch.tensor([0, 1, 2]), spec.mask.sum(-1).double())
    d01 = loss._cross(spec, fs, torch.tensor([0, 1, 0]), spec.mask.sum(-1).double())
    assert d01[0] < 0.2 * d[2]  # anchor 0 vs anchor 1 (same 1.2 Hz, other fs): near 0
    assert d[2] > 0  # 2.0 Hz vs the two 1.2 Hz anchors


def test_mvtl_bad_cross_weight_and_groups():
    with pytest.raises(ConfigError, match="cross_weight = -1"):
        pulsecl.build("losses", "mvtl", cross_weight=-1)
    views = {k: torch.randn(2, 2, 40) for k in ("anchor_views", "positive_views", "negative_views")}
    with pytest.raises(SignalError, match="'groups' has 3 entries for a batch of 2"):
        pulsecl.build("losses", "mvtl", cross_weight=1.0)({**views, "fs": 30.0, "groups": torch.tensor([0, 1, 2])})


def test_mvtl_rewards_matching_positives_and_distinct_negatives():
    """Anchor and positive at 1.2 Hz, negative at 1.8 Hz: negative loss.  Swapped: positive."""
    fs, t = 30.0, 150
    time = torch.arange(t) / fs

    def views(f):
        return torch.sin(2 * math.pi * f * time + torch.rand(1, 4, 1) * 6)

    loss = pulsecl.build("losses", "mvtl")
    good = loss({"anchor_views": views(1.2), "positive_views": views(1.2), "negative_views": views(1.8), "fs": fs})
    bad = loss({"anchor_views": views(1.2), "positive_views": views(1.8), "negative_views": views(1.2), "fs": fs})
    assert good.item() < 0 < bad.item()


def test_mvtl_shape_mismatch_is_a_signal_error():
    loss = pulsecl.build("losses", "mvtl")
    bad = {"anchor_views": torch.randn(2, 3, 40), "positive_views": torch.randn(2, 3, 40),
           "negative_views": torch.randn(2, 3, 30), "fs": 30.0}
    with pytest.raises(SignalError, match="negative_views"):
        loss(bad)


# -- supervised ----------------------------------------------------------------------------


def test_mcc_matches_numpy():
    y_hat, y = sig(3, 90, 3), sig(3, 90, 4)
    fs = np.array([30.0, 25.0, 14.0])
    value = pulsecl.build("losses", "neg_mcc")({"signal": tt(y_hat), "target": tt(y), "fs": torch.tensor(fs)})
    expected = -np.mean([np_mcc(y_hat[b], y[b], fs[b]) for b in range(3)])
    assert value.item() == pytest.approx(expected, rel=1e-9)


def test_mcc_of_a_signal_with_itself_is_one():
    y = torch.tensor(sig(4, 128, 5))
    value = pulsecl.build("losses", "neg_mcc")({"signal": y, "target": y, "fs": 30.0})
    assert value.item() == pytest.approx(-1.0, abs=1e-9)


@pytest.mark.parametrize("delay", [1, 7, 13, 60, 200, 399])
def test_mcc_of_a_pulse_with_a_delayed_copy_is_one(delay):
    """Any delay within the window: the best lag is within half a period (12 frames),
    so the overlap costs at most 12/512 (module docstring of pulsecl_losses.supervised)."""
    fs, t = 30.0, 512
    time = torch.arange(t + delay, dtype=torch.float64) / fs
    pulse = torch.sin(2 * math.pi * 1.25 * time) + 0.4 * torch.sin(2 * math.pi * 2.5 * time + 0.7)
    y, y_late = pulse[delay:][None], pulse[:t][None]  # y_late[i] = y[i - delay]
    mcc = -float(pulsecl.build("losses", "neg_mcc")({"signal": y_late, "target": y, "fs": fs}))
    assert 1 - 12 / 512 - 0.01 <= mcc <= 1.0 + 1e-9


def test_mcc_of_independent_noises_is_near_zero():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(16, 4096, generator=g), torch.randn(16, 4096, generator=g)
    mcc = -float(pulsecl.build("losses", "neg_mcc")({"signal": a, "target": b, "fs": 30.0}))
    assert 0 <= mcc < 0.15


def test_snr_matches_numpy():
    y_hat, y = sig(2, 120, 6), sig(2, 120, 7)
    fs = np.array([30.0, 20.0])
    for pad, width_bpm in [(1.0, 0.0), (2.0, 6.0)]:
        value = pulsecl.build("losses", "neg_snr", pad_factor=pad, width_bpm=width_bpm)(
            {"signal": tt(y_hat), "target": tt(y), "fs": torch.tensor(fs)}
        )
        expected = []
        for b in range(2):
            p_hat, f = np_psd(y_hat[b], fs[b], pad)
            p_ref, _ = np_psd(y[b], fs[b], pad)
            inside = (f >= BAND[0]) & (f <= BAND[1])
            k = np.argmax(np.where(inside, p_ref, -1))
            near = np.abs(f - f[k]) <= width_bpm / 60
            near[k] = True
            s = p_hat[inside & near].sum()
            noise = p_hat[inside & ~near].sum()
            expected.append(10 * np.log10(s / noise))
        assert value.item() == pytest.approx(-np.mean(expected), rel=1e-6)


def test_snr_is_high_when_prediction_matches_reference_rate():
    fs, t = 30.0, 300
    time = torch.arange(t) / fs
    ref = torch.sin(2 * math.pi * 1.5 * time)[None]
    good = ref + 0.05 * torch.randn(1, t)
    bad = torch.sin(2 * math.pi * 2.2 * time)[None]
    loss = pulsecl.build("losses", "neg_snr")
    assert float(loss({"signal": good, "target": ref, "fs": fs})) < -10
    assert float(loss({"signal": bad, "target": ref, "fs": fs})) > 10


def test_pearson_matches_numpy():
    y_hat, y = sig(3, 50, 8), sig(3, 50, 9)
    value = pulsecl.build("losses", "neg_pearson")({"signal": tt(y_hat), "target": tt(y)})
    expected = np.mean([1 - np.corrcoef(y_hat[b], y[b])[0, 1] for b in range(3)])
    assert value.item() == pytest.approx(expected, rel=1e-9)


def np_peak_share(y, fs, pad=4.0, width_hz=0.1):
    """Share of the in-band power within width_hz of the in-band peak (nearest bin included)."""
    p, f = np_psd(y, fs, pad)
    inside = (f >= BAND[0]) & (f <= BAND[1])
    k = np.argmax(np.where(inside, p, -1.0))
    near = (np.abs(f - f[k]) <= width_hz) & inside
    near[k] = True
    return p[near].sum() / p[inside].sum()


def test_pearson_confidence_weighting_matches_numpy():
    y_hat, y = sig(4, 128, 8), sig(4, 128, 9)
    fs = np.array([15.0, 15.0, 30.0, 30.0])
    loss = pulsecl.build("losses", "neg_pearson", confidence_power=2.0)
    assert set(loss.requires) == {"signal", "target", "fs"}
    value = loss({"signal": tt(y_hat), "target": tt(y), "fs": tt(fs)})
    w = np.array([np_peak_share(y[b], fs[b]) ** 2 for b in range(4)])
    r = np.array([1 - np.corrcoef(y_hat[b], y[b])[0, 1] for b in range(4)])
    assert value.item() == pytest.approx((w * r).sum() / w.sum(), rel=1e-6)


def test_pearson_confidence_trusts_a_clear_pulse_over_noise():
    t = np.arange(128) / 15.0
    pulse = np.sin(2 * np.pi * 1.3 * t)
    noise = np.random.default_rng(0).standard_normal(128)
    loss = pulsecl.build("losses", "neg_pearson", confidence_power=1.0)
    share = loss.confidence(tt(np.stack([pulse, noise])), tt(np.array([15.0, 15.0]))).numpy()
    assert share[0] > 0.85 and share[1] < 0.3
    # the prediction follows the clear target and is unrelated to the noisy one: the
    # weighted loss is near the clear clip's 0, the plain mean near (0 + 1) / 2
    y_hat = np.stack([pulse, np.random.default_rng(1).standard_normal(128)])
    inputs = {"signal": tt(y_hat), "target": tt(np.stack([pulse, noise])), "fs": tt(np.array([15.0, 15.0]))}
    assert loss(inputs).item() < 0.3
    assert pulsecl.build("losses", "neg_pearson")(inputs).item() > 0.4


def test_pearson_confidence_power_must_not_be_negative():
    with pytest.raises(ConfigError, match="confidence_power = -1.0: must be >= 0"):
        pulsecl.build("losses", "neg_pearson", confidence_power=-1.0)


# -- invariance ----------------------------------------------------------------------------


def test_invariance_matches_numpy_and_known_values():
    aug, sig_ = sig(3, 50, 11), sig(3, 50, 12)
    loss = pulsecl.build("losses", "invariance")
    value = loss({"augmented": tt(aug), "signal": tt(sig_)})
    expected = np.mean([1 - np.corrcoef(aug[b], sig_[b])[0, 1] for b in range(3)])
    assert value.item() == pytest.approx(expected, rel=1e-9)
    t = torch.arange(60, dtype=torch.float64) / 30.0
    s = torch.sin(2 * math.pi * 1.5 * t)[None]  # 3 whole periods
    c = torch.cos(2 * math.pi * 1.5 * t)[None]
    assert loss({"augmented": 3 * s + 1, "signal": s}).item() == pytest.approx(0.0, abs=1e-12)  # scale, offset
    assert loss({"augmented": -s, "signal": s}).item() == pytest.approx(2.0, abs=1e-12)
    assert loss({"augmented": c, "signal": s}).item() == pytest.approx(1.0, abs=1e-12)  # uncorrelated


def test_invariance_stops_the_gradient_at_the_anchor_unless_told_not_to():
    aug = tt(sig(2, 40, 13)).requires_grad_(True)
    anchor = tt(sig(2, 40, 14)).requires_grad_(True)
    pulsecl.build("losses", "invariance")({"augmented": aug, "signal": anchor}).backward()
    assert anchor.grad is None and (aug.grad != 0).any()
    aug.grad = None
    pulsecl.build("losses", "invariance", stop_gradient=False)({"augmented": aug, "signal": anchor}).backward()
    assert (anchor.grad != 0).any() and (aug.grad != 0).any()


def test_invariance_shape_mismatch_is_a_signal_error():
    with pytest.raises(SignalError) as e:
        pulsecl.build("losses", "invariance")({"augmented": torch.zeros(2, 30), "signal": torch.zeros(2, 31)})
    assert str(e.value) == "invariance: 'augmented' (2, 30) must be (B', T) for 'signal' (2, 31) (B, T), B' <= B"
    with pytest.raises(SignalError, match="B' <= B"):
        pulsecl.build("losses", "invariance")({"augmented": torch.zeros(3, 30), "signal": torch.zeros(2, 30)})


def test_invariance_of_a_share_of_the_batch_compares_the_first_clips():
    """views.augment_fraction < 1: the augmented copies are of the first B' clips."""
    signal = tt(sig(4, 60, 21)).detach()
    aug = signal[:2] * 2.0 + 1.0  # copies of clips 0 and 1, same shape
    loss = pulsecl.build("losses", "invariance")
    assert loss({"augmented": aug, "signal": signal}).item() == pytest.approx(0.0, abs=1e-12)
    other = signal[2:]  # copies of clips 2 and 3 put where 0 and 1 belong
    expected = np.mean([1 - np.corrcoef(other[b].numpy(), signal[b].numpy())[0, 1] for b in range(2)])
    assert loss({"augmented": other, "signal": signal}).item() == pytest.approx(expected, rel=1e-9)


def test_decorrelation_is_one_for_a_collapsed_batch_and_small_for_independent_pulses():
    t = torch.arange(128) / 15.0
    loss = pulsecl.build("losses", "decorrelation")
    same = torch.sin(2 * math.pi * 1.2 * t).expand(4, 128) * torch.tensor([[1.0], [2.0], [0.5], [3.0]]) + 1.0
    assert loss({"signal": same}).item() == pytest.approx(1.0, abs=1e-6)  # scale and offset do not help
    pulses = torch.stack([torch.sin(2 * math.pi * f * t + p) for f, p in ((1.0, 0.0), (1.3, 1.0), (1.7, 2.0), (2.2, 3.0))])
    assert loss({"signal": pulses}).item() < 0.05
    noise = torch.randn(8, 128, generator=torch.Generator().manual_seed(0))
    assert loss({"signal": noise}).item() == pytest.approx(1 / 128, rel=0.6)


def test_decorrelation_matches_numpy_and_skips_pairs_of_one_group():
    y = sig(4, 60, 31)
    groups = [0, 0, 1, 2]
    r = np.corrcoef(y)
    pairs = [(i, j) for i in range(4) for j in range(4) if groups[i] != groups[j]]
    expected = np.mean([r[i, j] ** 2 for i, j in pairs])
    loss = pulsecl.build("losses", "decorrelation")
    value = loss({"signal": tt(y), "groups": torch.tensor(groups)})
    assert value.item() == pytest.approx(expected, rel=1e-9)
    one = loss({"signal": tt(y), "groups": torch.zeros(4, dtype=torch.long)})
    assert one.item() == 0.0 and one.requires_grad  # nothing to compare
    with pytest.raises(SignalError, match="'groups' has 3 entries for a batch of 4"):
        loss({"signal": tt(y), "groups": torch.tensor([0, 1, 2])})


# -- label-free priors ---------------------------------------------------------------------


def test_ipr_matches_numpy_and_uses_magnitude():
    y = sig(2, 64, 10)
    fs = np.array([30.0, 10.0])
    value = pulsecl.build("losses", "ipr")({"signal": tt(y), "fs": torch.tensor(fs)})
    expected = []
    for b in range(2):
        p, f = np_psd(y[b], fs[b])
        m = np.sqrt(p)
        inside = (f >= BAND[0]) & (f <= BAND[1])
        expected.append(m[~inside].sum() / m.sum())
    assert value.item() == pytest.approx(np.mean(expected), rel=1e-6)


def test_bandwidth_matches_numpy():
    y = sig(2, 64, 11)
    fs = np.array([30.0, 12.0])
    value = pulsecl.build("losses", "bandwidth", pad_factor=2.0)({"signal": tt(y), "fs": torch.tensor(fs)})
    expected = []
    for b in range(2):
        p, f = np_psd(y[b], fs[b], 2.0)
        inside = (f >= BAND[0]) & (f <= BAND[1])
        expected.append(p[~inside].sum() / p.sum())
    assert value.item() == pytest.approx(np.mean(expected), rel=1e-9)


def test_sparsity_matches_numpy():
    y = sig(3, 100, 12)
    fs = np.array([30.0, 25.0, 16.0])
    value = pulsecl.build("losses", "sparsity", width_bpm=9.0)({"signal": tt(y), "fs": torch.tensor(fs)})
    expected = []
    for b in range(3):
        p, f, inside = np_band_psd(y[b], fs[b])
        k = np.argmax(p)
        expected.append(p[np.abs(f - f[k]) > 9 / 60].sum())
    assert value.item() == pytest.approx(np.mean(expected), rel=1e-9)


def test_variance_matches_numpy():
    y = sig(3, 80, 13)
    fs = np.array([30.0, 25.0, 30.0])
    value = pulsecl.build("losses", "variance")({"signal": tt(y), "fs": torch.tensor(fs)})
    grid = (40 + np.arange(211)) / 60
    on_grid = []
    for b in range(3):
        p, f, _ = np_band_psd(y[b], fs[b])
        g = np.interp(grid, f, p, left=0.0, right=0.0)
        on_grid.append(g / g.sum())
    mean = np.mean(on_grid, axis=0)
    expected = np.mean((np.cumsum(mean) - np.arange(1, 212) / 211) ** 2)
    assert value.item() == pytest.approx(expected, rel=1e-6)


def test_variance_penalises_collapse_onto_one_rate():
    fs, t = 30.0, 300
    time = torch.arange(t) / fs
    same = torch.sin(2 * math.pi * 1.5 * time).expand(8, t)
    spread = torch.stack([torch.sin(2 * math.pi * f * time) for f in torch.linspace(0.8, 4.0, 8)])
    loss = pulsecl.build("losses", "variance")
    assert float(loss({"signal": same, "fs": fs})) > 5 * float(loss({"signal": spread, "fs": fs}))


def test_variance_with_negatives_averages_both_branches():
    """Anchors all at 1.2 Hz; their negatives at 1.2 * r: the pair is less concentrated,
    and the value is the variance of the 2B spectra together."""
    fs, t = 15.0, 128
    time = torch.arange(t) / fs
    anchors = torch.sin(2 * math.pi * 1.2 * time).expand(4, t)
    negatives = torch.stack([torch.sin(2 * math.pi * 1.2 * r * time) for r in (1.25, 1.33, 1.42, 1.5)])
    plain = pulsecl.build("losses", "variance")
    both = pulsecl.build("losses", "variance", with_negatives=True)
    alone = float(plain({"signal": anchors, "fs": fs}))
    assert float(plain({"signal": anchors, "fs": fs, "negative": negatives})) == alone  # ignored unless asked
    mixed = float(both({"signal": anchors, "fs": fs, "negative": negatives}))
    assert mixed == pytest.approx(float(plain({"signal": torch.cat([anchors, negatives]), "fs": fs})), rel=1e-6)
    assert mixed < 0.7 * alone
    as_list = float(both({"signal": anchors, "fs": fs, "negative": list(negatives)}))
    assert as_list == pytest.approx(mixed, rel=1e-6)


# -- gradients -----------------------------------------------------------------------------


def _inputs(batch=2, views=2, window=48, frames=64):
    g = torch.Generator().manual_seed(0)
    out = {k: torch.randn(batch, views, window, generator=g, dtype=torch.float64).requires_grad_(True)
           for k in ("anchor_views", "positive_views", "negative_views")}
    out["signal"] = torch.randn(batch, frames, generator=g, dtype=torch.float64).requires_grad_(True)
    out["target"] = torch.randn(batch, frames, generator=g, dtype=torch.float64)
    out["augmented"] = torch.randn(batch, frames, generator=g, dtype=torch.float64).requires_grad_(True)
    out["fs"] = torch.tensor([30.0, 25.0])
    return out


ALL = ["mvtl", "ipr", "neg_mcc", "neg_snr", "neg_pearson", "bandwidth", "sparsity", "variance", "invariance"]


@pytest.mark.parametrize("name", ALL)
def test_gradients_are_finite_and_correct(name):
    """Finite, non-zero, and equal to finite differences (float64)."""
    loss = pulsecl.build("losses", name)
    inputs = _inputs()
    key = {"mvtl": "anchor_views", "invariance": "augmented"}.get(name, "signal")
    leaf = inputs[key]

    def f(x):
        return loss({**inputs, key: x})

    assert torch.autograd.gradcheck(f, (leaf,), eps=1e-6, atol=1e-5, rtol=1e-3, nondet_tol=0.0)
    f(leaf).backward()
    assert torch.isfinite(leaf.grad).all() and (leaf.grad != 0).any()


@pytest.mark.parametrize("name", ALL)
def test_constant_signals_give_finite_loss_and_gradients(name):
    inputs = _inputs()
    for key in ("anchor_views", "signal", "augmented"):
        inputs[key] = torch.zeros_like(inputs[key]).requires_grad_(True)
    value = pulsecl.build("losses", name)(inputs)
    value.backward()
    assert torch.isfinite(value)
    for key in ("anchor_views", "signal", "augmented"):
        assert inputs[key].grad is None or torch.isfinite(inputs[key].grad).all()


# -- combine -------------------------------------------------------------------------------


def test_combine_sums_weighted_terms_and_reports_each():
    inputs = _inputs()
    combined = combine({"mvtl": 1.0, "bandwidth": 0.5, "sparsity": 2.0}, {"mvtl": {"pad_factor": 1.0}})
    total, terms = combined(inputs)
    expected = (
        pulsecl.build("losses", "mvtl", pad_factor=1.0)(inputs)
        + 0.5 * pulsecl.build("losses", "bandwidth")(inputs)
        + 2.0 * pulsecl.build("losses", "sparsity")(inputs)
    )
    assert total.item() == pytest.approx(expected.item(), rel=1e-9)
    assert set(terms) == {"mvtl", "bandwidth", "sparsity"}
    assert terms["bandwidth"].item() == pytest.approx(pulsecl.build("losses", "bandwidth")(inputs).item())
    assert not terms["mvtl"].requires_grad
    total.backward()
    assert torch.isfinite(inputs["anchor_views"].grad).all()
    assert set(combined.requires) == {"anchor_views", "positive_views", "negative_views", "fs", "signal"}
    assert set(combined.optional) == {"extra_negatives", "freqs", "extra_negative_groups", "groups"}


def test_combine_skips_zero_weights():
    assert set(combine({"mvtl": 1.0, "ipr": 0.0}).terms) == {"mvtl"}


def test_combine_unknown_loss_is_a_config_error_with_a_suggestion():
    with pytest.raises(ConfigError, match="did you mean 'mvtl'"):
        combine({"mvt": 1.0})


def test_combine_missing_input_is_a_config_error():
    combined = combine({"neg_mcc": 1.0})
    with pytest.raises(ConfigError, match="loss 'neg_mcc' .* needs input 'target'"):
        combined({"signal": torch.randn(2, 64), "fs": torch.tensor([30.0, 30.0])})


@pytest.mark.parametrize(
    "weights, options, message",
    [
        ({"mvtl": 1.0}, {"ipr": {}}, "loss.weights does not list"),
        ({"mvtl": "high"}, None, "finite number"),
        ({"mvtl": 1.0}, {"mvtl": {"distnce": "l1"}}, "did you mean 'distance'"),
        ({"mvtl": 1.0}, {"mvtl": {"distance": "cosine"}}, "mse, l1"),
    ],
)
def test_combine_config_errors(weights, options, message):
    with pytest.raises(ConfigError, match=message):
        combine(weights, options)
