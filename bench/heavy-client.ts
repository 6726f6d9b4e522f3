// The heavy side of the worst-case section, in a process of its own (so that encrypting 3 MiB
// bodies never delays the small-admission generator's event loop): `--parallel` clients POST the
// body in `--body-file` back-to-back on keep-alive connections until SIGTERM (or `--seconds`), then
// it writes one JSON line to stdout: every answered request's latency (ms, request start → last
// byte of the answer), status counts, errors, 429s.
//
//   node .bench/bench/heavy-client.js --port P --ca-file F --body-file F --parallel N [--seconds S]
import { readFileSync } from 'node:fs';
import https from 'node:https';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i] ?? '', process.argv[i + 1] ?? '');
const port = Number(args.get('--port'));
const ca = readFileSync(args.get('--ca-file') ?? '', 'utf8');
const body = readFileSync(args.get('--body-file') ?? '');
const parallel = Number(args.get('--parallel') ?? 1);
const seconds = Number(args.get('--seconds') ?? 3600);

const agent = new https.Agent({ keepAlive: true, maxSockets: parallel, ca, servername: 'localhost' });
const latencies: number[] = [];
const statuses: Record<string, number> = {};
let errors = 0;
let busy = 0;
let stopping = false;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function post(): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = https.request(
      { host: '127.0.0.1', port, path: '/mutate?timeout=10s', method: 'POST', agent, servername: 'localhost', headers: { 'Content-Type': 'application/json', 'Content-Length': body.length }, timeout: 30_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

async function client(): Promise<void> {
  while (!stopping) {
    try {
      const answer = await post();
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      if (answer.status === 429) {
        busy++;
        await sleep(50);
      } else latencies.push(answer.ms);
    } catch {
      errors++;
      await sleep(50);
    }
  }
}

process.once('SIGTERM', () => (stopping = true));
const timer = setTimeout(() => (stopping = true), seconds * 1000);
await Promise.all(Array.from({ length: parallel }, client));
clearTimeout(timer);
agent.destroy();
process.stdout.write(`${JSON.stringify({ latencies, statuses, errors, busy })}\n`);
