#!/usr/bin/env bash
# Builds the named upstream binaries from the Go module proxy into the shared cache,
# skipping those already built at the pinned version:
#   - Kubernetes and etcd (etcd, kube-apiserver, kubelet, kubectl, ...) from this module,
#     whose go.mod pins their versions;
#   - containerd (containerd, containerd-shim-runc-v2, ctr), CoreDNS (coredns), Helm
#     (helm) and krew (krew, validate-krew-manifest: test/krew installs the kubectl plugin
#     with them) with `go install module@version`, at the versions pinned below, each with
#     its own go.mod: krew's requires k8s.io/client-go v11.0.0+incompatible, which would
#     displace v0.37.2 in Kubia's.
set -euo pipefail
cd "$(dirname "$0")"

CONTAINERD_VERSION=v2.4.2
COREDNS_VERSION=v1.15.0
HELM_VERSION=v3.22.0
KREW_VERSION=v0.4.3

kube_version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' go.mod)
bin_dir=${KUBE_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kubia/kube/$kube_version}
mkdir -p "$bin_dir"

# k8s.io/kubernetes is not meant to be a dependency: letting the go command re-resolve
# this module (go mod tidy, go get) has been seen to downgrade it to v1.13.0. Build with
# the pinned graph and refuse to continue if the resolved version is not the pinned one.
check_kube_version() {
	local resolved
	resolved=$(GOFLAGS=-mod=mod go list -m -f '{{.Version}}' k8s.io/kubernetes)
	if [[ $resolved != "$kube_version" ]]; then
		echo "hack/kube resolves k8s.io/kubernetes to $resolved, not the pinned $kube_version" >&2
		exit 1
	fi
}

build_kube() { # name
	local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kube_version"
	ldflags+=" -X k8s.io/component-base/version.gitMajor=$(cut -d. -f1 <<<"${kube_version#v}")"
	ldflags+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$kube_version")"
	GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$bin_dir/$1.partial" "./cmd/$1"
}

go_install() { # name package@version [build tags]
	local gobin
	gobin=$(mktemp -d)
	trap 'rm -rf "$gobin"' RETURN
	CGO_ENABLED=0 GOBIN=$gobin go install -trimpath -ldflags "-s -w" -tags "${3:-}" "$2"
	mv "$gobin/$(basename "${2%@*}")" "$bin_dir/$1.partial"
}

for name in "$@"; do
	case $name in
	containerd | containerd-shim-runc-v2 | ctr) version=$CONTAINERD_VERSION ;;
	coredns) version=$COREDNS_VERSION ;;
	helm) version=$HELM_VERSION ;;
	krew | validate-krew-manifest) version=$KREW_VERSION ;;
	# etcd and Kubernetes: the inputs that decide what gets built.
	*) version=$kube_version-$(cat go.mod go.sum "cmd/$name/main.go" | sha256sum | cut -c1-12) ;;
	esac
	# Each binary records the version it was built at, so a bump rebuilds it.
	if [[ -x $bin_dir/$name && $(cat "$bin_dir/$name.version" 2>/dev/null) == "$version" ]]; then
		continue
	fi
	echo "Building $name $version into $bin_dir"
	case $name in
	containerd | containerd-shim-runc-v2 | ctr)
		go_install "$name" "github.com/containerd/containerd/v2/cmd/$name@$version" "no_btrfs no_devmapper no_zfs" ;;
	coredns)
		go_install "$name" "github.com/coredns/coredns@$version" ;;
	helm)
		go_install "$name" "helm.sh/helm/v3/cmd/helm@$version" ;;
	krew | validate-krew-manifest)
		go_install "$name" "sigs.k8s.io/krew/cmd/$name@$version" ;;
	*)
		check_kube_version
		build_kube "$name" ;;
	esac
	mv "$bin_dir/$name.partial" "$bin_dir/$name"
	echo "$version" >"$bin_dir/$name.version"
done
