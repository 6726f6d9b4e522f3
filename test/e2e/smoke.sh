#!/usr/bin/env bash
# smoke.sh — check the e2e control plane itself: provision, start, use it with kubectl (namespaces,
# a Pod, a Deployment whose ReplicaSet creates Pods), stop, and make sure nothing is left running.
# Uses its own run dir, so it does not touch a cluster started with the default E2E_RUN_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export E2E_RUN_DIR=${E2E_SMOKE_RUN_DIR:-/tmp/probe-injector-e2e-smoke}

step() { echo "smoke: $*"; }
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }

t=$SECONDS
bin=$("$HERE/provision.sh" | tail -n 1)
bin=${bin#BIN_DIR=}
step "provision: $((SECONDS - t)) s (bin dir $bin)"

trap '"$HERE/cluster.sh" stop >/dev/null 2>&1 || true' EXIT
t=$SECONDS
envs=$(E2E_BIN_DIR=$bin "$HERE/cluster.sh" start)
step "cluster start: $((SECONDS - t)) s"
while IFS= read -r line; do export "${line?}"; done <<<"$envs"

kubectl=$bin/kubectl
[[ -x $kubectl ]] || kubectl=$(command -v kubectl) || fail "no kubectl in $bin or on PATH"
k() { "$kubectl" --request-timeout=20s "$@"; }

k version --short
k get ns
ns=smoke-$RANDOM
k create namespace "$ns"
# Right after the namespace exists: the ServiceAccount admission plugin needs `default` there.
k -n "$ns" run bare --image=registry.example/none:1 --restart=Never
[[ $(k -n "$ns" get pod bare -o jsonpath='{.spec.serviceAccountName}') == default ]] ||
  fail "pod has no serviceAccountName default"
if [[ ${E2E_CONTROLLER_MANAGER:-yes} == yes ]]; then
  k -n "$ns" create deployment web --image=registry.example/none:1
  for ((i = 0; i < 150; i++)); do
    pods=$(k -n "$ns" get pods -l app=web -o name)
    [[ -n $pods ]] && break
    sleep 0.2
  done
  [[ -n $pods ]] || fail "the Deployment's ReplicaSet created no pod in 30 s"
  k -n "$ns" get deploy,rs,pods
fi

t=$SECONDS
"$HERE/cluster.sh" stop
trap - EXIT
step "cluster stop: $((SECONDS - t)) s"
left=$(pgrep -af -- "$E2E_RUN_DIR/" || true)   # every component's command line names the run dir
[[ -z $left ]] || fail "still running after stop: $left"
step "ok: nothing left running"
