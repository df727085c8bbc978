"""ST4RT+: a terminal co-composer for folk melodies.

The import root of the whole project: ``st4rt_repl.models``, ``st4rt_repl.corpus``
and ``st4rt_repl.tokenizers`` live in the top-level folders models/, corpus/ and
tokenizers/ of the source tree (see pyproject.toml's package-dir mapping).
"""
__version__ = "0.1.0"
