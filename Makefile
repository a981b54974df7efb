# The two set-up commands: `make demo` (the lessons end to end) and `make test` (the suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HEADLESS := env -u DISPLAY -u WAYLAND_DISPLAY MPLBACKEND=Agg

.PHONY: demo test test-fast lint format install golden clean bench

$(VENV)/.installed: setup.cfg pyproject.toml kmeans_tf/native/src/*.c kmeans_tf/native/src/*.h
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	-$(PY) -m kmeans_tf.native  # without gcc the engine runs on TensorFlow's ops (the kernel's tests skip)
	touch $@

install: $(VENV)/.installed

# The lessons' seven figures and the iterations' GIF into out/ (each script's --help names its files).
demo: install
	mkdir -p out
	$(HEADLESS) $(PY) generate_samples.py --output out/generate_samples.png
	$(HEADLESS) $(PY) kmeans_iterate.py --output out/kmeans_iterate.png
	$(HEADLESS) $(PY) gd_kmeans.py --output out/gd_kmeans.png
	ls -l out/

test: lint
	$(HEADLESS) $(PY) -m pytest

# The suite less its end-to-end runs in fresh processes and its many-seed averages (well under a minute).
test-fast: lint
	$(HEADLESS) $(PY) -m pytest -m "not slow"

# Format and lint by ruff (pyproject.toml); `make format` rewrites what `make lint` finds.
lint: install
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

golden: install
	$(PY) -m tests.golden.regenerate

# The engine against scikit-learn, faiss and numpy; its targets: at most 0.8x the fastest peer per
# iteration, at most 1x to convergence (15-20 minutes on 2 cores). Then on sparse rows (a random
# 100,000 x 50,000 CSR matrix, k=100) against scikit-learn: at most 0.1x per iteration, 0.2x for
# the whole fit, memory below 3x the matrix's (about 5 minutes more). Results in docs/performance.md.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.bench-installed
	status=0; $(PY) benchmarks/bench_kmeans.py || status=$$?; $(PY) benchmarks/bench_sparse.py && exit $$status

clean:
	rm -rf out build *.egg-info .pytest_cache
