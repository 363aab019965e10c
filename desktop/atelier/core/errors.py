"""The typed error tree. Every message says what happened and what the user can do next."""

from __future__ import annotations


class AtelierError(Exception):
    """Base of every error Atelier raises on purpose; `hint` tells the user what to do."""

    hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def user_message(self) -> str:
        text = str(self)
        return f"{text} {self.hint}".strip() if self.hint else text


class InvalidRequestError(AtelierError):
    """The request's own values are wrong (a count out of range, an empty prompt, ...)."""

    hint = "Change the value and try again."


class InputFileError(AtelierError):
    """A file the user gave cannot be read or has the wrong format."""

    hint = "Check the path and that the file is a supported, undamaged file."


class PackError(AtelierError):
    """A model pack is missing, malformed or fails verification."""

    hint = "Run `atelier models verify` to see which file is wrong, then reinstall or rebuild the pack."


class PackNotFoundError(PackError):
    hint = "Run `atelier models list` to see the packs Atelier found, or put the pack in a models folder."


class PackVerificationError(PackError):
    pass


class DeviceError(AtelierError):
    """No execution provider could run the model."""

    hint = "Set Device to 'cpu' in Settings, or run `atelier doctor` to see which providers load."


class OutOfMemoryError(AtelierError):
    hint = "Try a smaller size or batch, or close other GPU programs."


class CancelledError(AtelierError):
    """The user (or a newer request that supersedes this one) cancelled the job."""

    hint = ""


class SettingsError(AtelierError):
    hint = "Fix the value in Settings; the file is rewritten with valid values when you save."
