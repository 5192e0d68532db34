#!/usr/bin/env bash
# Builds the named upstream binaries (etcd, kube-apiserver, ...) from the Go module proxy
# into the shared cache, skipping those already there. Versions come from this module's
# go.mod, the only place they are pinned.
set -euo pipefail
cd "$(dirname "$0")"

version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' go.mod)
bin_dir=${KUBE_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kubia/kube/$version}
mkdir -p "$bin_dir"

# k8s.io/kubernetes is not meant to be a dependency: letting the go command re-resolve
# this module (go mod tidy, go get) has been seen to downgrade it to v1.13.0. Build with
# the pinned graph and refuse to continue if the resolved version is not the pinned one.
export GOFLAGS=-mod=mod
resolved=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
if [[ $resolved != "$version" ]]; then
	echo "hack/kube resolves k8s.io/kubernetes to $resolved, not the pinned $version" >&2
	exit 1
fi

ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version"
ldflags+=" -X k8s.io/component-base/version.gitMajor=$(cut -d. -f1 <<<"${version#v}")"
ldflags+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$version")"
for name in "$@"; do
	[[ -x $bin_dir/$name ]] && continue
	echo "Building $name ($version) into $bin_dir"
	go build -trimpath -ldflags "$ldflags" -o "$bin_dir/$name.partial" "./cmd/$name"
	mv "$bin_dir/$name.partial" "$bin_dir/$name"
done
