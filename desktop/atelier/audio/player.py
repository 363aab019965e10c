"""Play rendered audio through sounddevice (PortAudio), with stop, a loop range and the position.

PortAudio reads the system's device list when sounddevice is first imported, so the import
happens lazily here and its failure (no PortAudio library, no output device) becomes a reason
the UI can show instead of an exception.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np


def output_device() -> tuple[bool, str]:
    """(True, device name) when a default output device exists, else (False, why not)."""
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library itself is missing
        return False, f"No sound: PortAudio is not installed ({exc}). Install libportaudio2."
    try:
        info = sounddevice.query_devices(kind="output")
    except (sounddevice.PortAudioError, ValueError) as exc:
        return False, f"No sound: no audio output device was found ({exc})."
    if not info or int(info.get("max_output_channels", 0)) < 1:
        return False, "No sound: no audio output device was found."
    return True, str(info.get("name", "default output"))


class AudioPlayer:
    """One stream at a time; `play` replaces what is playing. Safe to call from the GUI thread."""

    def __init__(self) -> None:
        self._stream: Any = None
        self._audio = np.zeros((0, 2), np.float32)
        self._rate = 44100
        self._frame = 0
        self._loop: tuple[int, int] | None = None
        self._end = 0
        self._lock = threading.Lock()
        self._finished: Callable[[], None] | None = None

    @property
    def playing(self) -> bool:
        return self._stream is not None and bool(self._stream.active)

    @property
    def position_seconds(self) -> float:
        with self._lock:
            return self._frame / self._rate

    def play(
        self,
        audio: np.ndarray,
        sample_rate: int,
        start_seconds: float = 0.0,
        end_seconds: float | None = None,
        loop: bool = False,
        on_finished: Callable[[], None] | None = None,
    ) -> None:
        """Play `audio` (float32 [frames, 2]) from `start_seconds`; with `loop`, repeat the range."""
        import sounddevice

        self.stop()
        data = np.ascontiguousarray(audio, np.float32)
        if data.ndim == 1:
            data = np.repeat(data[:, None], 2, axis=1)
        start = max(0, min(len(data), round(start_seconds * sample_rate)))
        end = len(data) if end_seconds is None else max(start, min(len(data), round(end_seconds * sample_rate)))
        with self._lock:
            self._audio, self._rate, self._frame, self._end = data, sample_rate, start, end
            self._loop = (start, end) if loop and end > start else None
        self._finished = on_finished
        self._stream = sounddevice.OutputStream(
            samplerate=sample_rate,
            channels=data.shape[1],
            dtype="float32",
            callback=self._fill,
            finished_callback=self._on_stream_finished,
        )
        self._stream.start()

    def _fill(self, out: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
        import sounddevice

        with self._lock:
            written = 0
            while written < frames:
                if self._frame >= self._end:
                    if self._loop is None:
                        break
                    self._frame = self._loop[0]
                take = min(frames - written, self._end - self._frame)
                out[written : written + take] = self._audio[self._frame : self._frame + take]
                self._frame += take
                written += take
            out[written:] = 0.0
            done = written < frames
        if done:
            raise sounddevice.CallbackStop

    def _on_stream_finished(self) -> None:
        callback = self._finished
        if callback is not None:
            callback()

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until playback ends (tests, command line); False on timeout."""
        import time

        deadline = time.monotonic() + timeout
        while self.playing and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self.playing

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        self._finished = None  # a stop the user asked for is not a natural end
        if stream is not None:
            try:
                stream.abort()
            finally:
                stream.close()

    def close(self) -> None:
        self.stop()
