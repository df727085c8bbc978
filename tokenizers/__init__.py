"""Tune <-> token ids.  Two layouts, each with its own vocabulary and version:

* `st4rt_repl.tokenizers.written` (version 2): the tune AS WRITTEN (repeat signs,
  endings, part labels, partial bars), one token per note: the attention-RNN's.
* `st4rt_repl.tokenizers.melody` (version 1): the melody as played, pitch and
  duration tokens; the VAE's windows and round 1's RNN.  Re-exported here.
"""
from st4rt_repl.tokenizers.melody import (VOCAB, Vocab, TokenizeError, encode, decode,  # noqa: F401
                                          prefix_length, positions, TICKS_PER_QUARTER)
