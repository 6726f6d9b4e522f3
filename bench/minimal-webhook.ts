// A minimal Node admission webhook, for the "through the real client" section: what any webhook
// written on node:https costs kube-apiserver, with nothing of probe-injector in it. It reads the
// body, JSON.parses it, and answers an AdmissionReview for the request's uid:
//   - without --response-file: `allowed: true` and nothing else;
//   - with --response-file F: the AdmissionResponse in F (JSON, without `uid`: typically
//     probe-injector's own answer for the same pod, recorded beforehand — patch, warnings, audit
//     annotations), so the API server does the same work on the answer as with probe-injector, and
//     only the webhook's own computation is left out.
// With --capture-file F, the first request body is written to F (to learn what kube-apiserver
// sends for a pod, so probe-injector's answer to exactly that can be recorded). `GET /stats`
// answers how many TLS connections and admission requests it has served (does kube-apiserver
// reuse its connections?).
//
//   node .bench/bench/minimal-webhook.js --port P --host H --tls-cert-file F --tls-key-file F [--response-file F] [--capture-file F]
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i] ?? '', process.argv[i + 1] ?? '');
const required = (name: string) => {
  const value = args.get(name);
  if (!value) throw new Error(`minimal-webhook: ${name} is required`);
  return value;
};

const responseFile = args.get('--response-file');
// The answer around the uid, as two precomputed pieces: `{"apiVersion":…,"response":{"uid":` + uid + `,…}}`.
const rest = responseFile ? JSON.stringify(JSON.parse(readFileSync(responseFile, 'utf8'))).slice(1) : '"allowed":true}';
const head = '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":';
const tail = `,${rest}}`;
let captureFile = args.get('--capture-file');
const health = Buffer.from('{"status":"ok"}');
const stats = { connections: 0, requests: 0 };

const server = https.createServer({ cert: readFileSync(required('--tls-cert-file')), key: readFileSync(required('--tls-key-file')), minVersion: 'TLSv1.2' }, (req, res) => {
  if (req.method === 'GET') {
    const answer = req.url === '/stats' ? Buffer.from(JSON.stringify(stats)) : health;
    res.writeHead(req.url === '/healthz' || req.url === '/stats' ? 200 : 404, { 'Content-Type': 'application/json', 'Content-Length': answer.length });
    res.end(answer);
    return;
  }
  stats.requests++;
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let uid: unknown;
    try {
      uid = (JSON.parse(text) as { request?: { uid?: unknown } }).request?.uid;
    } catch {
      uid = undefined;
    }
    if (typeof uid !== 'string') {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end('{"code":400,"error":"expected an AdmissionReview with a request.uid"}');
      return;
    }
    if (captureFile) {
      writeFileSync(captureFile, text);
      captureFile = undefined;
    }
    const answer = Buffer.from(head + JSON.stringify(uid) + tail);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': answer.length });
    res.end(answer);
  });
});
server.on('secureConnection', () => stats.connections++);
// Longer than kube-apiserver's 90 s idle timeout, like probe-injector's: the client closes first.
server.keepAliveTimeout = 120_000;
server.listen(Number(args.get('--port') ?? 9443), args.get('--host') ?? '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'minimal webhook listening', port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
