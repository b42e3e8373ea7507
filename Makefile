# Python concurrency, hands-on.  `make help` lists every target.
#   make lab    set up (once) and open the course in JupyterLab
#   make test   set up (once) and run the whole test suite (what CI runs)
#   make site   set up (once) and build the course's website, both editions, into build/site/
# Instructor steps, one per command (A=<assignment>, e.g. A=ps1_process_pool); each
# brings the gradebook up to date with source/ itself (python -m tools.instructor):
#   make generate [A=...]   source/ -> release/ and the gradebook (all assignments when A is not given)
#   make release A=...      put release/A into the exchange for students to fetch
#   make collect A=...      exchange -> submitted/ (each student's latest submission)
#   make autograde A=...    submitted/ -> autograded/ and the gradebook (parallel, sandboxed)
#   make feedback A=...     feedback for every graded student, handed back through the exchange
#   make grades             export the gradebook to grades.csv

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
# One stamp per set of requirements: the course's (make lab), and the course's plus the
# tests' (make test); each is named by a checksum of its files, so editing either reinstalls.
STAMP  := $(VENV)/.installed-$(shell cksum < requirements.txt | cut -d' ' -f1)
TEST_STAMP := $(VENV)/.installed-test-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
NBG    := $(BIN)/nbgrader
# An assignment is a folder of source/ holding a notebook (as tools/assignments.py says)
ASSIGNMENTS := $(sort $(patsubst source/%/,%,$(dir $(wildcard source/*/*.ipynb))))

.PHONY: help lab test env site generate release collect autograde feedback grades mutation accuracy clean-outputs

env: $(TEST_STAMP)

# Set-up: uv installs the pinned sets into .venv (the venv's own pip installs uv first, pinned
# here), copying the files and compiling their bytecode: a grading kernel runs as a uid that
# cannot write .pyc files, and reads what is compiled.  One run per stamp: make test installs
# both files in one run.
UV_VERSION := 0.13.9
define install
	@$(PYTHON) tools/check_python.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv && $(BIN)/uv --version | grep -qE '^uv $(UV_VERSION)( |$$)' \
		|| $(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --link-mode=copy --compile-bytecode $(1)
endef

$(STAMP): requirements.txt
	$(call install,-r requirements.txt)
	@rm -f $(VENV)/.installed-[0-9]* && touch $@

$(TEST_STAMP): requirements.txt requirements-dev.txt
	$(call install,-r requirements.txt -r requirements-dev.txt)
	@rm -f $(VENV)/.installed-* && touch $@ $(STAMP)

# make lab LANG=zh: the Chinese edition (中文版) with JupyterLab in Chinese.  Only a LANG
# given on make's command line switches it; the locale in the environment does not.
LAB_LANG := $(if $(filter command line,$(origin LANG)),$(filter zh%,$(LANG)))

lab: $(STAMP)
	$(BIN)/python -m tools.lab $(if $(LAB_LANG),--lang zh) $(ARGS)

test: $(TEST_STAMP)
	$(BIN)/python -m tools.test $(ARGS)

# The website of both editions, from the notebooks' stored outputs (Sphinx is pinned in
# requirements-dev.txt): build/site/, read it with python -m http.server -d build/site
site: $(TEST_STAMP)
	$(BIN)/python -m tools.site $(ARGS)

generate: $(STAMP)
	$(BIN)/python -m tools.assignments generate $(A)

release: $(STAMP)
	$(BIN)/python -m tools.instructor release "$(A)" $(ARGS)

collect: $(STAMP)
	$(BIN)/python -m tools.instructor collect "$(A)" $(ARGS)

autograde: $(STAMP)
	$(BIN)/python -m tools.instructor autograde "$(A)" $(ARGS)

feedback: $(STAMP)
	$(BIN)/python -m tools.instructor feedback "$(A)" $(ARGS)

grades: $(STAMP)
	$(BIN)/python -m tools.instructor grades $(ARGS)

mutation: $(TEST_STAMP)
	$(BIN)/python -m tools.mutation run "$(A)" $(ARGS)

accuracy: $(TEST_STAMP)
	$(BIN)/python -m tools.accuracy "$(A)" $(ARGS)

clean-outputs:
	rm -rf submitted autograded/*/ feedback exchange gradebook.db

# One line per target (tests/test_instructor_loop.py checks that none is missing).
help:
	@echo "make TARGET [A=<assignment>] [ARGS=\"extra arguments\"]"
	@echo "  help           this list"
	@echo "  lab            set up .venv (once) and open the course in JupyterLab (LANG=zh: the Chinese edition)"
	@echo "  test           set up .venv with the test tools (once) and run the whole test suite"
	@echo "  env            create or update .venv from requirements.txt and requirements-dev.txt"
	@echo "  site           the website of both editions (English and Chinese) -> build/site/ (set-up as for test)"
	@echo "  generate       source/ -> release/ and the gradebook (A=... for one assignment; commit release/)"
	@echo "  release        A=...: release/A -> the exchange, for students to fetch"
	@echo "  collect        A=...: the exchange -> submitted/, each student's latest submission"
	@echo "  autograde      A=...: submitted/ -> autograded/ and the gradebook (parallel, sandboxed)"
	@echo "  feedback       A=...: feedback for every graded student, handed back through the exchange"
	@echo "  grades         the gradebook -> grades.csv"
	@echo "  mutation       A=...: mutation testing of the reference solution -> tests/grading/A/MUTATION.md"
	@echo "  accuracy       A=...: grade A's cases listed in ACCURACY-PENDING one at a time (ARGS=\"CASE ...\", --all)"
	@echo "  clean-outputs  delete submitted/, autograded/, feedback/, the exchange and the gradebook"
	@echo "assignments: $(ASSIGNMENTS)"

# A target that does not exist (a typo): say where the list is.
%:
	@echo "make: there is no target '$@'; \`make help\` lists them" >&2; exit 2
