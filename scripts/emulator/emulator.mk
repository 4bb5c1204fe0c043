# Firebreak's local AWS emulator (moto_server 5.2.5 + scripts/emulator/patches.py).
# Included by the top-level Makefile:  include scripts/emulator/emulator.mk
#
#   make emulator        start it in the background (reuses a running one) and return
#   make emulator-stop   stop the emulator this checkout started (pidfile), nothing else
#   make emulator-reset  clear all emulated AWS state (POST /moto-api/reset)
#   make emulator-status
#
# To run a recipe against the emulator and stop it afterwards only if the recipe
# started it, prefix the command with $(WITH_EMULATOR), e.g.
#   test-emulator: ; $(WITH_EMULATOR) npx vitest run --project emulator

EMULATOR_HOST ?= 127.0.0.1
EMULATOR_PORT ?= 4566
EMULATOR_URL ?= http://$(EMULATOR_HOST):$(EMULATOR_PORT)

EMULATOR_ENV = FIREBREAK_EMULATOR_HOST=$(EMULATOR_HOST) FIREBREAK_EMULATOR_PORT=$(EMULATOR_PORT)
EMULATOR_SH = $(EMULATOR_ENV) scripts/emulator/emulator.sh
WITH_EMULATOR = $(EMULATOR_ENV) AWS_ENDPOINT_URL=$(EMULATOR_URL) scripts/emulator/with-emulator.sh

.PHONY: emulator emulator-stop emulator-reset emulator-status emulator-venv

emulator:
	@$(EMULATOR_SH) start

emulator-stop:
	@$(EMULATOR_SH) stop

emulator-reset:
	@$(EMULATOR_SH) reset

emulator-status:
	@$(EMULATOR_SH) status

emulator-venv:
	@$(EMULATOR_SH) ensure-venv
