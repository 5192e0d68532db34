#!/usr/bin/env bash
# Fails when `make generate` changes any generated file, i.e. when the generated code in
# the tree does not match its sources. Other uncommitted work does not matter.
set -euo pipefail
cd "$(dirname "$0")/.."

generated() {
	git ls-files --cached --others --exclude-standard -- '*zz_generated*' '*/generated.proto' '*/generated.pb.go' 'config/' 'charts/kubia/crds/' 'charts/kubia/templates/role.yaml' 'hack/openapi-violations.list' |
		sort | xargs -r sha256sum
}

before=$(generated)
make --no-print-directory generate
after=$(generated)
if [[ $before != "$after" ]]; then
	diff <(echo "$before") <(echo "$after") >&2 || true
	echo "Generated files were out of date; 'make generate' has rewritten them: review and commit." >&2
	exit 1
fi
