// An open-loop load generator: requests are due at a constant rate (t0 + i / rate) whatever the
// server does, and each latency is timed from the request's INTENDED send time with
// process.hrtime.bigint(), so a slow server cannot slow the generator down and hide its own queue
// (no coordinated omission). autocannon's rate limit sends per-second bursts, which measures the
// burst, not the server.
//
// Keep-alive HTTP/1.1 over TLS on a fixed pool of connections, with a minimal client (a prebuilt
// request buffer, a Content-Length response parser) so the client adds as little as possible to
// what is measured. A due request waits for a free connection (that wait counts too).
//
// Timing: setTimeout cannot fire with better than ~1 ms precision, so the generator sleeps with a
// timer until ~1.2 ms before the next due time and then spins on setImmediate (which still polls
// I/O). How late each request actually left is recorded as `sendLag`.
import tls from 'node:tls';

const MS = 1_000_000n;

export interface OpenLoopOptions {
  readonly port: number;
  readonly host: string;
  readonly ca: string;
  /** Request body (JSON). */
  readonly body: string;
  /** Requests per second. */
  readonly rate: number;
  /** The measured part. */
  readonly durationMs: number;
  /** Sent first at the same rate, not recorded. */
  readonly warmupMs?: number;
  readonly connections?: number;
  readonly path?: string;
  /** Per request; a request without an answer by then counts as an error. */
  readonly timeoutMs?: number;
  /** Called when the measured part begins. */
  readonly onMeasureStart?: () => void;
  /** Stops early (the requests not sent are not counted). */
  readonly signal?: AbortSignal;
}

export interface OpenLoopResult {
  /** µs from each request's intended send time to its response. */
  readonly latencies: Float64Array;
  /** µs each request left late. */
  readonly sendLag: Float64Array;
  readonly errors: number;
  readonly non2xx: number;
  readonly requests: number;
  readonly achievedRate: number;
}

interface Item {
  readonly intended: bigint;
  readonly measured: boolean;
  sentAt: bigint;
}

interface Connection {
  readonly socket: tls.TLSSocket;
  current: Item | undefined;
  dead: boolean;
  onResponse: (status: number) => void;
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { port, host, ca, body, rate, durationMs, warmupMs = 1000, connections = 16, path = '/mutate?timeout=10s', timeoutMs = 10_000, onMeasureStart, signal } = options;
  const payload = Buffer.from(body);
  const request = Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`),
    payload,
  ]);
  const pool = await Promise.all(Array.from({ length: connections }, () => connect(host, port, ca)));
  const idle = [...pool];
  const queue: Item[] = []; // due requests waiting for a connection

  const interval = BigInt(Math.round(1e9 / rate));
  const warmupCount = Math.round((warmupMs / 1000) * rate);
  let total = warmupCount + Math.round((durationMs / 1000) * rate);
  const latencies = new Float64Array(total - warmupCount);
  const sendLag = new Float64Array(total - warmupCount);
  let recorded = 0;
  let completed = 0;
  let errors = 0;
  let non2xx = 0;
  let sent = 0;

  let finish = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const start = process.hrtime.bigint() + 5n * MS;

  const send = (connection: Connection, item: Item) => {
    item.sentAt = process.hrtime.bigint();
    connection.current = item;
    connection.socket.write(request);
  };
  const complete = (connection: Connection, status: number) => {
    const item = connection.current;
    connection.current = undefined;
    if (!item) return;
    const now = process.hrtime.bigint();
    completed++;
    if (status === 0) errors++;
    else if (status < 200 || status > 299) non2xx++;
    if (item.measured && status !== 0) {
      latencies[recorded] = Number(now - item.intended) / 1000;
      sendLag[recorded] = Number(item.sentAt - item.intended) / 1000;
      recorded++;
    }
    if (!connection.dead) {
      const next = queue.shift();
      if (next) send(connection, next);
      else idle.push(connection);
    } // a broken connection is not reused; its share of the load falls to the others
    if (completed >= total) finish();
  };
  for (const connection of pool) connection.onResponse = (status) => complete(connection, status);

  let measureStarted = false;
  const tick = () => {
    if (signal?.aborted && sent < total) {
      total = sent; // stop sending; wait for what is in flight
      if (completed >= total) finish();
      return;
    }
    const now = process.hrtime.bigint();
    while (sent < total) {
      const intended = start + BigInt(sent) * interval;
      if (intended > now) break;
      const item: Item = { intended, measured: sent >= warmupCount, sentAt: 0n };
      if (item.measured && !measureStarted) {
        measureStarted = true;
        onMeasureStart?.();
      }
      sent++;
      const connection = idle.pop();
      if (connection) send(connection, item);
      else queue.push(item);
    }
    if (sent >= total) return;
    const remaining = start + BigInt(sent) * interval - process.hrtime.bigint();
    if (remaining > 1_500_000n) setTimeout(tick, Math.max(0, Math.floor(Number(remaining - 1_200_000n) / 1e6)));
    else setImmediate(tick);
  };
  tick();

  // A request that never completes is an error (and would otherwise hang the benchmark).
  const watchdog = setInterval(() => {
    const now = process.hrtime.bigint();
    for (const connection of pool) {
      const item = connection.current;
      if (item && now - item.sentAt > BigInt(timeoutMs) * MS) connection.socket.destroy(); // 'close' completes it as an error
    }
    if (pool.every((connection) => connection.dead)) {
      errors += total - completed;
      sent = total;
      finish();
    }
  }, 500);
  await done;
  clearInterval(watchdog);
  for (const connection of pool) connection.socket.destroy();
  const measured = Math.max(0, total - warmupCount);
  return {
    latencies: latencies.subarray(0, recorded),
    sendLag: sendLag.subarray(0, recorded),
    errors,
    non2xx,
    requests: measured,
    achievedRate: measured / (durationMs / 1000),
  };
}

/** One keep-alive TLS connection with a minimal HTTP/1.1 response parser (Content-Length only). */
function connect(host: string, port: number, ca: string): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, ca, servername: 'localhost' });
    socket.setNoDelay(true);
    const connection: Connection = { socket, current: undefined, dead: false, onResponse: () => {} };
    let buffer: Buffer = Buffer.alloc(0);
    let expected = -1; // total bytes of the current response, once its headers are in
    let status = 0;
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        if (expected < 0) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffer.subarray(0, end).toString('latin1');
          status = Number(head.slice(9, 12));
          const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
          if (!length) {
            socket.destroy(new Error(`response without Content-Length: ${head}`));
            return;
          }
          expected = end + 4 + Number(length[1]);
        }
        if (buffer.length < expected) return;
        buffer = buffer.subarray(expected);
        expected = -1;
        connection.onResponse(status);
        if (buffer.length === 0) return;
      }
    });
    socket.once('secureConnect', () => resolve(connection));
    socket.once('error', (error) => reject(error));
    socket.once('close', () => {
      connection.dead = true;
      if (connection.current) connection.onResponse(0);
    });
  });
}
