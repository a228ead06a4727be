"""The result of :func:`pulsecl.predict`: heart rate, pulse, beats, quality, and its files.

:class:`Prediction` holds what was found in one recording and writes it:
``pulse.csv`` (the waveform), ``hr.csv`` (heart rate, SNR and IPR per window),
``beats.csv`` (beat times, intervals, which are normal), ``summary.json`` (with the
gated HRV, or why there is none) and ``plot.png``, each atomically, everything rendered
before the first file is written.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pulsecl._version import __version__
from pulsecl.errors import DataError
from pulsecl.signal.common import DEFAULT_BAND_BPM

__all__ = ["Prediction"]


def _num(v: float, digits: int = 3) -> float | None:
    return round(float(v), digits) if math.isfinite(float(v)) else None


def _cell(v: float, digits: int) -> str:
    """A CSV cell: the number, or empty where there is none (NaN)."""
    return f"{v:.{digits}f}" if math.isfinite(float(v)) else ""


@dataclass
class Prediction:
    """What :func:`pulsecl.predict` found in one recording.

    Heart rates in bpm, times in seconds from the first frame, ``fs`` in Hz (the
    measured mean frame rate; the pulse is on a uniform grid at that rate).
    """

    hr_bpm: float  # the recording's heart rate (median of the windows' own rates)
    fs: float
    pulse: np.ndarray  # (T,) pulse waveform
    times_s: np.ndarray  # (T,) its times
    window_times_s: np.ndarray  # (W,) window centres
    window_hr_bpm: np.ndarray  # (W,) tracked heart rate (robust to a few bad windows)
    window_peak_bpm: np.ndarray  # (W,) each window's own spectral peak
    window_snr_db: np.ndarray  # (W,)
    window_ipr: np.ndarray  # (W,)
    spectrum_bpm: np.ndarray  # (F,) in-band frequencies of the average spectrum
    spectrum: np.ndarray  # (F,) average of the windows' normalised spectra
    frames_read: int
    frames_without_face: int
    source: str
    method: str | None = None
    checkpoint: str | None = None
    band_bpm: tuple[float, float] = DEFAULT_BAND_BPM
    roi: str = "face"
    window_s: float = 10.0
    stride_s: float = 1.0
    frames_expected: int | None = None  # the container's frame count, when it gives one
    truncated: bool = False  # clearly fewer frames read than the container holds
    warnings: list[str] = field(default_factory=list)  # one line per problem met reading the source
    confidence: Any = None  # pulsecl.signal.analysis.Confidence: level, SNR and agreement behind hr_bpm
    window_low: Any = None  # (W,) bool: low-confidence windows (their peak is within noise's reach)
    beats: Any = None  # pulsecl.signal.hrv.Beats: beat times, normal intervals, gated HRV (None: not computed)
    version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hr_text(self) -> str:
        """The heart rate as a user reads it: ``72.4 bpm``, or ``no heart rate``."""
        return f"{self.hr_bpm:.1f} bpm" if math.isfinite(self.hr_bpm) else "no heart rate"

    @property
    def duration_s(self) -> float:
        return self.pulse.size / self.fs

    @property
    def snr_db(self) -> float:
        """Median SNR over the windows at their tracked rates (dB)."""
        return float(np.median(self.window_snr_db))

    @property
    def quality(self) -> str:
        """The confidence level of ``hr_bpm``: ``"high"``, ``"medium"`` or ``"low"``
        (:func:`pulsecl.signal.analysis.confidence`)."""
        return self.confidence.level if self.confidence is not None else "medium"

    @property
    def low_windows(self) -> np.ndarray:
        """(W,) bool: windows whose peak at their tracked rate stands no higher over their
        spectrum than noise reaches (:func:`pulsecl.signal.analysis.noise_floor_db`)."""
        if self.window_low is None:
            return np.zeros(len(self.window_times_s), dtype=bool)
        return np.asarray(self.window_low, dtype=bool)

    @property
    def beat_times_s(self) -> np.ndarray:
        """(P,) beat times (s from the first frame), the middle of each upstroke."""
        return self.beats.times_s if self.beats is not None else np.zeros(0)

    @property
    def hrv(self) -> Any:
        """The recording's HRV (:class:`pulsecl.signal.processing.HRV`: SDNN, RMSSD, pNN50),
        or None where the quality gate refuses it (:attr:`hrv_reason` says why)."""
        return self.beats.hrv if self.beats is not None else None

    @property
    def hrv_reason(self) -> str | None:
        """Why there is no HRV (one line), or None when there is."""
        if self.beats is None:
            return "beats were not computed"
        return self.beats.reason

    @property
    def hrv_text(self) -> str:
        """One line: the HRV, or why there is none."""
        return self.beats.text if self.beats is not None else "no HRV: beats were not computed"

    @property
    def ipr(self) -> float:
        """Median IPR over the windows."""
        return float(np.median(self.window_ipr))

    def summary(self) -> dict[str, Any]:
        """The JSON summary (plain types)."""
        return {
            "hr_bpm": _num(self.hr_bpm),
            "confidence": self.confidence.as_dict() if self.confidence is not None else None,
            "snr_db": _num(self.snr_db),
            "ipr": _num(self.ipr, 4),
            "fs": _num(self.fs, 4),
            "duration_s": _num(self.duration_s),
            "frames_read": int(self.frames_read),
            "frames_without_face": int(self.frames_without_face),
            "frames_expected": self.frames_expected,
            "truncated": bool(self.truncated),
            "warnings": list(self.warnings),
            "source": self.source,
            "method": self.method,
            "checkpoint": self.checkpoint,
            "band_bpm": [round(float(v), 6) for v in self.band_bpm],
            "roi": self.roi,
            "window_s": float(self.window_s),
            "stride_s": float(self.stride_s),
            "pulsecl_version": self.version,
            "hrv": self.hrv.as_dict() if self.hrv is not None else None,
            "hrv_reason": self.hrv_reason,
            "beats": self.beats.as_dict() if self.beats is not None else None,
            **self.extra,
            "windows": [
                {"t_s": _num(t), "hr_bpm": _num(h), "peak_bpm": _num(k), "snr_db": _num(s), "ipr": _num(i, 4),
                 "low": bool(lo)}
                for t, h, k, s, i, lo in zip(self.window_times_s, self.window_hr_bpm, self.window_peak_bpm,
                                             self.window_snr_db, self.window_ipr, self.low_windows)
            ],
        }

    def pulse_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["t_s", "pulse"])
        w.writerows(zip(np.char.mod("%.4f", self.times_s), np.char.mod("%.6g", self.pulse)))
        return buf.getvalue()

    def hr_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["t_s", "hr_bpm", "peak_bpm", "snr_db", "ipr", "low"])
        for t, h, k, s, i, lo in zip(self.window_times_s, self.window_hr_bpm, self.window_peak_bpm,
                                     self.window_snr_db, self.window_ipr, self.low_windows):
            w.writerow([f"{t:.3f}", _cell(h, 3), _cell(k, 3), _cell(s, 3), _cell(i, 4), int(bool(lo))])
        return buf.getvalue()

    def beats_csv(self) -> str:
        """One row per beat: its time, the interval that ends at it (empty for the first)
        and whether that interval is normal (1) or left out by the 20 % rule (0)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["t_s", "ibi_ms", "normal"])
        if self.beats is not None:
            for i, t in enumerate(self.beats.times_s):
                if i == 0:
                    w.writerow([f"{t:.4f}", "", ""])
                else:
                    w.writerow([f"{t:.4f}", f"{1000.0 * self.beats.ibi_s[i - 1]:.1f}", int(bool(self.beats.normal[i - 1]))])
        return buf.getvalue()

    def figure_png(self) -> bytes:
        """PNG of the waveform, the heart rate over time and the average spectrum."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 8), dpi=100, layout="constrained")
        ax1, ax2, ax3 = fig.subplots(3, 1)
        shown = self.times_s <= self.times_s[0] + 30.0  # the first 30 s of the waveform
        ax1.plot(self.times_s[shown], self.pulse[shown], lw=0.8, color="tab:red")
        ax1.set(xlabel="time (s)", ylabel="pulse (a.u.)",
                title=f"{Path(self.source).name}: {self.hr_text}, {self.quality} confidence ({self.label})")
        bt = self.beat_times_s
        if bt.size:  # the beats in the shown span: filled where the interval ending there is normal
            on = bt <= self.times_s[0] + 30.0
            at = np.interp(bt, self.times_s, self.pulse)
            normal = np.concatenate([[True], np.asarray(self.beats.normal, dtype=bool)])
            ok, odd = on & normal, on & ~normal
            ax1.plot(bt[ok], at[ok], "o", ms=4, color="tab:blue", label="beat")
            if odd.any():
                ax1.plot(bt[odd], at[odd], "o", ms=5, mfc="none", color="tab:orange",
                         label="beat after a non-normal interval")
            ax1.legend(loc="upper right", fontsize="small")
        if self.beats is not None and math.isfinite(self.hr_bpm):  # the HRV, or why there is none
            import textwrap

            ax1.set_xlabel("time (s)\n" + textwrap.fill(self.hrv_text, 110), fontsize="small")
        if not math.isfinite(self.hr_bpm):  # no heart rate: the waveform and the reason only
            ax2.set_axis_off()
            ax3.set_axis_off()
            ax2.text(0.5, 0.5, self.confidence.reason if self.confidence is not None else "no heart rate",
                     ha="center", va="center", wrap=True, transform=ax2.transAxes)
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            return buf.getvalue()
        # heart rate over the whole recording (each window drawn across its span), at
        # least 20 bpm tall so that noise of a fraction of a bpm does not look like a trend
        half = self.window_s / 2.0
        ax2.plot(self.window_times_s, self.window_hr_bpm, "o-", ms=3, lw=1, color="tab:blue", label="tracked heart rate")
        low = self.low_windows
        if low.any():
            ax2.plot(self.window_times_s[low], self.window_hr_bpm[low], "x", ms=6, color="tab:orange",
                     label="low-confidence window")
        ax2.axhline(self.hr_bpm, color="k", ls="--", lw=0.8, label=f"recording {self.hr_bpm:.1f} bpm")
        lo_hr = float(min(self.window_hr_bpm.min(), self.hr_bpm))
        hi_hr = float(max(self.window_hr_bpm.max(), self.hr_bpm))
        pad = max(0.0, 20.0 - (hi_hr - lo_hr)) / 2.0 + 2.0
        ax2.set_ylim(lo_hr - pad, hi_hr + pad)
        ax2.set_xlim(float(self.window_times_s[0] - half), float(self.window_times_s[-1] + half))
        ax2.set(xlabel="time (s)", ylabel="heart rate (bpm)", title=f"heart rate on {self.window_s:g}-s windows")
        twin = ax2.twinx()
        (snr_line,) = twin.plot(self.window_times_s, self.window_snr_db, color="tab:green", lw=0.8, alpha=0.7,
                                label="SNR")
        twin.set_ylabel("SNR (dB)", color="tab:green")
        handles, labels = ax2.get_legend_handles_labels()
        ax2.legend(handles + [snr_line], labels + ["SNR (right axis)"], loc="upper right", fontsize="small")
        ax3.plot(self.spectrum_bpm, self.spectrum, color="tab:blue")
        ax3.axvline(self.hr_bpm, color="k", ls="--", lw=0.8)
        ax3.set(xlabel="heart rate (bpm)", ylabel="normalised power", title="average spectrum of the windows")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()

    @property
    def label(self) -> str:
        return f"checkpoint {Path(self.checkpoint).name}" if self.checkpoint else f"method {self.method}"

    def write(self, out_dir: str | os.PathLike[str] | None = None, json_path: str | os.PathLike[str] | None = None,
              plot: bool = True) -> dict[str, Path]:
        """Write ``pulse.csv``, ``hr.csv``, ``beats.csv``, ``summary.json`` and ``plot.png`` to
        ``out_dir`` and/or the summary to ``json_path``: everything is rendered first,
        then the files are written all or none (:func:`pulsecl.io.atomic_write_all`), so
        a full disk leaves no partial set."""
        from pulsecl.io import atomic_write_all, json_text

        files: dict[str, Any] = {}
        summary = self.summary()
        if out_dir is not None:
            out = Path(out_dir)
            if out.exists() and not out.is_dir():
                raise DataError(f"--out '{out}' exists and is not a folder; give a folder")
            files["pulse"] = (out / "pulse.csv", self.pulse_csv())
            files["hr"] = (out / "hr.csv", self.hr_csv())
            files["beats"] = (out / "beats.csv", self.beats_csv())
            files["summary"] = (out / "summary.json", summary)
            if plot:
                files["plot"] = (out / "plot.png", self.figure_png())
        if json_path is not None:
            jp = Path(json_path)
            if jp.is_dir():
                raise DataError(f"--json '{jp}' is a folder; give a file name")
            files["json"] = (jp, summary)
        blobs = {path: content if isinstance(content, (bytes, str)) else json_text(content)
                 for path, content in files.values()}
        atomic_write_all(blobs)
        return {key: path for key, (path, _) in files.items()}
