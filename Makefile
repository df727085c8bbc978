# ST4RT+ set-up on a fresh Debian machine with Python 3.11.
#   make run   - install everything and start the REPL
#   make test  - install everything and run the test suite
PYTHON ?= python3
VENV   := .venv
APT    := abcmidi fluidsynth fluid-soundfont-gm abcm2ps sox
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test setup system-deps bench clean mutate

run: setup
	$(VENV)/bin/st4rt

test: setup
	$(VENV)/bin/python -m pytest -q

setup: system-deps $(VENV)/.installed

# Debian packages: only when a tool is missing, and without recommends (which drag in Qt/GTK).
system-deps:
	@if ! command -v abc2midi >/dev/null || ! command -v fluidsynth >/dev/null \
	   || ! command -v abcm2ps >/dev/null || ! command -v sox >/dev/null \
	   || [ ! -e /usr/share/sounds/sf2/FluidR3_GM.sf2 ]; then \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(APT); \
	fi
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends python3-venv; }

# torch is pinned to 2.13.0 (CPU wheel); see README for CUDA.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

bench: setup
	for b in bench/bench_*.py; do echo "== $$b"; $(VENV)/bin/python $$b; done

# Mutation testing (issue 14): slow, NOT in CI.  bench/mutate.py runs mutmut for ONE module in
# its own folder build/mutate/<module>/: only that module's mutants, only the tests listed for
# it there (the project's [tool.mutmut] in pyproject.toml, narrowed).  Each mutant then runs
# only the tests that cover its function.  A rerun tests only new or changed mutants.
#   make mutate                                  every module below, one after another
#   make mutate MUTATE=st4rt_repl.formats.abc_out  one of them
#   .venv/bin/python bench/mutate.py tokenizers --survivors    rerun last run's survivors
# Results: cd build/mutate/<module> && ../../../.venv/bin/mutmut results (or show NAME).
MUTATE ?= st4rt_repl.tune st4rt_repl.session st4rt_repl.formats.abc_out st4rt_repl.formats.abc_in tokenizers
MUTATE_JOBS ?= 2
mutate: setup
	$(VENV)/bin/python -c 'import mutmut' 2>/dev/null || $(VENV)/bin/pip install -q 'mutmut>=3.8,<4'
	for m in $(MUTATE); do $(VENV)/bin/python bench/mutate.py $$m --max-children $(MUTATE_JOBS) || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
