"""`python -m st4rt_repl.cli` is `st4rt`."""
import sys

from st4rt_repl.cli import main

if __name__ == "__main__":     # the doctest walk imports this module too
    sys.exit(main())
