#!/usr/bin/env bash
# install-ci-deps.sh — tools the test suite needs besides npm packages. Idempotent: installs only
# what is missing, so a second run does nothing.
#
#   kubectl  test/manifests.test.ts renders manifests/ with `kubectl kustomize`. From Debian's
#            kubernetes-client package (kubectl 1.20 with kustomize v2.0.3 built in; the manifests
#            are written for that kustomize and any later one).
#
# Needs root (or passwordless sudo) only when something is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

say() { echo "install-ci-deps: $*"; }

if command -v kubectl >/dev/null 2>&1; then
  say "kubectl found: $(command -v kubectl)"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || { echo "install-ci-deps: ERROR: kubectl is missing and apt-get is not available; install kubectl (any version with 'kubectl kustomize')" >&2; exit 1; }
SUDO=
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-ci-deps: ERROR: kubectl is missing; need root or sudo to apt-get install kubernetes-client" >&2; exit 1; }
  SUDO="sudo -n"
fi

say "kubectl is missing: apt-get install kubernetes-client"
$SUDO apt-get -o DPkg::Lock::Timeout=300 -qq update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq install -y --no-install-recommends kubernetes-client >/dev/null
command -v kubectl >/dev/null 2>&1 || { echo "install-ci-deps: ERROR: kubernetes-client installed but kubectl is not on PATH" >&2; exit 1; }
say "installed $(kubectl version --client --short 2>/dev/null || kubectl version --client 2>/dev/null | head -n1)"
