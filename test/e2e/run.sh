#!/usr/bin/env bash
# run.sh — the end-to-end tests in one command: provision the binaries (cached: instant after the
# first run), start a throw-away cluster in a fresh run dir, run the e2e jest suite against it,
# then ALWAYS stop everything and exit with the suite's status.
#
#   test/e2e/run.sh [jest arguments...]     e.g. test/e2e/run.sh -t reinvocation
#
# Expects `npm run build` to have run (the suite starts dist/cli.js as a user would).
# Environment:
#   KUBEBUILDER_ASSETS   use envtest binaries instead of building v1.20.2 (see README.md)
#   E2E_BIN_DIR          use the binaries in this directory (skips provision.sh)
#   E2E_EDIT_HOSTS=0     do not add the certs test's Service name to /etc/hosts (that case is
#                        then skipped); by default it is added when /etc/hosts is writable, and
#                        removed again at the end
#   E2E_KEEP_RUN_DIR=1   keep the run dir (logs, PKI) even when the suite passes
# Everything else (E2E_START_TIMEOUT, E2E_APISERVER_ARGS, ...) is passed on to cluster.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"

say() { echo "e2e: $*" >&2; }
die() { echo "e2e: ERROR: $*" >&2; exit 1; }

# The Service whose DNS names `probe-injector certs` puts in the certificate, in the namespace the
# certs test creates; the url-based variant of that test reaches it as <service>.<namespace>.svc
# through /etc/hosts (see README.md, "probe-injector certs").
CERTS_SERVICE=probe-injector
CERTS_NAMESPACE=probe-injector-e2e-certs
HOSTS_NAME=$CERTS_SERVICE.$CERTS_NAMESPACE.svc

[[ -f dist/cli.js ]] || die "dist/cli.js is missing: run \`npm run build\` first"
[[ -x node_modules/.bin/jest || -f node_modules/jest/bin/jest.js ]] || die "node_modules/ is missing: run \`npm ci\` first"

# Tools cluster.sh and this script use, which a slim image may lack: installed like provision.sh
# installs etcd (root or passwordless sudo, apt-get), only when missing.
ensure_tools() {
  local pkgs=() sudo=
  command -v curl >/dev/null 2>&1 || pkgs+=(curl)
  command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
  command -v pgrep >/dev/null 2>&1 || pkgs+=(procps)
  command -v flock >/dev/null 2>&1 || pkgs+=(util-linux)
  [[ ${#pkgs[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing tools (packages ${pkgs[*]}) and no apt-get to install them"
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "missing tools (packages ${pkgs[*]}); need root or sudo to install them"
    sudo="sudo -n"
  fi
  say "apt-get install ${pkgs[*]}"
  $sudo apt-get -o DPkg::Lock::Timeout=300 -qq update >/dev/null &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -qq install -y --no-install-recommends "${pkgs[@]}" >/dev/null ||
    die "apt-get install ${pkgs[*]} failed"
}

T0=$SECONDS
RUN_DIR=
HOSTS_MARK=
CLUSTER_STARTED=
JEST_PID=

# ---------------------------------------------------------------- cleanup (always)
# remove_hosts_lines MARK: drop the /etc/hosts lines holding MARK. Rewritten in place (not
# `sed -i`, which replaces the file: /etc/hosts is often a bind mount), and only those lines, so
# other changes made meanwhile survive.
remove_hosts_lines() {
  local kept
  kept=$(grep -vF -- "$1" /etc/hosts || true)
  printf '%s\n' "$kept" >/etc/hosts
}
remove_hosts_entry() {
  [[ -n $HOSTS_MARK ]] || return 0
  remove_hosts_lines "$HOSTS_MARK"
  HOSTS_MARK=
}

# Webhook processes the suite started record their pid; normally the suite has stopped them.
stop_recorded_webhooks() {
  local file=$RUN_DIR/webhook.pids pid
  [[ -f $file ]] || return 0
  while read -r pid; do
    [[ -n $pid && -r /proc/$pid/cmdline ]] || continue
    if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$RUN_DIR/"; then
      say "stopping webhook pid $pid left by the suite"
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done <"$file"
}

cleanup() {
  local rc=$? left i
  trap - EXIT INT TERM
  set +e
  if [[ -n $JEST_PID ]] && kill -0 "$JEST_PID" 2>/dev/null; then
    say "interrupted: stopping jest (pid $JEST_PID)"
    kill -TERM "$JEST_PID" 2>/dev/null
    for ((i = 0; i < 100; i++)); do kill -0 "$JEST_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$JEST_PID" 2>/dev/null
  fi
  if [[ -n $RUN_DIR ]]; then
    stop_recorded_webhooks
    if [[ -n $CLUSTER_STARTED ]]; then E2E_RUN_DIR=$RUN_DIR "$HERE/cluster.sh" stop; fi
    # Every process of this run names the run dir on its command line (the components' flags, the
    # webhooks' certificate files): nothing may be left.
    for ((i = 0; i < 50; i++)); do
      left=$(pgrep -f -- "$RUN_DIR/" || true)
      [[ -z $left ]] && break
      sleep 0.1
    done
    if [[ -n $left ]]; then
      say "still running after the run: $(pgrep -af -- "$RUN_DIR/" | tr '\n' ';')"
      for pid in $left; do kill -KILL "$pid" 2>/dev/null || true; done
      ((rc == 0)) && rc=1
    fi
  fi
  remove_hosts_entry
  if [[ -n $RUN_DIR ]]; then
    if ((rc == 0)) && [[ ${E2E_KEEP_RUN_DIR:-0} != 1 ]]; then
      rm -rf "$RUN_DIR"
    else
      say "run dir kept: $RUN_DIR (component logs, webhook logs, PKI)"
    fi
  fi
  say "$( ((rc == 0)) && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - T0)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- binaries
ensure_tools
if [[ -z ${E2E_BIN_DIR:-} ]]; then
  t=$SECONDS
  # provision.sh's progress goes to stderr; its last line is BIN_DIR=...
  out=$("$HERE/provision.sh" | awk '{ print > "/dev/stderr"; fflush(); last = $0 } END { print last }') ||
    die "provision.sh failed"
  [[ $out == BIN_DIR=* ]] || die "provision.sh did not print BIN_DIR=... last"
  export E2E_BIN_DIR=${out#BIN_DIR=}
  say "provision: $((SECONDS - t)) s ($E2E_BIN_DIR)"
fi

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/probe-injector-e2e.XXXXXX")
export E2E_RUN_DIR=$RUN_DIR

# ---------------------------------------------------------------- /etc/hosts (certs test)
# Written before the apiserver starts, so its resolver sees it at once.
export E2E_CERTS_SERVICE=$CERTS_SERVICE E2E_CERTS_NAMESPACE=$CERTS_NAMESPACE E2E_HOSTS_NAME=
if [[ ${E2E_EDIT_HOSTS:-1} != 0 ]]; then
  if [[ -w /etc/hosts ]]; then
    # Lines left by a run that was killed (SIGKILL: no cleanup) name a run dir that is gone.
    for dir in $(grep -o '# probe-injector-e2e /[^ ]*$' /etc/hosts | cut -d' ' -f3 || true); do
      [[ -d $dir ]] || remove_hosts_lines "# probe-injector-e2e $dir"
    done
    HOSTS_MARK="# probe-injector-e2e $RUN_DIR"
    printf '127.0.0.1 %s %s\n' "$HOSTS_NAME" "$HOSTS_MARK" >>/etc/hosts
    export E2E_HOSTS_NAME=$HOSTS_NAME
    say "/etc/hosts: $HOSTS_NAME -> 127.0.0.1 (removed at the end)"
  else
    say "/etc/hosts is not writable: the certs test's url variant will be skipped"
  fi
fi

# ---------------------------------------------------------------- cluster
# Endpoint routing: kube-apiserver resolves a webhook's `service` reference to the Service's
# Endpoints (as a cluster without kube-proxy needs), so the certs test can register the webhook
# exactly as manifests/ do, by Service.
export E2E_APISERVER_ARGS="--enable-aggregator-routing=true${E2E_APISERVER_ARGS:+ $E2E_APISERVER_ARGS}"
t=$SECONDS
CLUSTER_STARTED=1
envs=$("$HERE/cluster.sh" start) || die "cluster.sh start failed (logs in $RUN_DIR)"
while IFS= read -r line; do [[ $line == *=* ]] && export "${line?}"; done <<<"$envs"
say "cluster: $((SECONDS - t)) s ($E2E_KUBE_VERSION, $E2E_APISERVER_URL)"

# ---------------------------------------------------------------- suite
t=$SECONDS
# In the background and waited for, so that a SIGINT/SIGTERM to this script is handled at once
# (cleanup then stops jest) instead of after jest has finished.
node --experimental-vm-modules node_modules/jest/bin/jest.js -c jest.e2e.config.js --runInBand "$@" &
JEST_PID=$!
set +e
wait "$JEST_PID"
status=$?
set -e
JEST_PID=
say "jest: $((SECONDS - t)) s, exit $status"
exit "$status"
