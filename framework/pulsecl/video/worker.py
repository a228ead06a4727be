"""Face crops made in a child process while the parent loads a model: :class:`CropProcess`.

``pulsecl predict`` with a model first imports torch and loads the checkpoint: about 1.4 s
on this project's 2-core machine, most of it Python code that holds the GIL.  Decoding
and cropping the video need the GIL between their C calls, so a thread cannot do them
alongside it (``docs/measurements.md``, "`pulsecl predict` end to end").  A second
process can: :class:`CropProcess` starts ``python -m pulsecl.video.worker``, which runs
the same :class:`~pulsecl.video.pipeline.CropStream` (with its reader thread) over the
video and sends the crops back over a pipe, while the parent imports torch and loads the
model.  The crops are the ones the parent would have made: the same code with the same
settings (:func:`pulsecl.predictor.predict` checks the settings once the model is
loaded, and crops in its own process when they differ).

The child reports, in order, over its standard output (pickled tuples):

* ``("start", {"fs", "path", "name", "n_frames"})`` once the source is open;
* ``("crops", crops (n, S, S, 3) uint8, timestamps (n,))``, chunk by chunk;
* ``("warning", line)`` for each warning (re-emitted by the parent through
  :func:`pulsecl.warn.warn`);
* ``("end", {...})`` the stream's counts, or ``("error", class name, message)``: a
  :class:`~pulsecl.errors.PulseclError` is raised again in the parent as the same class
  with the same message.

Anything else the child prints goes to the parent's standard error.  Plugins come from
the entry points, with the parent's disabled list; a plugin registered at run time in the
parent does not exist in the child, which is why ``predict`` only starts a child when asked
to or from the command line (``crop_process``).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from pulsecl.errors import DataError, PulseclError

__all__ = ["CropProcess"]


class CropProcess:
    """:class:`~pulsecl.video.pipeline.CropStream` over a video file or image folder, run
    in a child process that starts at once (module docstring).

    ``info()`` waits for the source to open and returns its frame rate, path, name and
    frame count; iterating yields ``(crops, timestamps)`` chunks as ``CropStream`` does.
    After the iteration the stream's counts are attributes, as on ``CropStream``:
    ``n_frames``, ``frames_without_face``, ``detections``, ``frames_read``,
    ``frames_expected``, ``truncated``, ``warnings``.  ``close()`` (also on an error, an
    interrupt or an abandoned iteration) ends the child.
    """

    #: Crops held in this process before the consumer takes them (bytes): the child runs
    #: ahead while the model loads, in bounded memory.
    MAX_AHEAD = 256 * 2**20

    def __init__(self, source: str | os.PathLike[str], settings: Any, fs: float | None = None, progress: bool = False):
        from pulsecl.plugins import disabled_plugins

        self.settings = settings
        self.n_frames = 0
        self.frames_without_face = 0
        self.detections = 0
        self.frames_read: int | None = None
        self.frames_expected: int | None = None
        self.truncated = False
        self.warnings: list[str] = []
        self._info: dict[str, Any] | None = None
        self._done = False
        job = {
            "source": os.fspath(source),
            "fs": fs,
            "settings": dataclasses.asdict(settings),
            "progress": bool(progress),
            "disabled": disabled_plugins(),
        }
        # the child imports what this process imports (a path added at run time included)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "pulsecl.video.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        assert self._proc.stdin is not None
        try:
            pickle.dump(job, self._proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self._proc.stdin.close()
        except OSError:  # the child is gone already: its error comes with the first read
            pass
        # A reader thread empties the pipe as messages come, so the child is never held up
        # by a full pipe while this process is busy loading the model.
        self._queue: queue.Queue = queue.Queue()
        self._bytes = 0
        self._room = threading.Condition()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._pump, name="pulsecl-crop-reader", daemon=True)
        self._reader.start()

    # -- what the source said --------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """``{"fs", "path", "name", "n_frames"}`` of the opened source (waits for it)."""
        while self._info is None:
            self._handle(self._read(), waiting_for="start")
        return self._info

    @property
    def fs(self) -> float:
        return float(self.info()["fs"])

    @property
    def path(self) -> str | None:
        return self.info()["path"]

    @property
    def name(self) -> str:
        return self.info()["name"]

    # -- the crops -------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        self.info()
        try:
            while not self._done:
                msg = self._read()
                if msg[0] == "crops":
                    self.n_frames += len(msg[1])
                    yield msg[1], msg[2]
                else:
                    self._handle(msg, waiting_for="crops")
        finally:
            self.close()

    def close(self) -> None:
        """End the child (at once unless it has finished) and reap it."""
        proc = self._proc
        self._stop.set()
        with self._room:
            self._room.notify_all()
        if proc.poll() is None and not self._done:
            proc.kill()
        try:
            proc.wait(timeout=10.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - a child that ignores SIGKILL
            pass
        if self._reader is not threading.current_thread():
            self._reader.join(timeout=10.0)
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> CropProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _pump(self) -> None:
        """The reader thread: messages from the pipe into the queue, holding at most
        :attr:`MAX_AHEAD` bytes of crops; ``None`` when the pipe ends."""
        assert self._proc.stdout is not None
        try:
            while not self._stop.is_set():
                try:
                    msg = pickle.load(self._proc.stdout)
                except (EOFError, pickle.UnpicklingError, OSError, ValueError):
                    break
                size = int(msg[1].nbytes) if msg[0] == "crops" else 0
                with self._room:
                    while self._bytes > 0 and self._bytes + size > self.MAX_AHEAD and not self._stop.is_set():
                        self._room.wait(timeout=0.1)
                    self._bytes += size
                self._queue.put(msg)
                if msg[0] in ("end", "error"):
                    return
        finally:
            self._queue.put(None)

    def _read(self) -> tuple:
        msg = self._queue.get()
        if msg is None:
            self._queue.put(None)  # every later read ends the same way
            code = self._proc.wait()
            label = (self._info or {}).get("path") or "the video"
            raise DataError(
                f"'{label}': the crop process ended without finishing (exit status {code}); read the "
                "video in this process instead (predict --no-crop-process, or crop_process=False)"
            )
        if msg[0] == "crops":
            with self._room:
                self._bytes -= int(msg[1].nbytes)
                self._room.notify_all()
        return msg

    def _handle(self, msg: tuple, waiting_for: str) -> None:
        kind = msg[0]
        if kind == "start":
            self._info = dict(msg[1])
        elif kind == "warning":
            from pulsecl.warn import warn

            warn(msg[1])
        elif kind == "end":
            stats = msg[1]
            self.frames_without_face = int(stats["frames_without_face"])
            self.detections = int(stats["detections"])
            self.frames_read = stats["frames_read"]
            self.frames_expected = stats["frames_expected"]
            self.truncated = bool(stats["truncated"])
            self.warnings = list(stats["warnings"])
            self._done = True
            self.close()
        elif kind == "error":
            self._done = True
            self.close()
            raise _rebuilt(msg[1], msg[2])
        else:  # pragma: no cover - a message this version does not know
            raise DataError(f"the crop process sent '{kind}' while pulsecl waited for '{waiting_for}'")


def _rebuilt(name: str, message: str) -> Exception:
    """The child's error as the parent raises it: a pulsecl error of the same class."""
    from pulsecl import errors

    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, PulseclError):
        try:
            return cls(message)
        except TypeError:  # a class with a constructor of its own
            return PulseclError(message)
    return RuntimeError(f"the crop process failed: {message}")


# ---------------------------------------------------------------------------------------
# The child
# ---------------------------------------------------------------------------------------


def main() -> int:
    """``python -m pulsecl.video.worker``: read the job from stdin, stream the crops."""
    import logging

    out = os.fdopen(os.dup(1), "wb")  # the message pipe; anything else printed goes to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(*msg: Any) -> None:
        pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    class _Forward(logging.Handler):  # pulsecl warnings go to the parent, which prints them
        def emit(self, record: logging.LogRecord) -> None:
            send("warning", record.getMessage())

    try:
        job = pickle.load(sys.stdin.buffer)
        from pulsecl.config import PreprocessConfig
        from pulsecl.plugins import reset_plugin_manager
        from pulsecl.video.pipeline import CropStream
        from pulsecl.video.sources import open_source
        from pulsecl.video.streams import PrefetchSource
        from pulsecl.warn import LOGGER

        LOGGER.addHandler(_Forward(level=logging.WARNING))
        LOGGER.propagate = False
        if LOGGER.level == logging.NOTSET:
            LOGGER.setLevel(logging.WARNING)
        reset_plugin_manager(disabled=job["disabled"])
        settings = PreprocessConfig(**job["settings"])
        src = open_source(job["source"], fs=job["fs"], chunk_frames=settings.chunk_frames)
        send("start", {"fs": float(src.fs), "path": src.path, "name": src.name, "n_frames": src.n_frames})
        stream = CropStream(PrefetchSource(src), settings, progress=job["progress"])
        for crops, ts in stream:
            send("crops", crops, ts)
        send("end", {
            "frames_without_face": stream.frames_without_face, "detections": stream.detections,
            "frames_read": stream.frames_read, "frames_expected": stream.frames_expected,
            "truncated": bool(stream.truncated), "warnings": list(stream.warnings),
        })
        return 0
    except PulseclError as exc:
        _send_quietly(send, "error", type(exc).__name__, str(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the parent stopped reading (closed, interrupted)
        return 1
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        import traceback

        _send_quietly(send, "error", type(exc).__name__, "".join(traceback.format_exception(exc)).strip())
        return 1
    finally:
        try:
            out.close()
        except OSError:
            pass


def _send_quietly(send: Any, *msg: Any) -> None:
    try:
        send(*msg)
    except OSError:  # the parent is gone
        pass


if __name__ == "__main__":
    sys.exit(main())
