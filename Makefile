# Kubia's build. `make run` starts the local platform; `make test` runs everything CI runs.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

KUBE_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" { print $$2; exit }' hack/kube/go.mod)
KUBE_BIN_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kubia/kube/$(KUBE_VERSION)
export KUBE_BIN_DIR
# The Go code finds the upstream binaries here (internal/localcluster).
export KUBIA_KUBE_BIN_DIR := $(KUBE_BIN_DIR)
KUBE_BINARIES := etcd kube-apiserver kube-controller-manager kube-scheduler kubectl

GO_TEST_TIMEOUT ?= 30m

.PHONY: build kube-binaries generate verify-generate fmt-check vet lint test bench run clean

## build: the kubia binary, plus bin/kubectl pointing at the matching upstream kubectl
build: kube-binaries
	go build -o bin/kubia ./cmd/kubia
	ln -sfn $(KUBE_BIN_DIR)/kubectl bin/kubectl

## kube-binaries: build the upstream Kubernetes binaries that are not cached yet
kube-binaries:
	hack/kube/build.sh $(KUBE_BINARIES)

## generate: regenerate deepcopy code (and, once APIs exist, CRDs and RBAC)
generate:
	go tool controller-gen object paths=./...

## verify-generate: fail when generated files differ from what `make generate` writes
verify-generate:
	hack/verify-generate.sh

fmt-check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [[ -n "$$unformatted" ]]; then echo "Not gofmt'ed: $$unformatted" >&2; exit 1; fi

vet:
	go vet ./...
	cd hack/kube && go vet ./...

## lint: gofmt and go vet over both modules
lint: fmt-check vet

## test: lint, generated-code check, unit, integration and end-to-end tests
test: lint verify-generate kube-binaries
	go test -count=1 -timeout $(GO_TEST_TIMEOUT) ./...

## bench: the benchmarks whose figures docs/benchmarks.md records
bench: kube-binaries
	go test -run '^$$' -bench . -benchtime 3x ./test/e2e

## run: build what is missing, then run the whole local platform (Ctrl-C stops it)
run: build
	bin/kubia up

clean:
	rm -rf bin
