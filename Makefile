# Gamma Airways CMP: developer entry points. See README.md.
SHELL := /bin/bash
export CARGO_TERM_COLOR ?= never
export AWS_DEFAULT_REGION ?= eu-west-1
VENV := .venv
PROFILES ?= 100000
CUSTOMERS ?= 2000

.PHONY: setup build dev test lint unit integration validate bench bench-auth bench-export bench-compensate bench-init sam-build fmt clean

## setup: install the local tools (moto, SAM CLI, cfn-lint, cargo-lambda) into .venv and fetch crates
setup:
	bash scripts/setup.sh
	cargo fetch

## build: compile the workspace (debug)
build:
	cargo build --workspace

## dev: run the platform locally on the emulator with demo data (HTTP API on 127.0.0.1:3000)
dev: setup
	cargo run -q -p cmpctl -- dev --customers $(CUSTOMERS)

## test: everything CI runs: format, lint, unit and integration tests, template validation
test: setup lint validate unit integration

lint:
	cargo fmt --all -- --check
	python3 scripts/check_layers.py
	cargo clippy --workspace --all-targets -- -D warnings
	@# each function alone, with only its own features (the workspace build unifies them all)
	for f in functions/*/; do cargo check -q -p "$$(basename $$f)" || exit 1; done

unit:
	cargo test --workspace --exclude cmp-tests

integration:
	cargo test -p cmp-tests --tests -- --nocapture

validate:
	$(VENV)/bin/sam validate --lint -t infra/template.yaml
	$(VENV)/bin/python scripts/check_schemas.py

## bench: the ingest benchmark (prints the figures recorded in docs/benchmarks.md)
bench: setup
	cargo run -q -p cmpctl -- bench ingest --customers $(CUSTOMERS)

## bench-auth: what authorisation and the audit trail cost per read
bench-auth: setup
	cargo run -q -p cmpctl -- bench auth --reads 500

## bench-export: partner exports over 100,000 customers seeded into the local stack
bench-export: setup
	cargo run -q --release -p cmpctl -- bench export --profiles $(PROFILES)

## bench-compensate: a cancelled flight of 400 passengers, from the disruption event to every case
bench-compensate: setup
	cargo run -q -p cmpctl -- bench compensate --passengers 400

## bench-init: cold start of every function beside a hello-world lambda_runtime binary (release builds)
bench-init: setup
	cargo build --release $(foreach f,$(notdir $(wildcard functions/*)),-p $(f)) -p hello-lambda
	cargo run -q -p cmpctl -- bench init --runs 10 --profile release

## sam-build: arm64 release build of every function, as `sam build` does for a deployment
sam-build: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam build --config-env dev

fmt:
	cargo fmt --all

clean:
	cargo clean
	rm -rf .local .aws-sam
