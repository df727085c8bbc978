"""The one error type of musical content, shared by `keys` and `tune` (no imports, no circles)."""

__all__ = ["TuneError"]


class TuneError(ValueError):
    """A tune that cannot be read or built; the message is one line for the user."""
