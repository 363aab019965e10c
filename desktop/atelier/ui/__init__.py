"""The PySide6 user interface. `ui.worker` is the only module here that calls the engine."""
