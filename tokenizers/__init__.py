"""Tune <-> token ids: one vocabulary for both models.  See `st4rt_repl.tokenizers.melody`."""
from st4rt_repl.tokenizers.melody import (VOCAB, Vocab, TokenizeError, encode, decode,  # noqa: F401
                                          prefix_length, positions, TICKS_PER_QUARTER)
