"""Exact behaviour of the tokenizers (tokenizers/melody.py, tokenizers/written.py): the mutation-testing cases of issue #14."""
