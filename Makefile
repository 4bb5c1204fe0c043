# Firebreak — the make targets are the interface:
#   make demo    the seed scenario contained end to end on the embedded emulator
#   make test    everything CI runs: typecheck, Terraform checks, checkov, unit and database, emulator and end-to-end tests
#   make build   dist/<function>.zip (reproducible) and dist/<function>.iam.json
#   make emulator / emulator-stop / emulator-reset
#   make databases / databases-stop   the local PostgreSQL and MariaDB the database tests use
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

NODE_BIN := node_modules/.bin
NPM_STAMP := node_modules/.firebreak-installed
TF := scripts/terraform.sh
# The local PostgreSQL and MariaDB (loopback, TLS): `$(WITH_DATABASES) cmd` runs cmd with them up
# and their settings exported, and stops afterwards only what it started.
DATABASES_SH := scripts/databases.sh
WITH_DATABASES := $(DATABASES_SH) with

# npm scripts put node_modules/.bin first on PATH; so do we, so every tool runs on the
# project's Node 22 (the machine's node may be older).
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

include scripts/emulator/emulator.mk

.PHONY: help install build typecheck tf-check tf-test checkov checkov-venv test test-unit test-databases test-emulator test-e2e demo clean bench databases databases-stop databases-status

help:
	@sed -n '2,6p' Makefile

$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is required (it brings Node 22 for the project)"; exit 1; }
	npm ci --no-audit --no-fund
	@$(NODE_BIN)/node --version | grep -q '^v2[2-9]' || { echo "node_modules/.bin/node is not Node >= 22: the node@22 package did not install"; exit 1; }
	@touch $@

install: $(NPM_STAMP) emulator-venv checkov-venv

# checkov (pinned, in .venv-checkov): scripts/checkov.sh.
checkov-venv:
	@scripts/checkov.sh ensure-venv

build: $(NPM_STAMP)
	$(NODE_BIN)/node scripts/build.ts

typecheck: $(NPM_STAMP)
	$(NODE_BIN)/tsc --noEmit -p .

tf-check: build
	$(TF) fmt -check -recursive terraform
	$(TF) -chdir=terraform init -backend=false -input=false -no-color >/dev/null
	$(TF) -chdir=terraform validate -no-color
	@for example in terraform/examples/*/; do \
	  echo "validate $$example"; \
	  $(TF) -chdir=$$example init -input=false -no-color >/dev/null && \
	  $(TF) -chdir=$$example validate -no-color || exit 1; \
	done
	$(TF) -chdir=terraform/modules/member-role init -backend=false -input=false -no-color >/dev/null
	$(TF) -chdir=terraform/modules/member-role validate -no-color

tf-test: tf-check
	$(TF) -chdir=terraform test -no-color
	$(TF) -chdir=terraform/modules/member-role test -no-color

# checkov over terraform/ (the module, modules/*, examples/*): no failed check, every skip with its
# reason. The rendered policies are checked after the e2e deploy (test/e2e/rendered-policies.test.ts).
checkov: checkov-venv
	scripts/checkov.sh terraform

# The database tests run with the unit tests, in one coverage: shared/actions/database is covered by
# the real servers, not by mocks of them.
test-unit: $(NPM_STAMP)
	$(WITH_DATABASES) $(NODE_BIN)/vitest run --project unit --project databases --coverage

test-databases: $(NPM_STAMP)
	$(WITH_DATABASES) $(NODE_BIN)/vitest run --project databases

databases:
	@$(DATABASES_SH) start

databases-stop:
	@$(DATABASES_SH) stop

databases-status:
	@$(DATABASES_SH) status

test-emulator: install
	$(WITH_EMULATOR) $(NODE_BIN)/vitest run --project emulator

test-e2e: install build
	$(WITH_EMULATOR) $(WITH_DATABASES) $(NODE_BIN)/vitest run --project e2e

test: install typecheck tf-test checkov test-unit
	$(WITH_EMULATOR) $(WITH_DATABASES) $(NODE_BIN)/vitest run --project emulator --project e2e

demo: install build
	$(WITH_EMULATOR) scripts/firebreak.sh demo

bench: install build
	$(WITH_EMULATOR) $(NODE_BIN)/node scripts/bench.ts

clean:
	rm -rf dist coverage .firebreak/bundles .firebreak/logs
