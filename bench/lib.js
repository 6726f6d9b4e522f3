// Shared helpers of the benchmark: certificates, child servers, /proc readings, statistics.
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(ROOT, 'dist', 'cli.js');
export const BASELINE = path.join(ROOT, 'bench', 'baseline-server.js');
export const HOST = '127.0.0.1';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Certificates: a CA and an ECDSA P-256 serving certificate for localhost, as a cluster would use.

export async function makeCertificates(dir) {
  const file = (name) => path.join(dir, name);
  try {
    const run = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('ca.key'));
    run('req', '-x509', '-new', '-key', file('ca.key'), '-sha256', '-days', '2', '-subj', '/CN=bench CA', '-out', file('ca.crt'));
    run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('tls.key'));
    run('req', '-new', '-key', file('tls.key'), '-subj', '/CN=localhost', '-out', file('tls.csr'));
    writeFileSync(file('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    run('x509', '-req', '-in', file('tls.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-sha256', '-extfile', file('ext.cnf'), '-out', file('tls.crt'));
  } catch {
    // No openssl: the selfsigned package (a dependency of the webhook) does the same.
    const { generate } = await import('selfsigned');
    const ca = await generate([{ name: 'commonName', value: 'bench CA' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', extensions: [{ name: 'basicConstraints', cA: true, critical: true }] });
    const serving = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      ca: { key: ca.private, cert: ca.cert },
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    writeFileSync(file('ca.crt'), ca.cert);
    writeFileSync(file('tls.crt'), serving.cert);
    writeFileSync(file('tls.key'), serving.private);
  }
  return { ca: readFileSync(file('ca.crt'), 'utf8'), certFile: file('tls.crt'), keyFile: file('tls.key') };
}

// ---------------------------------------------------------------------------------------------
// Child servers.

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The command line of each server under test, exactly as a user would start it. */
export function serverCommand(kind, port, certs, extra = []) {
  const tlsArgs = ['--tls-cert-file', certs.certFile, '--tls-key-file', certs.keyFile];
  if (kind === 'webhook') return [...extra, CLI, 'serve', '--port', String(port), '--host', HOST, ...tlsArgs];
  return [...extra, BASELINE, '--port', String(port), '--host', HOST, ...tlsArgs, ...(certs.answerFile ? ['--answer-file', certs.answerFile] : [])];
}

/**
 * Spawns a server and resolves once `GET /healthz` answers 200, with the time that took, measured
 * from just before spawn() (the cold start). stdout is kept only to time the "listening" line.
 */
export async function startServer(kind, certs, { extraNodeArgs = [], keepStdout = false, timeoutMs = 20_000 } = {}) {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, serverCommand(kind, port, certs, extraNodeArgs), {
    cwd: ROOT,
    stdio: ['ignore', keepStdout ? 'pipe' : 'ignore', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let listeningAt;
  if (keepStdout) {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      if (listeningAt !== undefined) return;
      buffer += chunk;
      if (/listening/.test(buffer)) listeningAt = process.hrtime.bigint();
    });
  }
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let dead = false;
  exited.then(() => (dead = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (dead) throw new Error(`${kind} exited before serving: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${kind} did not answer /healthz within ${timeoutMs} ms: ${stderr}`);
    }
    const status = await healthz(port, certs.ca).catch(() => 0);
    if (status === 200) break;
    await sleep(1);
  }
  const ready = process.hrtime.bigint();
  return {
    kind,
    port,
    child,
    pid: child.pid,
    coldStartMs: Number(ready - started) / 1e6,
    spawnedAt: started,
    readyAt: ready,
    listeningMs: listeningAt === undefined ? undefined : Number(listeningAt - started) / 1e6,
    stderr: () => stderr,
    async stop() {
      if (!dead) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** One `GET /healthz` on a fresh TLS connection; resolves with the status (rejects on connect errors). */
function healthz(port, ca) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: HOST, port, ca, servername: 'localhost' });
    let text = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('timeout')));
    socket.once('error', reject);
    socket.once('secureConnect', () => socket.write(`GET /healthz HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk) => {
      text += chunk;
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (match) {
        socket.destroy();
        resolve(Number(match[1]));
      }
    });
    socket.once('end', () => reject(new Error('closed')));
  });
}

// ---------------------------------------------------------------------------------------------
// /proc: CPU time (all threads) and memory of a child process.

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of the process (all its threads), in microseconds. */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / CLOCK_TICKS;
}

/** CPU time all processes spent busy (user, nice, system, irq, softirq, steal), in microseconds. */
export function systemBusyMicros() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = cpu;
  return ((user + nice + system + irq + softirq + (steal ?? 0)) * 1e6) / CLOCK_TICKS;
}

/** utime+stime (µs) of every process now, by pid; and the number of processes ever forked. */
function processSnapshot() {
  const cpu = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      cpu.set(entry, cpuMicros(entry));
    } catch {
      // gone meanwhile
    }
  }
  const forks = Number(/^processes\s+(\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1] ?? 0);
  return { cpu, forks };
}

/**
 * Measures what OTHER processes (not the server under test, not this benchmark) used while `fn`
 * ran, in cores, summed per process from /proc/<pid>/stat (the system-wide /proc/stat counters
 * mis-attribute ticks when processes wake thousands of times a second, as the open-loop generator
 * does). Processes that both start and end inside the run are missed, but counted in `forks`.
 */
export async function withInterference(pid, fn) {
  const before = processSnapshot();
  const t0 = process.hrtime.bigint();
  const result = await fn();
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const after = processSnapshot();
  let other = 0;
  for (const [id, micros] of after.cpu) {
    if (id === String(pid) || id === String(process.pid)) continue;
    other += micros - (before.cpu.get(id) ?? 0);
  }
  return { result, interference: Math.max(0, other) / wallUs, forks: after.forks - before.forks };
}

/** Waits (up to `maxMs`) until the machine is idle: under 10% of one core busy over 5 s. */
export async function waitForIdle(maxMs, log) {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const busy0 = systemBusyMicros();
    await sleep(5000);
    const busyCores = (systemBusyMicros() - busy0) / 5e6;
    if (busyCores < 0.1) return { busyCores, waitedMs: maxMs - (deadline - Date.now()) };
    if (Date.now() > deadline) return { busyCores, waitedMs: maxMs, gaveUp: true };
    log(`waiting for an idle machine: ${busyCores.toFixed(2)} cores busy, load average ${os.loadavg()[0].toFixed(2)}`);
  }
}

/** VmHWM (peak RSS) and VmRSS in MiB. */
export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peakRssMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

export function loadAverage() {
  return os.loadavg()[0];
}

export function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const mhz = /^cpu MHz\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim();
  return {
    cpu: `${model}${mhz ? ` (${Math.round(Number(mhz))} MHz)` : ''}`,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics.

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export function sortedCopy(values) {
  return Float64Array.from(values).sort();
}

export function median(values) {
  return percentile(sortedCopy(values), 50);
}

export const fmt = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
export const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN);
