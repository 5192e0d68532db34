# Kubia's build. `make run` starts the local platform; `make test` runs everything CI runs.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

KUBE_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" { print $$2; exit }' hack/kube/go.mod)
KUBE_BIN_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/kubia/kube/$(KUBE_VERSION)
export KUBE_BIN_DIR
# The Go code finds the upstream binaries here (internal/localcluster).
export KUBIA_KUBE_BIN_DIR := $(KUBE_BIN_DIR)
KUBE_BINARIES := etcd kube-apiserver kube-controller-manager kube-scheduler kubectl \
	kubelet kube-proxy containerd containerd-shim-runc-v2 ctr coredns helm \
	krew validate-krew-manifest
# Debian packages the node needs (runc, CNI plugins, iptables, conntrack, iproute2 for the
# node tests' checks), the images (debootstrap), `make generate` (protobuf-compiler: protoc
# for go-to-protobuf) and the router's data-plane tests (haproxy, run on loopback).
# Installed by `make deps` when missing; without the node's, the node is skipped.
DEBIAN_PACKAGES := runc containernetworking-plugins iptables conntrack iproute2 debootstrap protobuf-compiler haproxy

GO_TEST_TIMEOUT ?= 30m

.PHONY: deps build kube-binaries krew-package generate verify-generate fmt-check vet lint test bench run clean

## deps: install the Debian packages the node and `make generate` need, when missing (as root,
## with apt-get)
deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [[ -z "$$missing" ]]; then exit 0; fi; \
	if [[ $$(id -u) != 0 ]]; then echo "Not root: cannot install $$missing; the node will not run (the control plane will)." >&2; exit 0; fi; \
	echo "Installing $$missing"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing

## build: the kubia binary and the kubectl-create-website plugin (`kubectl create website`
## once bin/ is on the PATH), plus bin/kubectl pointing at the matching upstream kubectl
build: deps kube-binaries
	go build -o bin/kubia ./cmd/kubia
	go build -o bin/kubectl-create-website ./cmd/kubectl-create-website
	ln -sfn $(KUBE_BIN_DIR)/kubectl bin/kubectl

## kube-binaries: build the upstream Kubernetes binaries that are not cached yet
kube-binaries:
	hack/kube/build.sh $(KUBE_BINARIES)

## krew-package: a krew release of the kubectl-create-website plugin in dist/krew, for
## KREW_TAG: a .tar.gz per platform of deploy/krew/create-website.yaml (linux amd64 and
## arm64) and that krew-release-bot template rendered with their sha256 (create-website.yaml)
KREW_TAG ?= v0.0.0-dev
krew-package:
	go run ./hack/krew-package -tag $(KREW_TAG) -out dist/krew

## generate: regenerate deepcopy code and CRDs (config/crd/bases, and the chart's copy) from
## the types in api/, the controllers' ClusterRole from their RBAC markers, and
## kubia-apiserver's conversions, defaulters, OpenAPI definitions and protobuf serialization
## (k8s.io/code-generator, kube-openapi; protoc from `make deps`) for the versions it serves
API_SERVED := ./api/extensions/v1 ./api/extensions/v1alpha1 ./api/login/v1
## OPENSHIFT_SERVED: OpenShift's own types that kubia-apiserver serves (their Go code comes
## generated with github.com/openshift/api; only their OpenAPI definitions are made here)
OPENSHIFT_SERVED := github.com/openshift/api/template/v1 github.com/openshift/api/route/v1 github.com/openshift/api/user/v1 \
	github.com/openshift/api/project/v1 github.com/openshift/api/oauth/v1
generate:
	hack/update-protobuf.sh $(API_SERVED)
	go tool controller-gen object paths=./api/...
	go tool controller-gen crd paths=./api/extensions/v1 paths=./api/servicecatalog/... \
		output:crd:artifacts:config=config/crd/bases
	go tool controller-gen rbac:roleName=kubia-controller-manager paths=./internal/controller/... \
		output:rbac:artifacts:config=charts/kubia/templates
	rm -f charts/kubia/crds/*.yaml && cp config/crd/bases/*.yaml charts/kubia/crds/
	go tool conversion-gen --go-header-file /dev/null --output-file zz_generated.conversion.go $(API_SERVED)
	go tool defaulter-gen --go-header-file /dev/null --output-file zz_generated.defaults.go $(API_SERVED)
	go tool openapi-gen --go-header-file /dev/null --output-file zz_generated.openapi.go \
		--output-dir internal/apiserver/openapi --output-pkg github.com/kubia-dev/kubia/internal/apiserver/openapi \
		--report-filename hack/openapi-violations.list --output-model-name-file zz_generated.model_name.go \
		k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/version \
		k8s.io/apimachinery/pkg/util/intstr \
		k8s.io/api/core/v1 $(OPENSHIFT_SERVED) $(API_SERVED)

## verify-generate: fail when generated files differ from what `make generate` writes
verify-generate:
	hack/verify-generate.sh

fmt-check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [[ -n "$$unformatted" ]]; then echo "Not gofmt'ed: $$unformatted" >&2; exit 1; fi

vet:
	go vet ./...

## lint: gofmt over everything, go vet over Kubia's module (hack/kube's three-line mains
## are checked by building them), helm lint of the chart
lint: fmt-check vet kube-binaries
	$(KUBE_BIN_DIR)/helm lint --strict charts/kubia

## test: lint, generated-code check, unit, integration and end-to-end tests
test: deps kube-binaries lint verify-generate
	go test -count=1 -timeout $(GO_TEST_TIMEOUT) ./...

## bench: the benchmarks whose figures docs/benchmarks.md records
bench: deps kube-binaries
	go test -run '^$$' -bench . -benchtime 3x ./test/e2e ./test/node ./test/apiserver ./internal/templateprocessing
	go test -run '^$$' -bench . -benchtime 1x -timeout 60m ./test/nodeapiserver

## run: build what is missing, then run the whole local platform (Ctrl-C stops it)
run: build
	bin/kubia up

clean:
	rm -rf bin dist
