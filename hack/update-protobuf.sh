#!/usr/bin/env bash
# Generates the protobuf serialization of the API versions kubia-apiserver serves
# (generated.proto and generated.pb.go beside their types, and the types' `protobuf:` struct
# tags), with k8s.io/code-generator's go-to-protobuf, as k8s.io/api's is. Run by `make
# generate` with the packages (as `go list` takes them) as arguments.
#
# go-to-protobuf finds everything by Go import path under one directory, a GOPATH's src (in
# Kubernetes, staging/src): protoc's imports of other packages' generated.proto, and where
# it writes each .pb.go. A module build has no such tree, so this lays a temporary one of
# symlinks (as argo-cd and Gardener's vgopath do), protoc's include path and go-to-protobuf's
# output directory: this module, and from the module cache k8s.io/apimachinery (meta/v1's
# generated.proto) and github.com/gogo/protobuf (gogo.proto; its copy of descriptor.proto,
# which gogo.proto imports, is added to the include path because Debian's protoc comes without
# one unless libprotobuf-dev is installed). Outputs are written through the module's link, so
# into the work tree.
set -euo pipefail
cd "$(dirname "$0")/.."

(($# > 0)) || { echo "usage: $0 PACKAGE..." >&2; exit 2; }
command -v protoc >/dev/null || { echo "protoc is missing: run 'make deps' (Debian's protobuf-compiler)" >&2; exit 1; }
# go-to-protobuf names packages by import path only.
packages=$(go list "$@" | paste -sd,)

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT

# link IMPORT_PATH DIR puts DIR at IMPORT_PATH in the temporary tree.
link() {
	mkdir -p "$tree/src/$(dirname "$1")"
	ln -s "$2" "$tree/src/$1"
}

# moduledir PACKAGE prints the directory of the module holding PACKAGE (downloaded if needed).
moduledir() {
	go list -f '{{.Module.Dir}}' "$1"
}

link "$(go list -m)" "$PWD"
link k8s.io/apimachinery "$(moduledir k8s.io/apimachinery/pkg/apis/meta/v1)"
gogo=$(moduledir github.com/gogo/protobuf/gogoproto)
link github.com/gogo/protobuf "$gogo"

# go-to-protobuf runs protoc, which runs protoc-gen-gogo, and then goimports, all from the
# PATH: the go.mod-pinned builds that `go tool -n` prints, not whatever is installed.
mkdir "$tree/bin"
for t in protoc-gen-gogo goimports; do
	ln -s "$(go tool -n "$t")" "$tree/bin/$t"
done

# The apimachinery packages whose types the API packages use: meta/v1's in fields, schema's
# GroupVersion in a variable (unknown, go-to-protobuf would make it a message of the API's
# own). They are only read ('-'): their generated code is apimachinery's own, in the module cache.
apimachinery=-k8s.io/apimachinery/pkg/apis/meta/v1,-k8s.io/apimachinery/pkg/runtime/schema
PATH="$tree/bin:$PATH" go tool go-to-protobuf \
	--go-header-file /dev/null \
	--apimachinery-packages="$apimachinery" \
	--packages="$packages" \
	--output-dir="$tree/src" \
	--proto-import="$gogo/protobuf"
