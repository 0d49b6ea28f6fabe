# Ferry: `make demo` runs the whole thing on the embedded default, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# the Kerberos extra builds against the system's Kerberos headers: only where they are installed
EXTRAS := test$(shell command -v krb5-config >/dev/null 2>&1 && echo ,kerberos)
comma := ,
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)-$(subst $(comma),-,$(EXTRAS))
PYTEST_ARGS ?=

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-*
	touch $@

demo: install
	FERRY_DEMO=1 FERRY_ALLOW_INSECURE_WINRM=1 $(BIN)/python manage.py demo

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff: imports sorted, lines at most 120 characters, pyflakes (pyproject.toml [tool.ruff])
lint: install
	$(BIN)/ruff check .

bench: install
	FERRY_DEMO=1 $(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) var .bench build *.egg-info
