"""Sound for melodies: General MIDI rendering (tinysoundfont), MIDI and WAV files, playback.

Neither Qt nor onnxruntime: the engine renders with it on the worker, the UI plays and exports.
"""
