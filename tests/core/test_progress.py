"""Progress bars: a tqdm bar on a terminal, plain lines (or nothing) elsewhere."""

import io

import pytest

from pulsecl import progress
from pulsecl.progress import LineProgress, bar, mode


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_mode_follows_the_stream_and_the_environment(monkeypatch):
    monkeypatch.delenv("PULSECL_PROGRESS", raising=False)
    assert mode(Tty()) == "bar" and mode(io.StringIO()) == "lines"
    for forced in ("bar", "lines", "off"):
        monkeypatch.setenv("PULSECL_PROGRESS", forced)
        assert mode(io.StringIO()) == forced and mode(Tty()) == forced


def test_a_terminal_gets_tqdm_and_a_log_gets_lines(monkeypatch):
    from tqdm import tqdm

    monkeypatch.delenv("PULSECL_PROGRESS", raising=False)
    tty = Tty()
    with bar(total=3, desc="epoch 1/2", unit="step", file=tty) as b:
        assert isinstance(b, tqdm)
        b.update(3)
    assert "\r" in tty.getvalue()
    log = io.StringIO()
    with bar(total=3, desc="epoch 1/2", unit="step", file=log) as b:
        assert isinstance(b, LineProgress)
        b.update(3)
    assert log.getvalue() == ""  # a task shorter than LINE_INTERVAL_S prints nothing
    off = Tty()
    with bar(total=3, file=off, disable=True) as b:
        b.update(3)
    assert off.getvalue() == ""


def test_line_mode_prints_plain_periodic_lines(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    log = io.StringIO()
    b = LineProgress(total=100, desc="epoch 3/10", unit="step", file=log, initial=10)
    for _ in range(4):
        clock[0] += 10.0
        b.set_postfix(loss="0.5100")
        b.update(10)
    b.close()
    assert log.getvalue() == "epoch 3/10: 40/100 step (40%), loss=0.5100\n"  # after 30 s, not before
    items = list(LineProgress(range(3), file=log))
    assert items == [0, 1, 2]


def test_write_goes_to_stdout_as_a_whole_line(capsys):
    b = bar(total=2, file=io.StringIO())
    b.write("result: 72.0 bpm")
    assert capsys.readouterr().out == "result: 72.0 bpm\n"


@pytest.mark.parametrize("where", ["framework/pulsecl/video/pipeline.py", "framework/pulsecl/commands/preprocess.py",
                                   "framework/pulsecl/synthetic/generator.py"])
def test_bars_come_from_the_one_helper(where):
    from pathlib import Path

    source = (Path(__file__).parents[2] / where).read_text()
    assert "from tqdm import" not in source and "pulsecl.progress" in source
