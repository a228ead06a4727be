"""Running suites: end to end, resume, shards and merge, failures, provenance."""

import json
import shutil

import numpy as np
import pytest

from bench_helpers import classical_suite, read_csv, render_tiny, table_rows
from pulsecl.bench import load_records, load_suite, merge_results, run_suite
from pulsecl.errors import ConfigError, SignalError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return render_tiny(tmp_path_factory.mktemp("bench") / "tiny")


@pytest.fixture(scope="module")
def full_run(tiny, tmp_path_factory):
    """POS and CHROM on two datasets (one rendered by the runner), run once."""
    folder = tmp_path_factory.mktemp("suite")
    suite = load_suite(classical_suite(folder, tiny))
    result = run_suite(suite, folder / "out", progress=False, log=None)
    return suite, result


def test_a_tiny_suite_end_to_end_tables_agree_with_the_per_video_csv(full_run, tiny):
    suite, result = full_run
    out = result.out
    assert sorted(result.ran) == ["given/CHROM", "given/POS", "rendered/CHROM", "rendered/POS"]
    assert not result.failed and not result.skipped
    assert sorted(p.name for p in (out / "cells").glob("*.json")) == [
        "given--CHROM.json", "given--POS.json", "rendered--CHROM.json", "rendered--POS.json",
    ]
    rows = read_csv(out / "report" / "videos.csv")
    assert len(rows) == 8  # 2 datasets x 2 methods x 2 videos
    md = (out / "report" / "report.md").read_text()
    for dataset in ("given", "rendered"):
        assert f"## {dataset}" in md
        table = table_rows(result.report["tables"][dataset])
        assert list(table) == ["POS", "CHROM"]
        assert result.report["tables"][dataset] in md
        for method, cells in table.items():
            mine = [r for r in rows if r["dataset"] == dataset and r["method"] == method]
            err = np.array([float(r["abs_error"]) for r in mine])
            pred = np.array([float(r["hr_pred"]) for r in mine])
            ref = np.array([float(r["hr_ref"]) for r in mine])
            np.testing.assert_allclose(err, np.abs(pred - ref), atol=1e-9)
            assert cells[1] == "2"
            mae, se = (float(v) for v in cells[2].split(" ± "))
            assert mae == pytest.approx(err.mean(), abs=0.005 + 1e-9)
            assert se == pytest.approx(err.std(ddof=1) / np.sqrt(2), abs=0.005 + 1e-9)
            assert float(cells[3]) == pytest.approx(np.sqrt(np.mean((pred - ref) ** 2)), abs=0.005 + 1e-9)
            assert float(cells[4]) == pytest.approx(100 * np.mean(err / ref), abs=0.005 + 1e-9)
            assert cells[5] == "–"  # Pearson needs 3 videos
            assert cells[6] == f"{100 * np.mean(err <= 5.0):.0f} %"  # share within 5 bpm
            assert float(cells[7]) == pytest.approx(np.mean([float(r["snr_db"]) for r in mine]), abs=0.005 + 1e-9)
            assert float(cells[8]) == pytest.approx(np.mean([float(r["macc"]) for r in mine]), abs=0.0005 + 1e-9)
            assert err.max() < 3.0  # classical methods on clean synthetic faces
            assert result.report["overview"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert "![MAE and share within 5 bpm, per method and dataset](plots/overview.png)" in md
            for kind in ("scatter", "bland-altman"):
                png = out / "report" / "plots" / dataset / f"{method}-{kind}.png"
                assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The same videos (same seed) on both datasets: the same heart rates.
    given = {(r["method"], r["video"]): r["hr_pred"] for r in rows if r["dataset"] == "given"}
    rendered = {(r["method"], r["video"]): r["hr_pred"] for r in rows if r["dataset"] == "rendered"}
    assert given == rendered
    assert (out / "data" / "rendered" / "subject2" / "vid.avi").is_file()
    summary = json.loads((out / "report" / "summary.json").read_text())
    assert [c["cell"] for c in summary["cells"]] == ["given/POS", "given/CHROM", "rendered/POS", "rendered/CHROM"]


def test_every_record_carries_its_provenance(full_run):
    from pulsecl import __version__
    from pulsecl.config import Config, config_hash, merge

    _, result = full_run
    for rec in load_records(result.out):
        prov = rec["provenance"]
        assert prov["pulsecl"] == __version__
        names = {p["name"]: p for p in prov["plugins"]}
        assert names["classical"] == {"name": "classical", "distribution": "pulsecl", "version": __version__}
        assert {"metrics", "datasets", "physnet"} <= set(names)
        assert prov["header"][0] == f"pulsecl {__version__}"
        assert prov["device"]["type"] == "cpu" and prov["device"]["cpus"] >= 1
        git = prov["git"]  # the tests run from a git checkout
        assert git is None or len(git["commit"]) == 40
        assert rec["seed"] == 0
        config = merge(Config(), rec["config"], "record")
        # a classical cell's crops are those of a classical trace (trace_size), the suite's window kept
        assert config.preprocess.size == config.preprocess.trace_size and config.signal.window_s == 4.0
        assert rec["config_hash"] == config_hash(config)
        assert rec["method"]["spec"]["method"] in ("pos", "chrom")
        assert rec["status"] == "done" and rec["metrics"]["n"] == 2


def test_a_rerun_skips_finished_cells_and_an_interrupted_run_resumes(tiny, tmp_path, monkeypatch):
    import pulsecl.engine.evaluate as evaluate

    suite = load_suite(classical_suite(tmp_path, tiny))
    out = tmp_path / "out"
    real = evaluate.classical_pulse
    calls = []

    def interrupted(method, video, options=None, config=None):
        calls.append(method)
        if method == "chrom":
            raise KeyboardInterrupt  # Ctrl-C in the middle of the second method
        return real(method, video, options, config)

    monkeypatch.setattr(evaluate, "classical_pulse", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, out, progress=False, log=None)
    done = sorted(p.name for p in (out / "cells").glob("*.json"))
    assert done == ["given--POS.json", "rendered--POS.json"]
    stamps = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "cells").glob("*.json")}

    monkeypatch.setattr(evaluate, "classical_pulse", real)
    result = run_suite(suite, out, progress=False, log=None)
    assert sorted(result.skipped) == ["given/POS", "rendered/POS"]
    assert sorted(result.ran) == ["given/CHROM", "rendered/CHROM"]
    for name, stamp in stamps.items():
        path = out / "cells" / name
        assert (path.stat().st_mtime_ns, path.read_bytes()) == stamp  # untouched
    again = run_suite(suite, out, progress=False, log=None)
    assert again.ran == [] and len(again.skipped) == 4
    assert list(table_rows(again.report["tables"]["given"])) == ["POS", "CHROM"]
    # A changed method reruns its own cells only.
    path = suite.source
    path.write_text(path.read_text().replace('method = "chrom"', 'method = "chrom"\noptions = { window_s = 1.0 }'))
    changed = run_suite(load_suite(path), out, progress=False, log=None)
    assert sorted(changed.ran) == ["given/CHROM", "rendered/CHROM"]


def test_failed_cells_are_recorded_reported_and_retried(tiny, tmp_path, monkeypatch):
    import pulsecl.engine.evaluate as evaluate

    suite = load_suite(classical_suite(tmp_path, tiny))
    real = evaluate.classical_pulse

    def failing(method, video, options=None, config=None):
        if method == "chrom":
            raise SignalError("the trace is constant")
        return real(method, video, options, config)

    monkeypatch.setattr(evaluate, "classical_pulse", failing)
    result = run_suite(suite, tmp_path / "out", progress=False, log=None)
    assert result.failed == {"given/CHROM": "the trace is constant", "rendered/CHROM": "the trace is constant"}
    rec = json.loads((tmp_path / "out" / "cells" / "given--CHROM.json").read_text())
    assert rec["status"] == "failed" and rec["error"] == "the trace is constant"
    md = (tmp_path / "out" / "report" / "report.md").read_text()
    assert "* `given/CHROM`: the trace is constant" in md
    assert list(table_rows(result.report["tables"]["given"])) == ["POS"]
    monkeypatch.setattr(evaluate, "classical_pulse", real)
    retry = run_suite(suite, tmp_path / "out", progress=False, log=None)
    assert sorted(retry.ran) == ["given/CHROM", "rendered/CHROM"] and not retry.failed


def _comparable(out):
    """What must not depend on how the work was split: records' results, the CSV."""
    recs = {r["cell"]: (r["status"], r["metrics"], r["videos"], r["seed"], r["cell_key"]) for r in load_records(out)}
    rows = [{k: v for k, v in r.items()} for r in read_csv(out / "report" / "videos.csv")]
    return recs, rows


def test_two_shards_merged_equal_one_unsharded_run_and_parallel_jobs(full_run, tiny, tmp_path):
    suite, unsharded = full_run
    one = run_suite(suite, tmp_path / "one", shard=(1, 2), progress=False, log=None)
    two = run_suite(suite, tmp_path / "two", shard=(2, 2), jobs=2, progress=False, log=None)
    assert sorted(one.ran) == ["given/CHROM", "given/POS"]  # tasks 1 and 3
    assert sorted(two.ran) == ["rendered/CHROM", "rendered/POS"]
    report = merge_results([tmp_path / "one", tmp_path / "two"], tmp_path / "merged")
    assert report["tables"] == unsharded.report["tables"]
    assert _comparable(tmp_path / "merged") == _comparable(unsharded.out)
    # Merging a shard with itself or the full run keeps each cell once.
    again = merge_results([tmp_path / "merged", unsharded.out], tmp_path / "merged2")
    assert _comparable(tmp_path / "merged2") == _comparable(unsharded.out)
    assert again["tables"] == unsharded.report["tables"]


def test_merge_refuses_results_of_another_suite(full_run, tiny, tmp_path):
    _, unsharded = full_run
    other = load_suite(classical_suite(tmp_path, tiny, methods=("green",)))
    run_suite(other, tmp_path / "other", progress=False, log=None)
    with pytest.raises(ConfigError, match="another suite"):
        merge_results([unsharded.out, tmp_path / "other"], tmp_path / "merged")
    from pulsecl.errors import DataError

    with pytest.raises(DataError, match="no cells/ folder"):
        merge_results([tmp_path / "nothing"], tmp_path / "merged")


def test_a_synthetic_dataset_is_rendered_once_and_not_silently_replaced(full_run, tiny, tmp_path):
    suite, result = full_run
    out = tmp_path / "out"
    shutil.copytree(result.out / "data", out / "data")
    video = out / "data" / "rendered" / "subject1" / "vid.avi"
    before = video.stat().st_mtime_ns
    run_suite(suite, out, progress=False, log=None, report=False)
    assert video.stat().st_mtime_ns == before  # reused
    path = suite.source.parent / "changed.toml"
    path.write_text(suite.source.read_text().replace("seed = 7", "seed = 8"))
    with pytest.raises(ConfigError, match="rendered with other synthetic settings"):
        run_suite(load_suite(path), out, progress=False, log=None)


def test_subjects_with_several_videos_get_a_per_subject_table_and_the_constant_baseline():
    from pulsecl.bench.report import constant_baseline, subject_records

    rec = {"videos": [
        {"video": "a_forehead", "subject": "a", "hr_pred": 70.0, "hr_ref": 80.0},
        {"video": "a_cheek", "subject": "a", "hr_pred": 78.0, "hr_ref": 80.0},
        {"video": "a_other", "subject": "a", "hr_pred": 120.0, "hr_ref": 80.0},
        {"video": "b_forehead", "subject": "b", "hr_pred": 61.0, "hr_ref": 60.0},
        {"video": "c_forehead", "subject": "c", "hr_pred": None, "hr_ref": 70.0},  # no estimate: left out
    ]}
    per = subject_records(rec)
    assert [(v["subject"], v["hr_pred"], v["hr_ref"]) for v in per["videos"]] == [("a", 78.0, 80.0), ("b", 61.0, 60.0)]
    assert per["metrics"]["mae"] == pytest.approx(1.5) and per["metrics"]["within_5bpm"] == 1.0
    base = constant_baseline(rec)  # always 75 (mean of 80, 80, 80, 60): errors 5, 5, 5, 15
    assert base["mae"] == pytest.approx(7.5) and base["within_5bpm"] == pytest.approx(0.75)


def test_a_per_subject_table_only_where_a_subjects_videos_share_their_reference():
    from pulsecl.bench.report import _has_subjects

    patches = {"videos": [{"subject": "a", "hr_pred": 70.0, "hr_ref": 80.0}, {"subject": "a", "hr_pred": 75.0, "hr_ref": 80.0}]}
    segments = {"videos": [{"subject": "a", "hr_pred": 70.0, "hr_ref": 60.0}, {"subject": "a", "hr_pred": 75.0, "hr_ref": 140.0}]}
    alone = {"videos": [{"subject": "a", "hr_pred": 70.0, "hr_ref": 80.0}, {"subject": "b", "hr_pred": 75.0, "hr_ref": 80.0}]}
    assert _has_subjects([patches]) and not _has_subjects([segments]) and not _has_subjects([alone])
