#!/usr/bin/env bash
# Builds (or reuses) the binaries and fetches the upstream CRDs the control-plane suites (test/cluster/) need,
# from the Go module proxy, into a cache outside the clone:
#   ${MLOPS_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-blueprint}/<component>-<version>/
# A component is rebuilt only when its inputs change (its pinned version, its scratch module's go.mod/go.sum,
# its build flags): each finished directory carries a .stamp with the hash of those inputs, and is built in a
# temporary directory that is renamed into place only when complete, under a per-component lock, so running
# this twice (or concurrently) is safe and the second run does nothing.
#
#   bash test/cluster/build/build.sh                 # everything
#   bash test/cluster/build/build.sh kubernetes etcd # some components (names: see `components` below)
#   bash test/cluster/build/build.sh prometheus      # the Prometheus server (not built by default)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache_root=${MLOPS_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-blueprint}
export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "build.sh: the Go toolchain (go >= 1.24) is not installed: put it at /usr/local/go or on PATH" >&2; exit 1; }
# The scratch modules' go.sum files are committed: a dependency that does not match them is an error, not an update.
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOTOOLCHAIN=local
parallel=${MLOPS_BUILD_PARALLEL:-2}
mkdir -p "$cache_root"

log() { printf '[cluster-build] %s\n' "$*" >&2; }
module_dir() { go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'; }
inputs_hash() { { printf '%s\n' "$@"; } | sha256sum | cut -c1-16; }

# ensure <dir-name> <recipe-function> <inputs...>: runs the recipe into a temp dir unless <dir-name> is stamped
# with the same inputs; prints the final directory.
ensure() {
  local name=$1 recipe=$2; shift 2
  local dest="$cache_root/$name" key; key=$(inputs_hash "$@")
  exec 9>"$cache_root/.$name.lock"; flock 9
  if [[ -f "$dest/.stamp" && "$(cat "$dest/.stamp")" == "$key" ]]; then
    log "$name: cached"
  else
    local tmp="$cache_root/.$name.tmp.$$" t0; t0=$(date +%s)
    rm -rf "$tmp"; mkdir -p "$tmp"
    log "$name: building"
    "$recipe" "$tmp"
    echo "$key" >"$tmp/.stamp"
    rm -rf "$dest"; mv "$tmp" "$dest"
    log "$name: built in $(( $(date +%s) - t0 ))s"
  fi
  exec 9>&-
  echo "$dest"
}

sum_of() { cat "$here/$1/go.mod" "$here/$1/go.sum" | sha256sum | cut -c1-16; }

# --- Kubernetes: kube-apiserver, kube-controller-manager, kube-scheduler, kubectl -----------------------------
k8s_ldflags() {
  local v=$KUBERNETES_VERSION minor; minor=${v#v1.}; minor=${minor%%.*}
  local x
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "-s -w$x"
}
build_kubernetes() {
  (cd "$here/kubernetes" && go build -p "$parallel" -trimpath -ldflags "$(k8s_ldflags)" -o "$1/bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
}

# --- etcd ---------------------------------------------------------------------------------------------------
build_etcd() {
  (cd "$here/etcd" && go build -p "$parallel" -trimpath -ldflags "-s -w" -o "$1/bin/etcd" go.etcd.io/etcd/server/v3)
}

# --- kwok and its stages (it has none built in) ----------------------------------------------------------------
build_kwok() {
  GOBIN="$1/bin" GOFLAGS=-buildvcs=false go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  local src; src=$(GOFLAGS= module_dir sigs.k8s.io/kwok "$KWOK_VERSION")
  mkdir -p "$1/stage"; cp -r "$src/kustomize/stage/." "$1/stage/"; chmod -R u+w "$1/stage"
}

# --- Pulumi CLI (the engine; Node programs run through the Automation API as inline programs) -----------------
build_pulumi() {
  local ld="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
  (cd "$here/pulumi" && go build -p "$parallel" -trimpath -ldflags "$ld" -o "$1/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

# --- Pulumi Kubernetes provider, versioned as the plugin @pulumi/kubernetes in package-lock.json asks for -------
pulumi_kubernetes_plugin_version() {
  node -e 'const l=require(process.argv[1]);process.stdout.write(l.packages["node_modules/@pulumi/kubernetes"].version)' \
    "$repo/package-lock.json"
}
build_pulumi_kubernetes() {
  local out=$1 ver; ver=$(pulumi_kubernetes_plugin_version)
  local src; src=$(GOFLAGS= module_dir github.com/pulumi/pulumi-kubernetes/provider/v4 "$PULUMI_KUBERNETES_PROVIDER_MODULE")
  # main.go embeds schema-embed.json, which the module zip does not carry: copy the command into a work copy of
  # the scratch module and run the module's own generator (generate.go) there, as its `go generate` does.
  local work="$out/.work"; mkdir -p "$work/cmd"
  cp "$here/pulumi-kubernetes/go.mod" "$here/pulumi-kubernetes/go.sum" "$here/pulumi-kubernetes/tools.go" "$work/"
  cp "$src/cmd/pulumi-resource-kubernetes/"{main.go,generate.go,schema.json,terraform-mapping.json} "$work/cmd/"
  chmod -R u+w "$work"
  (cd "$work/cmd" && VERSION="$ver" go run ./generate.go)
  (cd "$work" && go build -p "$parallel" -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$ver" \
    -o "$out/bin/pulumi-resource-kubernetes" ./cmd)
  echo "$ver" >"$out/plugin-version"
  rm -rf "$work"
}

# --- promtool (Prometheus rule tests in later suites) -----------------------------------------------------------
build_promtool() {
  # The module is versioned v0.3XX.Y; the release it is (3.XX.Y) is in the zip's VERSION file.
  local src; src=$(GOFLAGS= module_dir github.com/prometheus/prometheus "$PROMETHEUS_VERSION")
  local ld="-s -w -X github.com/prometheus/common/version.Version=$(cat "$src/VERSION")"
  (cd "$here/prometheus" && go build -p "$parallel" -trimpath -ldflags "$ld" -o "$1/bin/promtool" github.com/prometheus/prometheus/cmd/promtool)
}

# --- prometheus (the README's dashboard screenshot scrapes our real servers with it; no web UI assets needed) -----
build_prometheus() {
  local src; src=$(GOFLAGS= module_dir github.com/prometheus/prometheus "$PROMETHEUS_VERSION")
  local ld="-s -w -X github.com/prometheus/common/version.Version=$(cat "$src/VERSION")"
  (cd "$here/prometheus-server" && go build -p "$parallel" -trimpath -ldflags "$ld" -o "$1/bin/prometheus" github.com/prometheus/prometheus/cmd/prometheus)
}

# --- Argo Workflows' workflow-controller, built inside its own module (its go.mod pins its dependencies) -----------
build_argo_workflows() {
  local src; src=$(GOFLAGS= module_dir github.com/argoproj/argo-workflows/v4 "$ARGO_WORKFLOWS_VERSION")
  local ld="-s -w -X github.com/argoproj/argo-workflows/v4.version=$ARGO_WORKFLOWS_VERSION"
  # -mod=mod: the module zip is the main module here; its go.sum is used as shipped (this is the command that ran).
  (cd "$src" && GOFLAGS="-mod=mod -buildvcs=false" go build -p "$parallel" -trimpath -ldflags "$ld" -o "$1/bin/workflow-controller" ./cmd/workflow-controller)
}

# --- upstream CRDs from the operators' module zips (crds.tsv), one directory per operator and version ----------
fetch_crds() {
  local out=$1 module=$2 version=$3 path=$4 src
  src=$(GOFLAGS= module_dir "$module" "$version")
  if [[ -d "$src/$path" ]]; then
    find "$src/$path" -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.yml' \) ! -name kustomization.yaml \
      -exec cp {} "$out/" \;
  else
    cp "$src/$path" "$out/"
  fi
  chmod -R u+w "$out"
  printf '%s@%s %s\n' "$module" "$version" "$path" >"$out/SOURCE"
}
ensure_crds() {
  local name module version path
  while IFS=$'\t' read -r name module version path; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    ensure "crds-$name-$version" "fetch_crds_row" "$module" "$version" "$path"
  done <"$here/crds.tsv"
}
fetch_crds_row() { fetch_crds "$1" "$module" "$version" "$path"; }

components=(kubernetes etcd kwok pulumi pulumi-kubernetes promtool prometheus argo-workflows crds)
# prometheus and argo-workflows only on request. No suite needs Prometheus (scripts/dashboard-screenshot.ts runs it).
# test/cluster/pipelines.test.ts runs the workflow-controller, whose cold build takes about an hour here: .ci/run
# builds it as a separate background job started before everything else, so it overlaps the other steps.
defaults=(kubernetes etcd kwok pulumi pulumi-kubernetes promtool crds)
selected=("$@"); [[ ${#selected[@]} -eq 0 ]] && selected=("${defaults[@]}")
for c in "${selected[@]}"; do
  case $c in
    kubernetes) ensure "kubernetes-$KUBERNETES_VERSION" build_kubernetes "$KUBERNETES_VERSION" "$(sum_of kubernetes)" "$(k8s_ldflags)" ;;
    etcd) ensure "etcd-$ETCD_VERSION" build_etcd "$ETCD_VERSION" "$(sum_of etcd)" ;;
    kwok) ensure "kwok-$KWOK_VERSION" build_kwok "$KWOK_VERSION" ;;
    pulumi) ensure "pulumi-$PULUMI_VERSION" build_pulumi "$PULUMI_VERSION" "$(sum_of pulumi)" ;;
    pulumi-kubernetes)
      v=$(pulumi_kubernetes_plugin_version)
      ensure "pulumi-resource-kubernetes-v$v" build_pulumi_kubernetes "$v" "$PULUMI_KUBERNETES_PROVIDER_MODULE" "$(sum_of pulumi-kubernetes)" ;;
    promtool) ensure "promtool-$PROMETHEUS_VERSION" build_promtool "$PROMETHEUS_VERSION" "$(sum_of prometheus)" ;;
    prometheus) ensure "prometheus-$PROMETHEUS_VERSION" build_prometheus "$PROMETHEUS_VERSION" "$(sum_of prometheus-server)" ;;
    argo-workflows) ensure "argo-workflows-$ARGO_WORKFLOWS_VERSION" build_argo_workflows "$ARGO_WORKFLOWS_VERSION" ;;
    crds) ensure_crds ;;
    *) echo "build.sh: unknown component '$c' (one of: ${components[*]})" >&2; exit 2 ;;
  esac
done
