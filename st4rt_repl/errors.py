"""Error types shared across layers (no imports, so no import circles): bad musical content, a missing model."""

__all__ = ["TuneError", "NotAvailable"]


class TuneError(ValueError):
    """A tune that cannot be read or built; the message is one line for the user."""


class NotAvailable(RuntimeError):
    """A model whose shipped checkpoint is missing or of another version (one line for the user)."""
