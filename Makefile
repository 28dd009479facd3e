# snapkeep — build, test and deploy.
#
#   make demo   run the product locally (moto + fake DigitalOcean)
#   make test   install missing tools, run unit and integration tests
#
# SAM builds each function through its build-<LogicalId> target
# (BuildMethod: makefile), writing $(ARTIFACTS_DIR)/bootstrap.

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
GO           ?= go
ARTIFACTS_DIR ?= $(CURDIR)/bin
LAMBDA_ENV   := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
LAMBDA_FLAGS := -trimpath -tags lambda.norpc -ldflags='-s -w'
# The race detector needs cgo, i.e. a C compiler (Go turns cgo off when it
# finds none); without one the tests run without -race rather than fail.
RACE         := $(shell [ "$$($(GO) env CGO_ENABLED 2>/dev/null)" = 1 ] && echo -race)
# Integration tests start their own moto_server per test binary; -p bounds
# how many run at once on a small machine.
TEST_FLAGS   ?= -count=1 $(RACE) -p 2 -timeout 20m

# LogicalId -> folder under functions/
FUNCTIONS := SnapshotFunction:snapshot SchedulesFunction:schedules ErrorRateFunction:errorrate NotifyFunction:notify

.PHONY: all build tools test lint demo deploy clean $(foreach f,$(FUNCTIONS),build-$(word 1,$(subst :, ,$(f))))

all: lint test

define build_function
build-$(1):
	mkdir -p "$$(ARTIFACTS_DIR)"
	$$(LAMBDA_ENV) $$(GO) build $$(LAMBDA_FLAGS) -o "$$(ARTIFACTS_DIR)/bootstrap" ./functions/$(2)
endef
$(foreach f,$(FUNCTIONS),$(eval $(call build_function,$(word 1,$(subst :, ,$(f))),$(word 2,$(subst :, ,$(f))))))

## build: every function for linux/arm64 into bin/<function>/bootstrap
build:
	@for f in $(FUNCTIONS); do \
	  id=$${f%%:*}; dir=$${f##*:}; \
	  $(MAKE) --no-print-directory build-$$id ARTIFACTS_DIR=$(CURDIR)/bin/$$dir; \
	  echo "built bin/$$dir/bootstrap"; \
	done

## tools: install the pinned Python tools (moto, cfn-lint, awscli) that are missing
tools:
	bash infra/tools.sh

## test: unit and integration tests (moto in server mode, fake DigitalOcean)
test: tools
	@[ -n "$(RACE)" ] || echo "make test: no C compiler (cgo off), so no -race; install gcc to test with the race detector"
	$(GO) test $(TEST_FLAGS) ./...

## lint: gofmt, go vet, cfn-lint
lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cfn-lint template.yaml

## demo: run the product locally: the real function binaries under a Lambda
## Runtime API emulator, moto in server mode and the fake DigitalOcean
demo: tools
	$(GO) run ./cmd/snaplocal demo

## deploy: build with SAM and deploy the stage (samconfig.toml's section
## STAGE; default dev): make deploy STAGE=prod
STAGE ?= dev
deploy:
	@command -v sam >/dev/null || { echo "make deploy: the AWS SAM CLI is not installed (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html)"; exit 1; }
	@grep -q '^\[$(STAGE)\.deploy\.parameters\]' samconfig.toml || { echo "make deploy: samconfig.toml has no [$(STAGE).deploy.parameters] section"; exit 1; }
	sam validate --lint
	sam build --config-env $(STAGE)
	sam deploy --config-env $(STAGE)

clean:
	rm -rf bin .aws-sam
