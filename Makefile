# Python concurrency, hands-on.
#   make lab    set up (once) and open the course in JupyterLab
#   make test   set up (once) and run the whole test suite (what CI runs)
# Instructor steps, one per command (A=<assignment>, e.g. A=ps1_process_pool):
#   make generate [A=...]   source/ -> release/ (all assignments when A is not given)
#   make release A=...      put release/A into the exchange for students to fetch
#   make collect A=...      exchange -> submitted/
#   make autograde A=...    submitted/ -> autograded/ and the gradebook (parallel, sandboxed)
#   make feedback A=...     generate feedback and hand it back through the exchange
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
ASSIGNMENTS := $(notdir $(wildcard source/ps*))

.PHONY: lab test env generate release collect autograde feedback grades clean-outputs

env: $(TEST_STAMP)

$(STAMP): requirements.txt
	@$(PYTHON) tools/check_python.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-[0-9]* && touch $@

$(TEST_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-test-* && touch $@

lab: $(STAMP)
	$(BIN)/python -m tools.lab $(ARGS)

test: $(TEST_STAMP)
	$(BIN)/python -m tools.test $(ARGS)

generate: $(STAMP)
	$(BIN)/python -m tools.assignments generate $(A)

release: $(STAMP)
	$(NBG) release_assignment $(A)

collect: $(STAMP)
	$(NBG) collect $(A)

autograde: $(STAMP)
	$(BIN)/python -m grader autograde $(A) $(ARGS)

feedback: $(STAMP)
	$(NBG) generate_feedback $(A)
	$(NBG) release_feedback $(A)

grades: $(STAMP)
	$(NBG) export --to grades.csv

clean-outputs:
	rm -rf submitted autograded/*/ feedback exchange gradebook.db
