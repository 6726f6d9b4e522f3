#!/usr/bin/env bash
# cluster.sh start|stop|env|status — a throw-away control plane on 127.0.0.1 for the e2e tests:
# etcd, kube-apiserver and kube-controller-manager (no nodes: pods stay Pending, which is fine,
# the tests look at what the API server stored).
#
#   start   new PKI and data under the run dir, start the three components on free loopback
#           ports, wait until /readyz is ok and the `default` ServiceAccount has its token, write
#           an admin kubeconfig; progress goes to stderr, the `env` lines to stdout.
#           If the cluster is already running it is left as it is.
#   stop    kill the recorded pids (TERM, then KILL after a grace time) and wait until they are
#           gone; logs stay in the run dir.
#   env     print KEY=value lines (KUBECONFIG, E2E_APISERVER_URL, ...); exit 1 when not running.
#   status  say whether each component is running.
#
# Environment:
#   E2E_RUN_DIR          run dir (default /tmp/probe-injector-e2e): pki/, etcd-data/, *.log, pids
#   E2E_BIN_DIR          directory with kube-apiserver and etcd (+ kube-controller-manager,
#                        kubectl); default: what provision.sh prints (it builds them if needed)
#   E2E_START_TIMEOUT    seconds to wait for each component (default 90)
#   E2E_APISERVER_ARGS   extra kube-apiserver flags (split on spaces)
#   E2E_SERVICE_CIDR     --service-cluster-ip-range (default 10.0.0.0/24; only a range to
#                        allocate from: nothing here sends traffic to it)
#
# Audit log: kube-apiserver writes audit events at Metadata level for pods and the workloads
# (deployments, statefulsets, daemonsets, replicasets, jobs, cronjobs) to $RUN_DIR/audit.log, one
# JSON event per line (policy: $RUN_DIR/audit-policy.yaml). Admission webhooks' auditAnnotations
# appear there as `<webhook name>/<key>` in each event's `annotations`.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN_DIR=${E2E_RUN_DIR:-/tmp/probe-injector-e2e}
PKI=$RUN_DIR/pki
PIDS=$RUN_DIR/pids
STATE=$RUN_DIR/cluster.env
TIMEOUT=${E2E_START_TIMEOUT:-90}
SERVICE_CIDR=${E2E_SERVICE_CIDR:-10.0.0.0/24}
COMPONENTS=(etcd kube-apiserver kube-controller-manager)

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: ERROR: $*" >&2; exit 1; }

# ---------------------------------------------------------------- processes
# alive PID: the process exists and is not a zombie.
alive() {
  local st
  [[ -n ${1:-} && -r /proc/$1/stat ]] || return 1
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $st && $st != Z ]]
}

# is_ours PID NAME: the pid still runs the binary we started (pids get reused).
is_ours() {
  local cmd
  alive "$1" && cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) && [[ $cmd == *"$2"* ]]
}

recorded_pid() {
  if [[ -f $PIDS ]]; then awk -v n="$1" '$1 == n { p = $2 } END { if (p != "") print p }' "$PIDS"; fi
}

# start_bg NAME CMD...: start detached (own session, no inherited stdio), record the pid.
start_bg() {
  local name=$1; shift
  setsid "$@" >"$RUN_DIR/$name.log" 2>&1 </dev/null 8>&- &
  local pid=$!
  echo "$name $pid" >>"$PIDS"
  log "started $name (pid $pid, log $RUN_DIR/$name.log)"
}

# term_and_wait NAME...: SIGTERM the named components' live pids, wait until they have exited
# (SIGKILL after 15 s).
term_and_wait() {
  local name pid i pids=()
  for name in "$@"; do
    while read -r pid; do
      if [[ -n $pid ]] && is_ours "$pid" "$name"; then
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
        log "sent SIGTERM to $name (pid $pid)"
      fi
    done < <(awk -v n="$name" '$1 == n { print $2 }' "$PIDS")
  done
  [[ ${#pids[@]} -gt 0 ]] || return 0
  for ((i = 0; i < 150; i++)); do any_alive "${pids[@]}" || return 0; sleep 0.1; done
  for pid in "${pids[@]}"; do
    if alive "$pid"; then
      log "pid $pid ignored SIGTERM for 15 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for ((i = 0; i < 50; i++)); do any_alive "${pids[@]}" || return 0; sleep 0.1; done
  die "still running after SIGKILL: $(for pid in "${pids[@]}"; do alive "$pid" && echo -n "$pid "; done)"
}

any_alive() {
  local pid
  for pid in "$@"; do alive "$pid" && return 0; done
  return 1
}

do_stop() {
  local pid i waiting
  [[ -f $PIDS ]] || { log "not running (no $PIDS)"; rm -f "$STATE"; return 0; }
  term_and_wait kube-controller-manager kube-apiserver
  term_and_wait etcd
  # They have exited. Being orphans, they are reaped by pid 1, which on some machines does that
  # only every couple of seconds; until then `pgrep -f` still lists the zombies. Wait for that.
  for ((i = 0; i < 100; i++)); do
    waiting=
    while read -r _ pid; do
      if [[ -n $pid && -e /proc/$pid ]]; then waiting+="$pid "; fi
    done <"$PIDS"
    [[ -z $waiting ]] && break
    sleep 0.1
  done
  if [[ -n $waiting ]]; then
    log "stopped; pids $waiting are zombies still waiting for their parent to reap them"
  else
    log "stopped"
  fi
  rm -f "$PIDS" "$STATE"
  rm -rf "$RUN_DIR/etcd-data"
}

# all_running: every component in the pid file runs (and the apiserver at least is there).
all_running() {
  [[ -f $PIDS && -f $STATE ]] || return 1
  local name pid n=0
  while read -r name pid; do
    is_ours "$pid" "$name" || return 1
    n=$((n + 1))
  done <"$PIDS"
  [[ -n $(recorded_pid kube-apiserver) && $n -ge 2 ]]
}

# ---------------------------------------------------------------- helpers
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

USED_PORTS=" "
pick_port() {   # pick_port VAR: set VAR to a free loopback port not picked before
  local p i
  for ((i = 0; i < 100; i++)); do
    # 20000-31999: below Linux's ephemeral range, so outgoing connections do not take them.
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    [[ $USED_PORTS == *" $p "* ]] && continue
    if port_free "$p"; then USED_PORTS+="$p "; printf -v "$1" '%s' "$p"; return 0; fi
  done
  die "found no free loopback port"
}

# wait_for WHAT PIDNAME CMD...: retry CMD until it succeeds, the component dies, or timeout.
wait_for() {
  local what=$1 name=$2 deadline=$((SECONDS + TIMEOUT)) pid
  shift 2
  pid=$(recorded_pid "$name")
  until "$@" >/dev/null 2>&1; do
    if ! alive "$pid"; then
      log "$name exited while waiting for $what; last lines of $RUN_DIR/$name.log:"
      tail -n 30 "$RUN_DIR/$name.log" >&2 || true
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "timed out after ${TIMEOUT}s waiting for $what; last lines of $RUN_DIR/$name.log:"
      tail -n 30 "$RUN_DIR/$name.log" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

api_get() {   # api_get PATH: GET as admin, body on stdout, fails on HTTP >= 400
  curl -sSf --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$API_PORT$1"
}
readyz_ok() { [[ $(api_get /readyz) == ok ]]; }
etcd_ok() {
  local h
  h=$(curl -sSf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health") && [[ $h == *'"health":"true"'* ]]
}
default_sa_ready() {
  local sa
  sa=$(api_get /api/v1/namespaces/default/serviceaccounts/default) || return 1
  [[ $sa == *'"secrets"'* ]]
}

# ---------------------------------------------------------------- PKI
# sign NAME SUBJECT EXTENSIONS: key + certificate signed by the throw-away CA.
sign() {
  local name=$1 subj=$2 ext=$3
  openssl req -new -newkey rsa:2048 -nodes -keyout "$PKI/$name.key" -out "$PKI/$name.csr" \
    -subj "$subj" 2>/dev/null
  printf '%b\n' "$ext" >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
    -CAcreateserial -days 30 -sha256 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

make_pki() {
  rm -rf "$PKI"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 30 \
    -sha256 -subj "/CN=probe-injector-e2e-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  local svc_ip
  svc_ip=$(first_service_ip "$SERVICE_CIDR")
  sign apiserver "/CN=kube-apiserver" \
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local${svc_ip:+,IP:$svc_ip}"
  sign admin "/O=system:masters/CN=probe-injector-e2e-admin" \
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth"
  sign controller-manager "/CN=system:kube-controller-manager" \
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*.key
}

# first_service_ip 10.0.0.0/24 -> 10.0.0.1 (IPv4 only; empty otherwise)
first_service_ip() {
  local net=${1%/*} a b c d
  IFS=. read -r a b c d <<<"$net" || true
  [[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ && $c =~ ^[0-9]+$ && $d =~ ^[0-9]+$ ]] || return 0
  echo "$a.$b.$c.$((d + 1))"
}

# write_kubeconfig FILE USER CERT KEY
write_kubeconfig() (
  local file=$1 user=$2 cert=$3 key=$4
  umask 077
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: probe-injector-e2e
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$cert")
    client-key-data: $(base64 -w0 <"$key")
contexts:
- name: probe-injector-e2e
  context:
    cluster: probe-injector-e2e
    user: $user
    namespace: default
current-context: probe-injector-e2e
EOF
)

# write_audit_policy FILE: Metadata-level events (with admission webhooks' audit annotations) for
# pods and workloads; nothing for anything else, so the log stays small.
write_audit_policy() {
  cat >"$1" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    resources:
      - group: ""
        resources: [pods]
      - group: apps
        resources: [deployments, statefulsets, daemonsets, replicasets]
      - group: batch
        resources: [jobs, cronjobs]
  - level: None
EOF
}

resolve_bin_dir() {
  if [[ -n ${E2E_BIN_DIR:-} ]]; then echo "$E2E_BIN_DIR"; return 0; fi
  local out
  # provision.sh's progress goes on to stderr; its last line (BIN_DIR=...) is kept.
  out=$("$HERE/provision.sh" | awk '{ print > "/dev/stderr"; fflush(); last = $0 } END { print last }') ||
    die "provision.sh failed"
  [[ $out == BIN_DIR=* ]] || die "provision.sh did not print BIN_DIR=... last"
  echo "${out#BIN_DIR=}"
}

# kube_minor BINARY: 20 for "Kubernetes v1.20.2" (99 when unknown).
kube_minor() {
  local v
  v=$("$1" --version 2>/dev/null || true)
  if [[ $v =~ v1\.([0-9]+) ]]; then echo "${BASH_REMATCH[1]}"; else echo 99; fi
}

# has_flag BINARY FLAG: the binary's --help lists the flag (deprecated flags are not listed).
has_flag() {
  local help
  help=$("$1" --help 2>&1 || true)
  grep -qE -- "(^|[ ,])$2([ =]|$)" <<<"$help"
}

print_env() { cat "$STATE"; }

# ---------------------------------------------------------------- start
do_start() {
  mkdir -p "$RUN_DIR"
  if all_running; then
    log "already running (run dir $RUN_DIR)"
    print_env
    return 0
  fi
  [[ -f $PIDS ]] && { log "cleaning up a partly running cluster"; do_stop; }
  local t0=$SECONDS
  command -v curl >/dev/null || die "curl is required"
  command -v openssl >/dev/null || die "openssl is required"

  local bin
  bin=$(resolve_bin_dir)
  bin=$(cd "$bin" && pwd)
  [[ -x $bin/kube-apiserver && -x $bin/etcd ]] || die "$bin lacks kube-apiserver or etcd"
  local have_kcm=yes
  [[ -x $bin/kube-controller-manager ]] || have_kcm=no
  SA_ADMISSION=on
  if [[ $have_kcm == no ]]; then
    # Without the controller manager no `default` ServiceAccount (nor token) is ever created, and
    # the ServiceAccount admission plugin would refuse every pod.
    SA_ADMISSION=off
    log "warning: no kube-controller-manager in $bin: ServiceAccount admission disabled, no Deployment controllers"
  fi

  rm -rf "$RUN_DIR/etcd-data" "$RUN_DIR/apiserver-certs" "$RUN_DIR"/*.log "$RUN_DIR/kubeconfig" "$STATE"
  : >"$PIDS"
  trap 'log "start failed; stopping what was started"; do_stop' EXIT

  make_pki
  log "PKI ready in $PKI ($((SECONDS - t0)) s)"

  local peer_port
  pick_port ETCD_PORT
  pick_port peer_port
  pick_port API_PORT

  # etcd
  local etcd_args=(
    --name=e2e --data-dir="$RUN_DIR/etcd-data"
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT"
    --listen-peer-urls="http://127.0.0.1:$peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$peer_port"
    --initial-cluster="e2e=http://127.0.0.1:$peer_port" --initial-cluster-state=new
    --logger=zap --log-level=warn
  )
  has_flag "$bin/etcd" --unsafe-no-fsync && etcd_args+=(--unsafe-no-fsync)
  start_bg etcd "$bin/etcd" "${etcd_args[@]}"
  wait_for "etcd health" etcd etcd_ok
  log "etcd ready on 127.0.0.1:$ETCD_PORT ($((SECONDS - t0)) s)"

  # kube-apiserver
  local plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultTolerationSeconds,Priority,NodeRestriction,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota
  if [[ $SA_ADMISSION == off ]]; then plugins=${plugins/ServiceAccount,/}; fi
  # shellcheck disable=SC2054  # (commas inside flag values)
  local api_args=(
    --etcd-servers="http://127.0.0.1:$ETCD_PORT"
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT"
    --cert-dir="$RUN_DIR/apiserver-certs"
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key"
    --client-ca-file="$PKI/ca.crt"
    --service-account-issuer=https://kubernetes.default.svc.cluster.local
    --service-account-key-file="$PKI/sa.pub"
    --service-account-signing-key-file="$PKI/sa.key"
    --service-cluster-ip-range="$SERVICE_CIDR"
    # The `kubernetes` Endpoints would point at 127.0.0.1, which Endpoints validation refuses
    # (an error logged every 10 s): keep no Endpoints for it, nothing here uses them.
    --endpoint-reconciler-type=none
    --authorization-mode=Node,RBAC
    --enable-admission-plugins="$plugins"
    --allow-privileged=true
    --profiling=false
    --v=1
  )
  if [[ $SA_ADMISSION == off ]]; then api_args+=(--disable-admission-plugins=ServiceAccount); fi
  write_audit_policy "$RUN_DIR/audit-policy.yaml"
  api_args+=(--audit-policy-file="$RUN_DIR/audit-policy.yaml" --audit-log-path="$RUN_DIR/audit.log")
  # Up to 1.19 the apiserver served an unauthenticated port 8080 unless told not to; 1.20 has no
  # insecure serving left but keeps the (hidden, deprecated) flag; 1.24 removed it.
  if (($(kube_minor "$bin/kube-apiserver") < 24)); then api_args+=(--insecure-port=0); fi
  # shellcheck disable=SC2206
  [[ -n ${E2E_APISERVER_ARGS:-} ]] && api_args+=(${E2E_APISERVER_ARGS})
  start_bg kube-apiserver "$bin/kube-apiserver" "${api_args[@]}"
  wait_for "kube-apiserver /readyz" kube-apiserver readyz_ok
  log "kube-apiserver ready on https://127.0.0.1:$API_PORT ($((SECONDS - t0)) s)"
  write_kubeconfig "$RUN_DIR/kubeconfig" probe-injector-e2e-admin "$PKI/admin.crt" "$PKI/admin.key"

  # kube-controller-manager
  if [[ $have_kcm == yes ]]; then
    write_kubeconfig "$PKI/controller-manager.kubeconfig" system:kube-controller-manager \
      "$PKI/controller-manager.crt" "$PKI/controller-manager.key"
    local kcm_args=(
      --kubeconfig="$PKI/controller-manager.kubeconfig"
      --bind-address=127.0.0.1 --secure-port=0
      --use-service-account-credentials=true
      --root-ca-file="$PKI/ca.crt"
      --service-account-private-key-file="$PKI/sa.key"
      --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key"
      --cluster-name=probe-injector-e2e
      --leader-elect=false
      --profiling=false
      --v=1
    )
    # Before 1.24 the controller manager also serves plain HTTP on 0.0.0.0:10252 by default
    # (a hidden, deprecated flag): switch that off.
    if (($(kube_minor "$bin/kube-controller-manager") < 24)); then kcm_args+=(--port=0); fi
    start_bg kube-controller-manager "$bin/kube-controller-manager" "${kcm_args[@]}"
    # Pods can be created once the `default` ServiceAccount and its token Secret exist.
    wait_for "the default ServiceAccount and its token" kube-controller-manager default_sa_ready
    log "kube-controller-manager ready ($((SECONDS - t0)) s)"
  fi

  {
    echo "KUBECONFIG=$RUN_DIR/kubeconfig"
    echo "E2E_RUN_DIR=$RUN_DIR"
    echo "E2E_BIN_DIR=$bin"
    echo "E2E_APISERVER_URL=https://127.0.0.1:$API_PORT"
    echo "E2E_CA_FILE=$PKI/ca.crt"
    echo "E2E_ETCD_URL=http://127.0.0.1:$ETCD_PORT"
    echo "E2E_KUBE_VERSION=$("$bin/kube-apiserver" --version 2>/dev/null | awk '{print $2}')"
    echo "E2E_CONTROLLER_MANAGER=$have_kcm"
  } >"$STATE"
  trap - EXIT
  log "cluster up in $((SECONDS - t0)) s; logs in $RUN_DIR"
  print_env
}

do_status() {
  local name pid rc=0
  for name in "${COMPONENTS[@]}"; do
    pid=$(recorded_pid "$name" || true)
    if [[ -z $pid ]]; then echo "$name: not started"
    elif is_ours "$pid" "$name"; then echo "$name: running (pid $pid)"
    else echo "$name: NOT running (pid $pid)"; rc=1; fi
  done
  [[ -f $PIDS ]] || rc=1
  return $rc
}

lock_run_dir() {   # one start/stop at a time per run dir (fd 8 is not passed to the components)
  mkdir -p "$RUN_DIR"
  exec 8>"$RUN_DIR/.lock"
  flock -w 300 8 || die "another cluster.sh holds $RUN_DIR/.lock"
}

case ${1:-} in
  start) lock_run_dir; do_start ;;
  stop) lock_run_dir; do_stop ;;
  env)
    all_running || die "not running (no live cluster recorded in $RUN_DIR)"
    print_env ;;
  status) do_status ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
