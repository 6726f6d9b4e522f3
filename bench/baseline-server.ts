// The baseline: the least a Node HTTPS admission webhook can do. It reads the body, JSON.parses it
// and answers a fixed AdmissionReview (the webhook's own answer, so both send the same bytes).
// No framework, no validation, no logging.
//
//   node .bench/bench/baseline-server.js --port P --host H --tls-cert-file F --tls-key-file F [--answer-file F]
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i] ?? '', process.argv[i + 1] ?? '');
const required = (name: string) => {
  const value = args.get(name);
  if (!value) throw new Error(`baseline-server: ${name} is required`);
  return value;
};

const answerFile = args.get('--answer-file');
const answer = answerFile
  ? Buffer.from(readFileSync(answerFile, 'utf8'))
  : Buffer.from(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'fixed', allowed: true } }));
const health = Buffer.from('{"status":"ok"}');

const server = https.createServer({ cert: readFileSync(required('--tls-cert-file')), key: readFileSync(required('--tls-key-file')), minVersion: 'TLSv1.2' }, (req, res) => {
  if (req.method === 'GET') {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'Content-Type': 'application/json', 'Content-Length': health.length });
    res.end(health);
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let status = 200;
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      status = 400;
    }
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': answer.length });
    res.end(answer);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(args.get('--port') ?? 9443), args.get('--host') ?? '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'baseline listening', port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
