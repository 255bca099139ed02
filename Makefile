# mupbook: two commands do everything, each setting up .venv itself.
#   make book   execute every chapter and render the HTML book (strict: any warning fails)
#   make test   lint, the library's tests (with the chapters' breaking tests), the book
#               (built if missing or older than its sources: that executes every chapter
#               in quick mode), then the built book in headless Chromium
#               (tests/chapters/test_book_browser.py)
# Other targets: make venv, make nbval (chapters under nbval), make student (student notebooks in _build/student), make strip,
# make repository (rewrite every copy of _config.yml's repository address from it),
# make format (ruff: format and fix lint), make colab-check (chapters with Colab's versions),
# make gpu-bundle (here) and make gpu-check (on a GPU machine; README, "On a GPU machine"),
# make clean.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test nbval venv student strip repository format lint colab-check gpu-check gpu-bundle clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "mupbook needs Python 3.10 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -e .
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps -r requirements-nodeps.txt
	@# pip check must be clean except for mup's two unused requirements (requirements-nodeps.txt).
	@$(BIN)/python -m pip check > $(VENV)/pip-check.txt || true
	@! grep -v -E '^(mup [^ ]+ requires (seaborn|torchvision),|No broken requirements found)' $(VENV)/pip-check.txt
	touch $(STAMP)

# The book runs in the scale MUPBOOK_SCALE asks for (default quick); the build
# fails on any warning, failing cell or broken reference, then its HTML is checked.
# Its explorers are drawn ahead (book/_ext/live_explorers.py sets MUPBOOK_STATIC_EXPLORERS=1
# for the notebooks it executes) and stay live in the pages, with no kernel.
book: $(STAMP)
	rm -rf _build/html _build/.doctrees
	$(BIN)/jupyter-book build --all -W -n --keep-going .
	$(BIN)/python tools/check_book.py _build/html
	touch $(BOOK_STAMP)

# The built book is current when its stamp is newer than everything it is made from.
BOOK_STAMP   := _build/html/.built
BOOK_SOURCES := _config.yml _toc.yml $(wildcard book/*.md book/*.bib book/_ext/*.py \
                chapters/*.ipynb results/*.json) $(shell find mupbook -name '*.py')

$(BOOK_STAMP): $(STAMP) $(BOOK_SOURCES)
	$(MAKE) book

# The browser test opens every page of the built book in headless Chromium (console
# errors, typeset math, figures, Colab links, internal links; screenshots in _build/screenshots).
# Every chapter runs once: the book build executes each in quick mode and fails on any
# error (allow_errors: false), so a chapter's failing assert fails make test through
# $(BOOK_STAMP); running them again under nbval would double the time and check nothing
# more (make nbval does it alone, with the widgets' live path instead of the static one).
test: $(STAMP) lint
	MUPBOOK_SCALE=quick $(BIN)/python -m pytest -p no:cacheprovider -ra --durations=20 tests --ignore=tests/chapters/test_book_browser.py
	MUPBOOK_SCALE=quick $(MAKE) $(BOOK_STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -ra tests/chapters/test_book_browser.py --book-html _build/html

# Every chapter under nbval in quick mode (CHAPTERS="01_sqrt_cancellation ..." for some).
CHAPTERS ?= $(basename $(notdir $(wildcard chapters/*.ipynb)))
nbval: $(STAMP)
	MUPBOOK_SCALE=quick $(BIN)/python -m pytest --nbval-lax -p no:cacheprovider -ra $(addprefix chapters/,$(addsuffix .ipynb,$(CHAPTERS)))

# Student notebooks for Colab: no solutions, no MyST, exercise cells stubbed with checkers.
student: $(STAMP)
	$(BIN)/python tools/make_student.py chapters/*.ipynb --out _build/student

# One formatter and linter (ruff, configured in pyproject.toml) for the library, tests, tools,
# bench and the chapters' code cells; make test fails on anything unformatted or unlinted.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The GPU machine's check (tools/gpu_check.py): no .venv there, its own python3 with torch.
# Every CUDA path once (CUDA tests, the chapters, a short full-size run of each experiment)
# in about five minutes; the table goes to GPU_CHECK_OUT (default _build/gpu-check/).
# Without CUDA it says so and runs nothing. gpu-bundle fills .gpu/ here (wheels + offline data).
gpu-check:
	$(PYTHON) tools/gpu_check.py

gpu-bundle:
	$(PYTHON) tools/gpu_check.py --bundle

strip: $(STAMP)
	$(BIN)/python tools/notebook_policy.py --fix chapters/*.ipynb

# The repository's address is one setting, _config.yml's repository.url (and .branch): after
# changing it, this rewrites every copy (the chapters' Colab cells, the README's chapters
# table and links, book/*.md, pyproject.toml); tests/chapters/test_repository.py checks them.
repository: $(STAMP)
	$(BIN)/python tools/repository.py --write

# Every chapter under nbval in quick mode in a separate venv with Colab's package versions
# (tools/colab_versions.txt); not part of CI (it needs PyPI the first time).
colab-check:
	$(PYTHON) tools/colab_check.py $(CHAPTERS)

clean:
	rm -rf _build $(VENV) *.egg-info
