#!/usr/bin/env bash
# provision.sh — make kube-apiserver, kube-controller-manager, kubectl (Kubernetes v1.20.2) and
# etcd available for the end-to-end tests, and print `BIN_DIR=/path` on the last line of stdout.
#
# * If KUBEBUILDER_ASSETS names a directory holding kube-apiserver and etcd, that directory is
#   used as it is and nothing else happens.
# * Otherwise the binaries are built once from Debian bookworm's `kubernetes` source package
#   (upstream v1.20.2, vendor/ included) with Debian's Go 1.19, into
#   ${PROBE_INJECTOR_CACHE:-$HOME/.cache/probe-injector}/k8s-v1.20.2/bin, and etcd comes from
#   Debian's etcd-server (symlinked into the same bin dir). A later run finds them and takes
#   well under a second.
#
# Needs root (or sudo) for apt-get on the first run only. Safe to run concurrently (flock).
# Environment:
#   KUBEBUILDER_ASSETS          use these prebuilt binaries instead (needs kube-apiserver, etcd)
#   PROBE_INJECTOR_CACHE        cache root (default $HOME/.cache/probe-injector)
#   PROBE_INJECTOR_KEEP_BUILD=1 keep the source tree and Go build cache after a successful build
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

K8S_VERSION=v1.20.2
BINARIES=(kube-apiserver kube-controller-manager kubectl)
APT_RUNTIME=(etcd-server)
APT_BUILD=(golang-1.19-go golang-github-modern-go-reflect2-dev dpkg-dev make rsync ca-certificates)
GO_BIN=/usr/lib/go-1.19/bin

say() { echo "provision: $*"; }
die() { echo "provision: ERROR: $*" >&2; exit 1; }

# Run a noisy step with its output in the log; on failure show the end of the log.
run_logged() {
  local what=$1; shift
  echo "=== $(date -u +%FT%TZ) $what: $*" >>"$LOG"
  if ! "$@" >>"$LOG" 2>&1; then
    echo "provision: ERROR: $what failed; last lines of $LOG:" >&2
    tail -n 40 "$LOG" >&2
    exit 1
  fi
}

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

APT_UPDATED=
apt_update_once() {
  [[ -n $APT_UPDATED ]] && return 0
  run_logged "apt-get update" $SUDO apt-get -o DPkg::Lock::Timeout=300 update
  APT_UPDATED=1
}

apt_ensure() {
  local p missing=()
  for p in "$@"; do is_installed "$p" || missing+=("$p"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 || -n $SUDO ]] || die "need root (or sudo) to install: ${missing[*]}"
  apt_update_once
  say "apt-get install ${missing[*]}"
  # etcd-server ships an init script and a systemd unit: keep the package from starting a system
  # etcd (it would linger, and hold port 2379). Docker-style images already have this guard.
  local guard='' rc=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, from probe-injector provision.sh\nexit 101\n' |
      $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    guard=1
  fi
  (run_logged "apt-get install" $SUDO env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}") || rc=$?
  if [[ -n $guard ]]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
  [[ $rc -eq 0 ]] || exit "$rc"
}

# Print deb-src twins of the enabled Debian `deb` entries (deb822 .sources and one-line .list).
debian_deb_src_entries() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      { types = ""; uris = ""; enabled = "yes"; out = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^#/) continue
          if (line ~ /^Types:/) { types = line; continue }
          if (line ~ /^URIs:/) uris = line
          if (line ~ /^Enabled:/ && line ~ /[Nn]o/) enabled = "no"
          out = out line "\n"
        }
        if (enabled == "yes" && types ~ /(^|[ \t])deb([ \t]|$)/ && types !~ /deb-src/ && uris ~ /debian/)
          printf "Types: deb-src\n%s\n", out
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    sed -n -E 's/^[[:space:]]*deb([[:space:]]+\[[^]]*\])?[[:space:]]+([^[:space:]]*debian[^[:space:]]*)[[:space:]]/deb-src\1 \2 /p' "$f"
  done
}

# `apt-get source` needs deb-src entries, which a stock Debian image does not have. Add them in a
# file of our own (the system's files are left as they are).
source_known() { apt-get source --print-uris kubernetes >/dev/null 2>&1; }

ensure_deb_src() {
  source_known && return 0
  if [[ -z $APT_UPDATED ]]; then   # maybe only the package lists are missing or stale
    apt_update_once
    source_known && return 0
  fi
  local f=/etc/apt/sources.list.d/probe-injector-deb-src.sources entries
  [[ ! -f $f ]] || die "apt-get source kubernetes finds nothing, even with $f (see $LOG)"
  entries=$(debian_deb_src_entries)
  if [[ -z $entries ]]; then
    entries='Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'
  fi
  say "adding deb-src entries in $f"
  printf '# Added by probe-injector test/e2e/provision.sh (for `apt-get source kubernetes`).\n%s\n' \
    "$entries" | $SUDO tee "$f" >/dev/null
  APT_UPDATED=
  apt_update_once
  source_known || die "apt-get source kubernetes still finds nothing after adding $f (see $LOG)"
}

link_etcd() {
  local etcd
  etcd=$(command -v etcd || true)
  [[ -z $etcd && -x /usr/bin/etcd ]] && etcd=/usr/bin/etcd
  [[ -n $etcd ]] || die "etcd not found after installing etcd-server"
  if [[ "$(readlink "$BIN_DIR/etcd" 2>/dev/null || true)" != "$etcd" ]]; then
    ln -sfn "$etcd" "$BIN_DIR/etcd"
    say "linked $BIN_DIR/etcd -> $etcd"
  fi
}

all_built() {
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$BIN_DIR/$b" ]] || return 1; done
}

# ---------------------------------------------------------------- main
# (all of it inside functions, so that editing this file while it runs cannot derail a run)
main() {
  # ---------------------------------------------------------------- prebuilt assets (envtest)
  if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
    if [[ -x "$KUBEBUILDER_ASSETS/kube-apiserver" && -x "$KUBEBUILDER_ASSETS/etcd" ]]; then
      assets=$(cd "$KUBEBUILDER_ASSETS" && pwd)
      say "using prebuilt binaries from KUBEBUILDER_ASSETS=$assets (nothing to do)"
      [[ -x "$assets/kube-controller-manager" ]] ||
        say "note: no kube-controller-manager there; cluster.sh will run without it"
      echo "BIN_DIR=$assets"
      exit 0
    fi
    say "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks kube-apiserver or etcd; building our own"
  fi

  CACHE_ROOT=${PROBE_INJECTOR_CACHE:-${HOME:-/root}/.cache/probe-injector}
  K8S_DIR=$CACHE_ROOT/k8s-$K8S_VERSION
  BIN_DIR=$K8S_DIR/bin
  BUILD_DIR=$K8S_DIR/build            # GOPATH, source download and Go caches live here
  GOPATH_DIR=$BUILD_DIR/gopath
  KROOT=$GOPATH_DIR/src/k8s.io/kubernetes
  LOG=$K8S_DIR/provision.log
  mkdir -p "$BIN_DIR"

  # One provisioner at a time per cache (two test runs starting together would otherwise both build).
  exec 9>"$K8S_DIR/.lock"
  if ! flock -n 9; then
    say "another provision.sh holds $K8S_DIR/.lock; waiting for it"
    flock 9
  fi

  SUDO=
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
  fi

  # ---------------------------------------------------------------- warm path
  t0=$SECONDS
  apt_ensure "${APT_RUNTIME[@]}"
  link_etcd
  if all_built; then
    say "cached Kubernetes $K8S_VERSION binaries found in $BIN_DIR (nothing to build)"
    echo "BIN_DIR=$BIN_DIR"
    exit 0
  fi

  # ---------------------------------------------------------------- cold path: build
  say "building Kubernetes $K8S_VERSION binaries into $BIN_DIR (log: $LOG; about 5 min on 2 cores)"
  apt_ensure "${APT_BUILD[@]}"
  [[ -x $GO_BIN/go ]] || die "$GO_BIN/go missing after installing golang-1.19-go"

  export GOPATH=$GOPATH_DIR GO111MODULE=off CGO_ENABLED=0 GOFLAGS=
  export GOCACHE=$BUILD_DIR/gocache GOTMPDIR=$BUILD_DIR/tmp GOTOOLCHAIN=local
  export PATH=$GO_BIN:$PATH
  mkdir -p "$GOCACHE" "$GOTMPDIR"

  # 1. Source: Debian's package of upstream v1.20.2 (with vendor/), placed for GOPATH mode.
  if [[ ! -f $KROOT/.probe-injector-source-ok ]]; then
    ensure_deb_src
    rm -rf "$BUILD_DIR/dl" "$KROOT"
    mkdir -p "$BUILD_DIR/dl" "$(dirname "$KROOT")"
    # apt's download sandbox user cannot write to a root-only directory: let it, to avoid a warning.
    chmod 0777 "$BUILD_DIR/dl"
    say "apt-get source kubernetes"
    (cd "$BUILD_DIR/dl" && run_logged "apt-get source" apt-get source kubernetes)
    src=$(find "$BUILD_DIR/dl" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)
    [[ -n $src && -d $src/cmd/kube-apiserver && -d $src/vendor ]] ||
      die "unexpected layout of the kubernetes source package in $BUILD_DIR/dl"
    case $src in
      *1.20.2*) ;;
      *) say "warning: source package is $(basename "$src"), expected upstream 1.20.2" ;;
    esac
    mv "$src" "$KROOT"
    rm -rf "$BUILD_DIR/dl"

    # The vendored github.com/modern-go/reflect2 v1.0.1 crashes at run time with Go >= 1.18
    # (unsafe map iteration); Debian's 1.0.2 is API compatible.
    r2=/usr/share/gocode/src/github.com/modern-go/reflect2
    [[ -d $r2 ]] || die "$r2 missing (golang-github-modern-go-reflect2-dev)"
    rm -rf "$KROOT/vendor/github.com/modern-go/reflect2"
    mkdir -p "$KROOT/vendor/github.com/modern-go/reflect2"
    find -L "$r2" -maxdepth 1 -name '*.go' ! -name '*_test.go' \
      -exec cp -L {} "$KROOT/vendor/github.com/modern-go/reflect2/" \;
    touch "$KROOT/.probe-injector-source-ok"
    say "source ready in $KROOT ($((SECONDS - t0)) s so far)"
  fi

  cd "$KROOT"

  # 2. Generated OpenAPI definitions (not shipped in the tarball; kube-apiserver needs them).
  if [[ ! -f $KROOT/.probe-injector-openapi-ok ]]; then
    say "make gen_openapi"
    s=$SECONDS
    run_logged "make gen_openapi" make gen_openapi
    [[ -f pkg/generated/openapi/zz_generated.openapi.go ]] ||
      die "make gen_openapi did not produce pkg/generated/openapi/zz_generated.openapi.go"
    touch "$KROOT/.probe-injector-openapi-ok"
    say "generated OpenAPI in $((SECONDS - s)) s"
  fi

  # 3. The binaries, with version information like upstream's release builds.
  pkg=k8s.io/kubernetes/vendor/k8s.io
  ldflags="-s -w"
  for p in "$pkg/client-go/pkg/version" "$pkg/component-base/version"; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=20"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  for b in "${BINARIES[@]}"; do
    [[ -x $BIN_DIR/$b ]] && continue
    say "go build ./cmd/$b"
    s=$SECONDS
    run_logged "go build $b" go build -ldflags "$ldflags" -o "$BIN_DIR/.$b.partial" "./cmd/$b"
    mv -f "$BIN_DIR/.$b.partial" "$BIN_DIR/$b"
    say "built $b in $((SECONDS - s)) s"
  done

  "$BIN_DIR/kube-apiserver" --version >>"$LOG" 2>&1 || die "built kube-apiserver does not run (see $LOG)"

  cd /
  if [[ ${PROBE_INJECTOR_KEEP_BUILD:-0} == 1 ]]; then
    say "keeping build tree $BUILD_DIR (PROBE_INJECTOR_KEEP_BUILD=1)"
  else
    chmod -R u+w "$BUILD_DIR" 2>/dev/null || true   # Go's module/cache files are read-only
    rm -rf "$BUILD_DIR"
    say "removed build tree $BUILD_DIR"
  fi
  say "done in $((SECONDS - t0)) s"
  echo "BIN_DIR=$BIN_DIR"
}

main "$@"
