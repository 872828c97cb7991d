#!/usr/bin/env bash
# Checks the tools .ci/run cannot install from Debian's packages (or that must be new enough), before the long
# steps start: each missing or too old tool stops the run with one line naming it, the version required and
# the one found. Run by .ci/run after its apt-get step; `bash .ci/preflight.sh` alone checks this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
# Where .ci/run and test/cluster/build look for Go first (MLOPS_GO_BIN: another install, or a test's stand-in).
go_bin=${MLOPS_GO_BIN:-/usr/local/go/bin}
export PATH="$go_bin:$PATH"

stop() { echo ".ci/run: $*" >&2; exit 1; }
# version_ge A B: A >= B in version order (1.26.10 > 1.26.9).
version_ge() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" == "$2" ]]; }

# Node: the README's requirement (package.json engines), not in Debian bookworm (it ships 18).
node_required=$(sed -n 's/.*"node": *">= *\([0-9.]*\)".*/\1/p' package.json)
node_required=${node_required:-20}
command -v node >/dev/null || stop "Node.js >= $node_required is required (found: none on PATH); install it from nodejs.org or NodeSource, not Debian's nodejs 18"
node_found=$(node -p 'process.versions.node')
version_ge "$node_found" "$node_required" || stop "Node.js >= $node_required is required (found: $node_found)"
command -v npm >/dev/null || stop "npm is required (found: none on PATH beside node $node_found)"

# Go: the newest `go` directive among the repository's Go modules (test/psa, test/cluster/build/*).
go_required_by=$(find test -name go.mod -not -path '*/node_modules/*' -exec grep -H '^go ' {} + | sort -t' ' -k2 -V | tail -1)
go_required=${go_required_by##* }
if ! command -v go >/dev/null; then
  stop "Go >= $go_required is required by ${go_required_by%%:*} (found: none in $go_bin or on PATH; Debian bookworm's golang-go is 1.19): install it at /usr/local/go"
fi
go_found=$(GOTOOLCHAIN=local go env GOVERSION)
go_found=${go_found#go}
version_ge "$go_found" "$go_required" || stop "Go >= $go_required is required by ${go_required_by%%:*} (found: $go_found at $(command -v go)): install a newer one at /usr/local/go"

# python3 with venv (Debian splits venv/ensurepip into python3-venv).
command -v python3 >/dev/null || stop "python3 is required (found: none on PATH); apt-get install python3 python3-venv"
python3 -c 'import ensurepip, venv' 2>/dev/null || stop "python3-venv is required for the test venvs (python3 $(python3 -c 'import platform; print(platform.python_version())') has no ensurepip/venv); apt-get install python3-venv"

echo "preflight: node $node_found, go $go_found (>= $go_required), $(python3 --version) with venv"
