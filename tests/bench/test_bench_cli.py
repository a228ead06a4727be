"""``pulsecl bench`` and ``pulsecl demo`` on the command line."""

import pytest

from bench_helpers import classical_suite, render_tiny
from pulsecl.cli import main


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    return classical_suite(folder, render_tiny(folder / "tiny"), methods=("green",))


def test_bench_runs_lists_shards_and_merges(suite_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["bench", str(suite_file), "--out", str(out), "--no-progress", "--shard", "1/2"]) == 0
    printed = capsys.readouterr().out
    assert "| GREEN | 2 |" in printed and "1 cells run, 0 already done, 0 failed" in printed
    assert main(["bench", str(suite_file), "--out", str(out), "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["done  task   1  given/GREEN", "todo  task   2  rendered/GREEN"]
    other = tmp_path / "other"
    assert main(["bench", str(suite_file), "--out", str(other), "--no-progress", "--shard", "2/2"]) == 0
    capsys.readouterr()
    merged = tmp_path / "merged"
    assert main(["bench", "merge", str(out), str(other), "--out", str(merged)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("| GREEN | 2 |") == 2 and f"merged 2 folders into {merged}" in printed
    assert (merged / "report" / "report.md").is_file()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "quik", "--out", "x"], "unknown suite 'quik'; did you mean 'quick'?"),
        (["bench", "quick", "extra", "--out", "x"], "one suite at a time"),
        (["bench", "quick", "--out", "x", "--shard", "3/2"], "--shard '3/2'"),
        (["bench", "merge", "nowhere", "--out", "x"], "'nowhere' holds no benchmark results"),
    ],
)
def test_bench_errors_are_one_line_with_status_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_demo_runs_the_quick_suite_and_prints_its_table(suite_file, tmp_path, capsys, monkeypatch):
    import pulsecl.commands.demo as demo
    from pulsecl.bench import load_suite

    quick = demo.demo_suite(train_seconds=42)
    (recipe,) = [m for m in quick.methods.values() if m.kind == "recipe"]
    assert "train.time_budget_s=42" in recipe.set and "train.time_budget_s=420" not in recipe.set
    # The quick suite itself trains for minutes: the demo's plumbing runs on a tiny one.
    monkeypatch.setattr(demo, "demo_suite", lambda train_seconds=None: load_suite(suite_file))
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| GREEN | 2 |" in printed and "demo finished in" in printed
    assert (out / "report" / "report.md").is_file() and (out / "report" / "summary.json").is_file()


def test_a_bench_folder_in_use_stops_a_second_run(suite_file, tmp_path, capsys, hold_lock):
    """Issue 30, case 1: two runs of one benchmark folder would mix their cells."""
    out = tmp_path / "out"
    holder = hold_lock(out)
    assert main(["bench", str(suite_file), "--out", str(out), "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        f"pulsecl: error: benchmark folder '{out}' is in use by another pulsecl process (pid {holder.pid}); "
        "wait for it to finish or choose another --out\n"
    )
    assert [p.name for p in out.iterdir()] == [".pulsecl.lock"]


def test_an_out_that_is_a_file_is_found_before_the_suite_runs(suite_file, tmp_path, capsys):
    (tmp_path / "out").write_text("x")
    assert main(["bench", str(suite_file), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        f"pulsecl: error: --out '{tmp_path / 'out'}' exists and is not a folder; give a folder\n"
    )
