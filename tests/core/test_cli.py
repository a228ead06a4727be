"""The CLI: --version, plugins, config show, and the one-line errors with status 2."""

import json
import subprocess
import sys

import pytest

import pulsecl
from pulsecl.cli import main


def run_cli(*args, env=None):
    """Run the installed console entry point in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "pulsecl", *args], capture_output=True, text=True, env=env
    )


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"pulsecl {pulsecl.__version__}"


def test_plugins_lists_builtins_with_distribution_and_components(capsys):
    assert main(["plugins", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["losses"]["distribution"] == "pulsecl"
    assert rows["losses"]["version"] == pulsecl.__version__
    assert rows["losses"]["builtin"] is True
    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert f"losses  (pulsecl {pulsecl.__version__}, built-in, entry point losses = pulsecl_losses)" in text


def test_disable_plugin_flag(capsys):
    assert main(["--disable-plugin", "losses", "plugins", "--json"]) == 0
    names = {r["name"] for r in json.loads(capsys.readouterr().out)}
    assert "losses" not in names and "physnet" in names


def test_config_show_prints_resolved_config(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("[train]\nepochs = 4\n")
    assert main(["config", "show", str(path), "--set", "train.batch_size=2"]) == 0
    out = capsys.readouterr().out
    assert "# [train]: Optimisation.\n[train]\n" in out
    assert "epochs = 4" in out and "batch_size = 2" in out


def test_config_error_is_one_line_with_status_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[train]\nepohcs = 3\n")
    out = run_cli("config", "show", str(path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"pulsecl: error: {path}: unknown key 'train.epohcs'")
    assert "Traceback" not in out.stderr


def test_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[train]\nepohcs = 3\n")
    out = run_cli("--debug", "config", "show", str(path))
    assert out.returncode != 0
    assert "Traceback" in out.stderr and "ConfigError" in out.stderr


BROKEN_ONE = (
    "error importing plugin 'one' (distribution broken-one 1.0, entry "
    "point 'one = broken_one'): ModuleNotFoundError: No module named 'nope_xyz'; disable "
    "it with PULSECL_DISABLE_PLUGINS=one or pulsecl --disable-plugin one"
)


def test_a_broken_plugin_is_one_warning_line_and_the_rest_of_the_tool_works(make_dist, tmp_path):
    """Issue 30, case 4: one broken plugin used to stop every command, `pulsecl plugins`
    included (status 2)."""
    import os

    site = make_dist("broken-one", "1.0", {"one": "broken_one"}, {"broken_one": "import nope_xyz\n"})
    env = dict(os.environ, PYTHONPATH=f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    out = run_cli("plugins", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stderr.splitlines() == [f"pulsecl: warning: {BROKEN_ONE}"]
    assert "one  (BROKEN, broken-one 1.0, third-party, entry point one = broken_one)" in out.stdout
    assert f"    not loaded: {BROKEN_ONE}" in out.stdout
    assert f"losses  (pulsecl {pulsecl.__version__}, built-in" in out.stdout  # the others are loaded
    listed = run_cli("plugins", "--json", env=env)
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["one"]["broken"] is True and rows["one"]["error"] == BROKEN_ONE and rows["losses"]["broken"] is False
    shown = run_cli("config", "show", env=env)  # a command that does not need the plugin works
    assert shown.returncode == 0 and "[train]" in shown.stdout, shown.stderr
    ok = run_cli("--disable-plugin", "one", "plugins", env=env)
    assert ok.returncode == 0 and ok.stderr == "", ok.stderr
    assert "one  (" not in ok.stdout


def test_a_command_that_needs_a_broken_plugin_says_so(make_dist, tmp_path, capsys):
    make_dist("acme-rppg", "0.4.1", {"acme": "acme_plugin"}, {"acme_plugin": "raise RuntimeError('no GPU driver')\n"})
    data = tmp_path / "data"
    data.mkdir()
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--set", "model.backbone='acme-net'"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("pulsecl: warning: error importing plugin 'acme' (distribution acme-rppg 0.4.1")
    assert len(err) == 2 and err[1].startswith("pulsecl: error: unknown backbones 'acme-net' (available: ")
    assert err[1].endswith(
        "; plugin 'acme' (acme-rppg 0.4.1) failed to load (RuntimeError: no GPU driver), and may provide it"
    )
    assert not (tmp_path / "run").exists()


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: pulsecl" in capsys.readouterr().out


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.epochs=-3", "train.epochs = -3: must be >= 1"),
        ("train.batch_size=0", "train.batch_size = 0: must be >= 1 (clips per batch)"),
    ],
)
def test_train_refuses_values_that_cannot_train_and_writes_nothing(tmp_path, capsys, override, message):
    data = tmp_path / "data"
    data.mkdir()
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--out", str(run), "--set", override]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"pulsecl: error: {message}\n"
    assert "done:" not in captured.out
    assert not run.exists()


def test_a_full_disk_outside_pulsecl_io_is_still_one_line(monkeypatch, capsys):
    import errno

    import pulsecl.commands.config as cmd

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", "/results/plot.png")

    monkeypatch.setattr(cmd, "run_show", full)
    assert main(["config", "show"]) == 2
    assert capsys.readouterr().err == (
        "pulsecl: error: '/results/plot.png': No space left on device; free space or choose another --cache/--out\n"
    )

    def broken(args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(cmd, "run_show", broken)
    with pytest.raises(OSError):  # any other OSError is not the user's to fix: a traceback
        main(["config", "show"])


def test_train_removes_a_checkpoint_temp_file_that_a_killed_run_left(tmp_path, capsys):
    import subprocess

    import pulsecl.io as io_mod

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # its pid is free: the writer of the temp file below is gone
    run = tmp_path / "run"
    run.mkdir()
    orphan = run / f".last.pt.pulsecl.{proc.pid}@{io_mod._HOST}.q1w2e3r4.tmp"
    orphan.write_bytes(b"x" * 2048)
    assert main(["train", "--data", str(tmp_path / "missing"), "--out", str(run)]) == 2
    assert not orphan.exists()
    assert capsys.readouterr().err.splitlines() == [
        f"pulsecl: warning: '{run}': removed 1 temporary file(s) (2.0 KB) left by an interrupted pulsecl run",
        f"pulsecl: error: data path '{tmp_path / 'missing'}' does not exist",
    ]


def test_warnings_print_as_one_line_each_and_once(monkeypatch, capsys):
    import pulsecl.commands.config as cmd
    from pulsecl.warn import warn

    def noisy(args):
        for _ in range(3):
            warn("'a.avi': read 180 of 360 frames; the file may be truncated")
        warn("'b.avi': read 1 of 9 frames; the file may be truncated")
        print("result")
        return 0

    monkeypatch.setattr(cmd, "run_show", noisy)
    assert main(["config", "show"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "result\n"
    assert captured.err == (
        "pulsecl: warning: 'a.avi': read 180 of 360 frames; the file may be truncated\n"
        "pulsecl: warning: 'b.avi': read 1 of 9 frames; the file may be truncated\n"
    )
    assert main(["config", "show"]) == 0  # the next command prints them again
    assert capsys.readouterr().err.count("pulsecl: warning:") == 2


def test_debug_works_after_the_subcommand_too(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[train]\nepohcs = 3\n")
    out = run_cli("config", "show", str(path), "--debug")
    assert out.returncode != 0
    assert "unrecognized arguments" not in out.stderr
    assert "Traceback" in out.stderr and "ConfigError" in out.stderr


def test_disable_plugin_works_before_and_after_the_subcommand(capsys):
    assert main(["--disable-plugin", "losses", "plugins", "--disable-plugin", "bank", "--json"]) == 0
    names = {r["name"] for r in json.loads(capsys.readouterr().out)}
    assert {"losses", "bank"}.isdisjoint(names) and "physnet" in names
    assert main(["plugins", "--json", "--disable-plugin", "losses"]) == 0
    names = {r["name"] for r in json.loads(capsys.readouterr().out)}
    assert "losses" not in names and "bank" in names


def test_every_subcommand_takes_debug_and_disable_plugin():
    import argparse

    from pulsecl.cli import build_parser

    def leaves(parser, path=()):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield path, parser
        for action in subs:
            for name, sub in action.choices.items():
                yield from leaves(sub, (*path, name))

    found = list(leaves(build_parser()))
    assert len(found) >= 11
    for path, parser in found:
        options = {s for a in parser._actions for s in a.option_strings}
        assert {"--debug", "--disable-plugin"} <= options, path


def _subcommands(parser, path=("pulsecl",)):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield (*path, name), sub, helps.get(name)
                yield from _subcommands(sub, (*path, name))


def test_every_subcommand_and_every_option_has_a_help_string():
    import argparse

    from pulsecl.cli import build_parser

    parser = build_parser()
    found = list(_subcommands(parser))
    assert {p[1] for p, _, _ in found} >= {"plugins", "config", "preprocess", "synth", "train", "evaluate",
                                           "predict", "export", "bench", "demo"}
    missing = []
    for path, sub, listed in found:
        name = " ".join(path)
        if not (listed or "").strip():
            missing.append(f"{name}: no help line in its parent's list")
        if not (sub.description or "").strip():
            missing.append(f"{name}: no description")
        for action in sub._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if action.help == argparse.SUPPRESS:
                continue  # hidden on purpose
            if not (action.help or "").strip():
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}: no help")
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction) and not (action.help or "").strip():
            missing.append(f"pulsecl {'/'.join(action.option_strings)}: no help")
    assert missing == []


def test_config_presets_says_what_each_preset_is(capsys):
    from pulsecl.config import presets

    assert main(["config", "presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == presets()
    width = max(map(len, presets())) + 2  # names in one column
    assert lines[0] == (
        "default".ljust(width) + "pulsecl's small default: trains on CPU in minutes (see README, \"Defaults that learn\")."
    )
    assert lines[1].startswith("paper".ljust(width) + "The paper's recipe (Gideon & Stent, ICCV 2021)")
    assert lines[2].startswith("pseudo-labels".ljust(width) + "POS pseudo-labels alone")


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_an_out_that_is_a_file_is_found_before_any_work(command, tmp_path, capsys, monkeypatch):
    """Issue 30, case 7: outputs are checked before the work (train loaded the videos and
    built the model, evaluate read every video, before finding --out unusable)."""
    import pulsecl.engine.clips

    monkeypatch.setattr(pulsecl.engine.clips, "load_videos", lambda *a, **k: pytest.fail("videos read first"))
    out = tmp_path / "results"
    out.write_text("a file")
    data = tmp_path / "data"
    data.mkdir()
    argv = {"train": ["train", "--data", str(data)], "evaluate": ["evaluate", str(tmp_path / "ck.pt"), "--data", str(data)]}
    assert main([*argv[command], "--out", str(out), "--no-progress"]) == 2
    assert capsys.readouterr().err == f"pulsecl: error: --out '{out}' exists and is not a folder; give a folder\n"
    assert out.read_text() == "a file"
