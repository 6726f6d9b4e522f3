// Shared helpers of the benchmark: where things are, certificates, child servers, /proc readings,
// statistics. Runs compiled (tsc -p tsconfig.bench.json → .bench/bench/); nothing here imports
// the project's code, so it also runs under jest (test/memory.test.ts uses the shapes and servers).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

/** This file's directory: bench/ under jest, .bench/bench/ when compiled (the other bench scripts sit beside it). */
export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The repository: the first directory upwards with probe-injector's package.json. */
export const ROOT = (() => {
  for (let dir = BENCH_DIR; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'probe-injector') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no probe-injector package.json above ${BENCH_DIR}`);
  }
})();
export const CLI = path.join(ROOT, 'dist', 'cli.js');
/** A compiled bench script beside this one (`baseline-server`, `minimal-webhook`, ...). */
export const benchScript = (name: string) => path.join(BENCH_DIR, `${name}.js`);
export const HOST = '127.0.0.1';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Certificates: a CA and an ECDSA P-256 serving certificate for localhost and 127.0.0.1.

export interface Certificates {
  /** The CA certificate (PEM), which clients trust. */
  readonly ca: string;
  readonly caKeyFile: string;
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export async function makeCertificates(dir: string): Promise<Certificates> {
  const file = (name: string) => path.join(dir, name);
  try {
    const run = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('ca.key'));
    run('req', '-x509', '-new', '-key', file('ca.key'), '-sha256', '-days', '2', '-subj', '/CN=bench CA', '-out', file('ca.crt'));
    run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('tls.key'));
    run('req', '-new', '-key', file('tls.key'), '-subj', '/CN=localhost', '-out', file('tls.csr'));
    writeFileSync(file('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    run('x509', '-req', '-in', file('tls.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-sha256', '-extfile', file('ext.cnf'), '-out', file('tls.crt'));
  } catch {
    // No openssl: the selfsigned package (a dependency of the webhook) does the same.
    const { generate } = await import('selfsigned');
    const ca = await generate([{ name: 'commonName', value: 'bench CA' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'basicConstraints', cA: true, critical: true }],
    });
    const serving = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      ca: { key: ca.private, cert: ca.cert },
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
    });
    writeFileSync(file('ca.crt'), ca.cert);
    writeFileSync(file('ca.key'), ca.private);
    writeFileSync(file('tls.crt'), serving.cert);
    writeFileSync(file('tls.key'), serving.private);
  }
  return { ca: readFileSync(file('ca.crt'), 'utf8'), caFile: file('ca.crt'), caKeyFile: file('ca.key'), certFile: file('tls.crt'), keyFile: file('tls.key') };
}

// ---------------------------------------------------------------------------------------------
// Child servers.

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export type ServerKind = 'webhook' | 'baseline' | 'minimal-allowed' | 'minimal-patch';

export interface ServerOptions {
  /** Node flags before the script (profiling, loader hooks, heap limits). */
  readonly extraNodeArgs?: readonly string[];
  /** Arguments after the command (`--config F`, `--kubeconfig F`, `--patch-file F`, ...). */
  readonly extraArgs?: readonly string[];
  /** Keep stdout (to time the "listening" line, or to read log lines); else it goes nowhere. */
  readonly keepStdout?: boolean;
  /** stdout is a pipe nobody reads (a stalled log shipper): the process's writes block once it is full. */
  readonly stalledStdout?: boolean;
  readonly timeoutMs?: number;
  /** A fixed answer for the baseline (the webhook's own answer, so both send the same bytes). */
  readonly answerFile?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The command line of each server under test. The webhook exactly as a user would start it, with
 * the metrics listener off (`--metrics-port 0`: /metrics stays on the HTTPS port), so that several
 * servers can run side by side.
 */
export function serverCommand(kind: ServerKind, port: number, certs: Certificates, options: ServerOptions = {}): string[] {
  const tlsArgs = ['--tls-cert-file', certs.certFile, '--tls-key-file', certs.keyFile];
  const node = options.extraNodeArgs ?? [];
  const extra = options.extraArgs ?? [];
  switch (kind) {
    case 'webhook':
      return [...node, CLI, 'serve', '--port', String(port), '--host', HOST, '--metrics-port', '0', '--shutdown-delay-seconds', '0', ...tlsArgs, ...extra];
    case 'baseline':
      return [...node, benchScript('baseline-server'), '--port', String(port), '--host', HOST, ...tlsArgs, ...(options.answerFile ? ['--answer-file', options.answerFile] : []), ...extra];
    case 'minimal-allowed':
    case 'minimal-patch':
      return [...node, benchScript('minimal-webhook'), '--port', String(port), '--host', HOST, ...tlsArgs, ...extra];
  }
}

export interface RunningServer {
  readonly kind: ServerKind;
  readonly port: number;
  readonly child: ChildProcess;
  readonly pid: number;
  /** spawn() → first 200 on GET /healthz. */
  readonly coldStartMs: number;
  readonly spawnedAt: bigint;
  readonly readyAt: bigint;
  /** spawn() → the "listening" log line (with keepStdout). */
  readonly listeningMs: number | undefined;
  stderr(): string;
  /** The stdout lines so far (with keepStdout). */
  stdoutLines(): string[];
  alive(): boolean;
  /** SIGTERM (SIGKILL after 5 s); resolves with how it exited. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Spawns a server and resolves once `GET /healthz` answers 200, with the time that took, measured
 * from just before spawn() (the cold start).
 */
export async function startServer(kind: ServerKind, certs: Certificates, options: ServerOptions = {}): Promise<RunningServer> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, serverCommand(kind, port, certs, options), {
    cwd: ROOT,
    stdio: ['ignore', options.keepStdout || options.stalledStdout ? 'pipe' : 'ignore', 'pipe'],
    env: { ...process.env, NODE_ENV: 'production', ...options.env },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-20_000)));
  let listeningAt: bigint | undefined;
  const lines: string[] = [];
  if (options.stalledStdout) child.stdout?.pause();
  else if (options.keepStdout) {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (listeningAt === undefined && /listening/.test(line)) listeningAt = process.hrtime.bigint();
        if (lines.length < 100_000) lines.push(line);
      }
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (dead) throw new Error(`${kind} exited before serving: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${kind} did not answer /healthz within ${timeoutMs} ms: ${stderr}`);
    }
    const status = await healthz(port, certs.ca).then((answer) => answer.status).catch(() => 0);
    if (status === 200) break;
    await sleep(1);
  }
  const ready = process.hrtime.bigint();
  return {
    kind,
    port,
    child,
    pid: child.pid ?? 0,
    coldStartMs: Number(ready - started) / 1e6,
    spawnedAt: started,
    readyAt: ready,
    listeningMs: listeningAt === undefined ? undefined : Number(listeningAt - started) / 1e6,
    stderr: () => stderr,
    stdoutLines: () => lines,
    alive: () => !dead,
    async stop() {
      if (!dead) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/**
 * One `GET <path>` on a fresh TLS connection, as kubelet's HTTPS probe does; resolves with the
 * status and the milliseconds from connect to the status line (rejects on connect errors).
 */
export function healthz(port: number, ca: string, pathName = '/healthz', timeoutMs = 2000): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const socket = tls.connect({ host: HOST, port, ca, servername: 'localhost' });
    let text = '';
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('timeout')));
    socket.once('error', reject);
    socket.once('secureConnect', () => socket.write(`GET ${pathName} HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (match) {
        socket.destroy();
        resolve({ status: Number(match[1]), ms: Number(process.hrtime.bigint() - started) / 1e6 });
      }
    });
    socket.once('end', () => reject(new Error('closed')));
  });
}

// ---------------------------------------------------------------------------------------------
// /proc: CPU time (all threads) and memory of a process.

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of the process (all its threads), in microseconds. */
export function cpuMicros(pid: number | string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

/** CPU time all processes spent busy (user, nice, system, irq, softirq, steal), in microseconds. */
export function systemBusyMicros(): number {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return ((user + nice + system + irq + softirq + steal) * 1e6) / CLOCK_TICKS;
}

/** CPU time the hypervisor gave other guests while this one wanted it (steal), in microseconds. */
export function systemStealMicros(): number {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  return ((cpu[7] ?? 0) * 1e6) / CLOCK_TICKS;
}

/** utime+stime (µs) of every process now, by pid; and the number of processes ever forked. */
function processSnapshot(): { cpu: Map<string, number>; forks: number } {
  const cpu = new Map<string, number>();
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

export interface Interference<T> {
  readonly result: T;
  /** Cores other processes used meanwhile. */
  readonly interference: number;
  /** Processes started meanwhile. */
  readonly forks: number;
}

/**
 * Measures what OTHER processes (not the servers under test, not this benchmark) used while `fn`
 * ran, in cores, summed per process from /proc/<pid>/stat (the system-wide /proc/stat counters
 * mis-attribute ticks when processes wake thousands of times a second, as the open-loop generator
 * does). Processes that both start and end inside the run are missed, but counted in `forks`.
 */
export async function withInterference<T>(pids: number | readonly number[], fn: () => PromiseLike<T>): Promise<Interference<T>> {
  const own = new Set([String(process.pid), ...[pids].flat().map(String)]);
  const before = processSnapshot();
  const t0 = process.hrtime.bigint();
  const result = await fn();
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const after = processSnapshot();
  let other = 0;
  for (const [id, micros] of after.cpu) {
    if (own.has(id)) continue;
    other += micros - (before.cpu.get(id) ?? 0);
  }
  return { result, interference: Math.max(0, other) / wallUs, forks: after.forks - before.forks };
}

/** Waits (up to `maxMs`) until the machine is idle: under 10% of one core busy over 5 s. */
export async function waitForIdle(maxMs: number, log: (message: string) => void): Promise<{ busyCores: number; waitedMs: number; gaveUp?: boolean }> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const busy0 = systemBusyMicros();
    await sleep(5000);
    const busyCores = (systemBusyMicros() - busy0) / 5e6;
    if (busyCores < 0.1) return { busyCores, waitedMs: maxMs - (deadline - Date.now()) };
    if (Date.now() > deadline) return { busyCores, waitedMs: maxMs, gaveUp: true };
    log(`waiting for an idle machine: ${busyCores.toFixed(2)} cores busy, load average ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
  }
}

/** Cores busy system-wide over `ms` (to say how quiet the machine was). */
export async function busyCores(ms: number): Promise<number> {
  const busy0 = systemBusyMicros();
  await sleep(ms);
  return (systemBusyMicros() - busy0) / (ms * 1000);
}

export interface Memory {
  /** VmHWM: the peak resident set since the process started. */
  readonly peakRssMiB: number;
  readonly rssMiB: number;
}

/** VmHWM (peak RSS) and VmRSS in MiB. */
export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peakRssMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

/** The webhook Deployment's memory limit (manifests/base/deployment.yaml), in MiB. */
export function manifestMemoryLimitMiB(): number {
  const text = readFileSync(path.join(ROOT, 'manifests', 'base', 'deployment.yaml'), 'utf8');
  const match = /limits:\s*\n(?:\s+\w+:.*\n)*?\s+memory:\s*"?(\d+)(Mi|Gi)"?/m.exec(text);
  if (!match) throw new Error('no memory limit found in manifests/base/deployment.yaml');
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
}

export function loadAverage(): number {
  return os.loadavg()[0] ?? 0;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly kernel: string;
  readonly memoryGiB: string;
  readonly date: string;
}

export function machine(): Machine {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const mhz = /^cpu MHz\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim();
  return {
    cpu: `${model}${mhz ? ` (${Math.round(Number(mhz))} MHz)` : ''}`,
    cores: os.availableParallelism(),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    memoryGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting.

/** The p-th percentile (nearest rank) of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? NaN;
}

export function sortedCopy(values: Iterable<number> | ArrayLike<number>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>).sort();
}

export function median(values: Iterable<number> | ArrayLike<number>): number {
  return percentile(sortedCopy(values), 50);
}

export const fmt = (value: number | undefined, digits = 0): string => (value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
export const ratio = (a: number, b: number): number => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN);
export const times = (value: number): string => `${fmt(value, 2)}×`;

/** One target of the report: what was asked, what was measured, whether it was met. */
export interface Target {
  readonly name: string;
  readonly measured: string;
  readonly pass: boolean;
}

export const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);
