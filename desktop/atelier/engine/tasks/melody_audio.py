"""Render a melody to audio on the worker (tinysoundfont with the General MIDI soundfont)."""

from __future__ import annotations

from atelier.audio.synth import render_melody
from atelier.core.progress import Progress
from atelier.core.requests import DeviceInfo
from atelier.core.requests.melody import MelodyAudioRequest, MelodyAudioResult
from atelier.engine.runner import TaskContext, TaskGenerator, task

SYNTH_DEVICE = DeviceInfo(provider="tinysoundfont")


@task(MelodyAudioRequest)
def run_melody_audio(request: MelodyAudioRequest, context: TaskContext) -> TaskGenerator:
    yield Progress(0, 1, "Rendering the melody")
    audio = render_melody(request.melody, request.sample_rate)
    return MelodyAudioResult(audio=audio, sample_rate=request.sample_rate, melody=request.melody, device=SYNTH_DEVICE)
