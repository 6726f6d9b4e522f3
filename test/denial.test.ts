import { describe, expect, it } from '@jest/globals';
import type { ConfigInput } from '../src/core/config.js';
import { inject } from './support/core.js';
import { P, on, type Pod } from './support/expect.js';
import { basePod } from './support/fixture.js';
const HOSTILE = ['/x;rm -rf /', '$(id)', '`id`', "/a'b", '/a\nb', '/' + 'a'.repeat(5000), '/a b', '/a|b', '/a>b', '/${IFS}'];

interface Case {
  readonly name: string;
  readonly pod: Pod;
  /** Each must appear in the message: the key, the value as given (JSON-escaped), what is accepted. */
  readonly mentions: readonly string[];
  readonly config?: ConfigInput;
  /** The message's first words (`probe-injector: 2 problems with the pod: …`), when the case is about them. */
  readonly starts?: string;
}
const NEW: ConfigInput = { kubernetesVersion: '1.30' };

const bad = (key: string, value: string, accepted: string, extra: Record<string, string> = {}): Case => ({
  name: `${key}=${JSON.stringify(value).slice(0, 40)}`,
  pod: basePod(on({ [key]: value, ...extra })),
  mentions: [`${P}${key}=${JSON.stringify(value.slice(0, 60))}`, accepted],
});

const noProbes = { readiness: 'false', liveness: 'false', startup: 'false' };
const sidecarPod = (restartPolicy?: string) =>
  basePod(on({ containers: 'app, mesh' }), (pod) => (pod.spec.initContainers = [{ name: 'mesh', image: 'envoy', ...(restartPolicy && { restartPolicy }), ports: [{ containerPort: 15021 }] }]));
const bigProbe = (bytes: number) => `{"exec":{"command":["${'x'.repeat(bytes - 25)}"]}}`;

/** Issues 9, 11, 12 and 14: what the new rules refuse. */
const NEW_CASES: Case[] = [
  {
    name: 'grpc profile with nacos-deregister and no other TCP port: the hook never calls the gRPC port',
    pod: basePod(on({ profile: 'grpc', 'nacos-deregister': 'true' }), (pod) => (pod.spec.containers[0].ports = [{ name: 'grpc', containerPort: 7000 }])),
    config: NEW,
    mentions: [`${P}nacos-deregister-port: container "app" has no port to call`, "other than a gRPC probe's", `set ${P}nacos-deregister-port`],
  },
  {
    name: 'an existing gRPC readiness probe and no ports: nacos-deregister-port is asked for',
    pod: basePod(on({ 'nacos-deregister': 'true', ...noProbes }), (pod) => {
      delete pod.spec.containers[0].ports;
      pod.spec.containers[0].readinessProbe = { grpc: { port: 9555 } };
    }),
    mentions: [`${P}nacos-deregister-port: container "app" has no port to call`],
  },
  { name: 'profile grpc, cluster version unknown', pod: basePod(on({ profile: 'grpc' })), mentions: [`${P}profile="grpc": gRPC health checking needs Kubernetes >= 1.24 for gRPC probes (the cluster version is unknown`] },
  { name: 'type grpc on 1.23', pod: basePod(on({ type: 'grpc' })), config: { kubernetesVersion: '1.23' }, mentions: [`${P}type="grpc": gRPC health checking needs Kubernetes >= 1.24 for gRPC probes (this cluster: 1.23)`] },
  { name: 'a grpc {probe}-probe on 1.20', pod: basePod(on({ 'liveness-probe': '{"grpc":{"port":8080}}' })), config: { kubernetesVersion: 'v1.20.2' }, mentions: [`${P}liveness-probe: a grpc handler needs Kubernetes >= 1.24`] },
  { name: 'a native sidecar on 1.28', pod: sidecarPod('Always'), config: { kubernetesVersion: '1.28' }, mentions: [`${P}containers="app,mesh": "mesh" is a native sidecar: needs Kubernetes >= 1.29`] },
  { name: 'a plain init container named in containers', pod: sidecarPod(), config: NEW, mentions: [`"mesh" is an init container, which runs to completion before the app`] },
  { name: 'prestop-sleep-seconds with nacos-deregister', pod: basePod(on({ 'prestop-sleep-seconds': '10', 'nacos-deregister': 'true' })), mentions: [`${P}prestop-sleep-seconds="10": cannot be combined with nacos-deregister "true"`] },
  bad('prestop-sleep-seconds', '0', 'from 1 to 600'),
  bad('prestop-sleep-seconds', '601', 'from 1 to 600'),
  bad('nacos-deregister-via', 'eureka', 'expected one of "endpoint", "actuator"', { 'nacos-deregister': 'true' }),
  {
    name: 'actuator with http mode',
    pod: basePod(on({ 'nacos-deregister': 'true', 'nacos-deregister-via': 'actuator', 'nacos-deregister-mode': 'http' })),
    mentions: [`${P}nacos-deregister-via="actuator": the actuator endpoint needs a POST with a JSON body`],
  },
  {
    name: 'actuator with an explicit method',
    pod: basePod(on({ 'nacos-deregister': 'true', 'nacos-deregister-via': 'actuator', 'nacos-deregister-method': 'POST' })),
    mentions: [`${P}nacos-deregister-method="POST": the actuator endpoint is always called with POST`],
  },
  {
    name: 'the gate without a Nacos identity (no nacos-service, no app label)',
    pod: basePod(on({ 'readiness-gates': 'nacos.io/registered' }), (pod) => (pod.metadata.labels = { run: 'x' })),
    mentions: [`${P}nacos-service: the pod carries the readiness gate "nacos.io/registered", so its Nacos service must be known`, 'app.kubernetes.io/name or app'],
    starts: 'probe-injector: 1 problem with the pod: ',
  },
  {
    name: 'the gate with its label set to something else',
    pod: basePod(on({ 'readiness-gates': 'nacos.io/registered', 'nacos-service': 'orders' }), (pod) => (pod.metadata.labels = { [`${P}nacos-gate`]: 'false' })),
    mentions: [`its label ${P}nacos-gate is "false"`],
  },
  bad('nacos-service', 'orders service', 'expected a Nacos service name'),
  bad('nacos-group', 'a/b', 'expected a Nacos group name'),
  { name: 'nacos-port naming an undeclared port', pod: basePod(on({ 'readiness-gates': 'nacos.io/registered', 'nacos-service': 'o', 'nacos-port': 'grpc' })), mentions: [`${P}nacos-port="grpc": container "app" declares no port named "grpc"`] },
  // Issue 11: what kube-apiserver would refuse anyway, or what would grow the answer beyond bounds.
  {
    name: 'more than 64 readiness gates',
    pod: basePod(on({ 'readiness-gates': Array.from({ length: 65 }, (_, i) => `example.com/g${i}`).join(',') })),
    mentions: [`${P}readiness-gates="example.com/g0,`, 'more than 64 items'],
    starts: 'probe-injector: 1 problem with the pod: ',
  },
  { name: 'more than 64 target containers', pod: basePod(on({ containers: Array.from({ length: 65 }, (_, i) => `c${i}`).join(',') })), mentions: ['more than 64 items'] },
  { name: 'a {probe}-probe over 16 KiB', pod: basePod(on({ 'readiness-probe': bigProbe(16 * 1024 + 1) })), mentions: [`${P}readiness-probe="{\\"exec\\"`, 'is 16385 characters, over the 16384'] },
  { name: 'a {probe}-command over 16 KiB', pod: basePod(on({ 'liveness-command': `["${'x'.repeat(16 * 1024)}"]` })), mentions: ['over the 16384'] },
  {
    name: 'annotations over 256 KiB: refused before anything is read',
    pod: basePod(on({ filler: 'x'.repeat(256 * 1024) })),
    mentions: ["the annotations take more than 262144 bytes, Kubernetes' limit for a pod"],
  },
  {
    name: 'probe values copied into many containers beyond the answer bound',
    pod: basePod(on({ containers: Array.from({ length: 20 }, (_, i) => `c${i}`).join(','), 'readiness-probe': bigProbe(15_000), 'liveness-probe': bigProbe(15_000) }), (pod) => {
      pod.spec.containers = Array.from({ length: 20 }, (_, i) => ({ name: `c${i}`, image: 'x', ports: [{ containerPort: 8080 }] }));
    }),
    mentions: ['would be copied into 20 containers', 'over the 262144-byte bound of an answer'],
  },
];

const cases: Case[] = [
  { name: 'inject "yes"', pod: basePod({ [`${P}inject`]: 'yes' }), mentions: [`${P}inject="yes"`, 'expected "true" or "false"'] },
  { name: 'inject "True" (case matters)', pod: basePod({ [`${P}inject`]: 'True' }), mentions: [`${P}inject="True"`] },
  { name: 'unknown key suggests the nearest: readyness-path', pod: basePod(on({ 'readyness-path': '/r' })), mentions: [`${P}readyness-path: unknown annotation; did you mean ${P}readiness-path?`] },
  { name: 'unknown key suggests the nearest: nacos-deregister-sleep', pod: basePod(on({ 'nacos-deregister-sleep': '5' })), mentions: [`did you mean ${P}nacos-deregister-sleep-seconds?`] },
  { name: 'unknown key suggests the nearest: liveness-period', pod: basePod(on({ 'liveness-period': '5' })), mentions: [`did you mean ${P}liveness-period-seconds?`] },
  bad('type', 'udp', 'expected one of "http", "tcp", "grpc", "exec"'),
  bad('port', '0', 'port number from 1 to 65535'),
  bad('port', '65536', 'port number from 1 to 65535'),
  bad('port', 'Http_Port', 'port number from 1 to 65535'),
  { name: 'port name not declared', pod: basePod(on({ port: 'admin' })), mentions: [`${P}port="admin"`, 'declares no port named "admin"', '"http"'] },
  { name: 'readiness-port name not declared', pod: basePod(on({ 'readiness-port': 'mgmt' })), mentions: [`${P}readiness-port="mgmt"`] },
  {
    name: 'inject "true" and no port to probe: reported under port, as a problem of the pod (not of its annotations)',
    pod: basePod(on(), (pod) => delete pod.spec.containers[0].ports),
    mentions: [`${P}port: container "app" declares no TCP containerPort`],
    starts: "probe-injector: 1 problem with the pod: ",
  },
  bad('path', 'health', 'absolute HTTP path'),
  bad('path', '/a b', 'absolute HTTP path'),
  bad('scheme', 'https', 'expected one of "HTTP", "HTTPS"'),
  { name: 'path with type tcp', pod: basePod(on({ type: 'tcp', path: '/h' })), mentions: [`${P}path="/h": only applies to http probes`] },
  { name: 'readiness-path with readiness-type grpc', pod: basePod(on({ 'readiness-type': 'grpc', 'readiness-path': '/h' })), config: NEW, mentions: [`${P}readiness-path="/h": only applies to http probes, but the readiness probe's type is grpc`] },
  { name: 'liveness-command with liveness-type http', pod: basePod(on({ 'liveness-type': 'http', 'liveness-command': '["x"]' })), mentions: [`${P}liveness-command`, 'only applies to exec probes'] },
  { name: 'startup-grpc-service on a tcp probe', pod: basePod(on({ 'startup-grpc-service': 'svc' })), mentions: [`${P}startup-grpc-service="svc": only applies to grpc probes`] },
  { name: 'exec without a command', pod: basePod(on({ type: 'exec', 'readiness-command': '["ok"]' })), mentions: [`${P}startup-command: is required`, `${P}liveness-command: is required`] },
  bad('readiness', 'maybe', 'expected "true" or "false"'),
  bad('readiness-initial-delay-seconds', '-1', 'decimal integer >= 0'),
  bad('readiness-period-seconds', '0', 'decimal integer >= 1'),
  bad('readiness-timeout-seconds', '1.5', 'decimal integer >= 1'),
  bad('readiness-failure-threshold', '2147483648', 'decimal integer >= 1'),
  bad('liveness-success-threshold', '2', 'Kubernetes requires successThreshold 1 for a liveness probe'),
  bad('startup-success-threshold', '3', 'successThreshold 1 for a startup probe'),
  bad('readiness-success-threshold', 'one', 'decimal integer >= 1'),
  bad('readiness-command', '["a",', 'non-empty JSON array of non-empty strings'),
  bad('readiness-command', '[]', 'non-empty JSON array'),
  bad('readiness-command', '"ls"', 'non-empty JSON array'),
  bad('readiness-probe', '{not json', 'not valid JSON'),
  bad('readiness-probe', '{"tcpSocket":{"port":80},"exec":{"command":["x"]}}', 'exactly one handler'),
  bad('readiness-probe', '{"periodSeconds":5}', 'exactly one handler'),
  bad('readiness-probe', '{"tcpSocket":{"port":80},"periodSecond":5}', 'periodSecond'),
  bad('readiness-probe', '{"tcpSocket":{"port":80},"terminationGracePeriodSeconds":5}', 'not allowed on a readiness probe'),
  bad('liveness-probe', '{"tcpSocket":{"port":80},"successThreshold":2}', 'successThreshold must be 1'),
  bad('liveness-probe', '{"tcpSocket":{"port":80},"periodSeconds":2147483648}', 'at most 2147483647'),
  bad('liveness-probe', '{"httpGet":{"path":"rel","port":80}}', 'absolute HTTP path'),
  bad('liveness-probe', '{"grpc":{"port":"8080"}}', 'port number from 1 to 65535 or the name of a port'),
  bad('liveness-probe', '{"__proto__":{"polluted":true},"tcpSocket":{"port":80}}', '__proto__'),
  { name: 'liveness-probe with an undeclared port name', pod: basePod(on({ 'liveness-probe': '{"tcpSocket":{"port":"admin"}}' })), mentions: [`${P}liveness-probe="admin"`, 'declares no port named "admin"'] },
  bad('readiness-gates', 'nacos.io/registered,,x', 'no empty item'),
  bad('readiness-gates', 'not a gate!', 'qualified names'),
  bad('readiness-gates', 'UPPER.io/x', 'qualified names'),
  bad('containers', 'app,', 'no empty item'),
  { name: 'containers naming no container', pod: basePod(on({ containers: 'app,web' })), mentions: [`${P}containers="app,web": names no container of the pod ("web"); expected a comma-separated list of: "app"`] },
  ...NEW_CASES,
  {
    name: 'a hostile container name is quoted and cut in the message (mutating webhooks run before validation)',
    pod: basePod(on(), (pod) => {
      pod.spec.containers[0].name = `app\n${'x'.repeat(5000)}`;
      delete pod.spec.containers[0].ports;
    }),
    mentions: [`${P}port: container "app\\n${'x'.repeat(56)}"… (5004 characters) declares no TCP containerPort`],
  },
  { name: 'unknown profile', pod: basePod(on({ profile: 'quarkus' })), mentions: [`${P}profile="quarkus": no such profile; expected one of "default", "http", "spring-boot", "grpc"`] },
  bad('nacos-deregister', 'on', 'expected "true" or "false"'),
  bad('nacos-deregister-mode', 'grpc', 'expected one of "exec", "http"', { 'nacos-deregister': 'true' }),
  bad('nacos-deregister-port', '99999', 'port number from 1 to 65535', { 'nacos-deregister': 'true' }),
  bad('nacos-deregister-method', 'PATCH', 'expected one of "GET", "POST", "PUT", "DELETE"', { 'nacos-deregister': 'true' }),
  bad('nacos-deregister-timeout-seconds', '0', 'from 1 to 60', { 'nacos-deregister': 'true' }),
  bad('nacos-deregister-timeout-seconds', '61', 'from 1 to 60', { 'nacos-deregister': 'true' }),
  bad('nacos-deregister-sleep-seconds', '601', 'from 0 to 600', { 'nacos-deregister': 'true' }),
  bad('nacos-deregister-method', 'POST', 'an http-mode preStop hook can only send GET', { 'nacos-deregister': 'true', 'nacos-deregister-mode': 'http' }),
  bad('nacos-deregister-sleep-seconds', '5', 'an http-mode preStop hook cannot sleep', { 'nacos-deregister': 'true', 'nacos-deregister-mode': 'http' }),
  {
    name: 'nacos-deregister on a container with no port to call',
    pod: basePod(on({ 'nacos-deregister': 'true', type: 'exec', 'startup-command': '["a"]', 'readiness-command': '["a"]', 'liveness-command': '["a"]' }), (pod) => delete pod.spec.containers[0].ports),
    mentions: [`${P}nacos-deregister-port: container "app" has no port to call`],
  },
  // Nothing from an annotation may reach the preStop command line unchecked.
  ...HOSTILE.map((value) => bad('nacos-deregister-path', value, 'letters, digits and "/-._~%"', { 'nacos-deregister': 'true' })),
  ...HOSTILE.map((value) => bad('path', value, 'absolute HTTP path')),
  ...['8080;id', '$(id)', '`id`', '80\n80'].map((value) => bad('nacos-deregister-port', value, 'port number from 1 to 65535', { 'nacos-deregister': 'true' })),
];

describe('invalid annotations are denied with every problem named (the core, no HTTP)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { mutation, patch, denial } = inject(c.pod, c.config);
    expect(mutation.outcome).toBe('denied');
    expect(patch).toEqual([]);
    const message = denial ?? '';
    expect(message.startsWith(c.starts ?? 'probe-injector:')).toBe(true);
    expect(message).not.toMatch(/[\r\n\u0000-\u001f\u2028\u2029]/);
    expect(message.length).toBeLessThan(2000);
    for (const mention of c.mentions) expect(message).toContain(mention);
  });

  it('lists every problem at once, each with its key and value', () => {
    const pod = basePod(on({ type: 'udp', 'readiness-period-seconds': '0', typo: 'x', 'nacos-deregister': 'maybe', 'readiness-gates': ',' }));
    const message = inject(pod).denial ?? '';
    expect(message).toMatch(/^probe-injector: 5 problems with the pod's annotations: /);
    for (const key of ['type="udp"', 'readiness-period-seconds="0"', 'typo: unknown annotation', 'nacos-deregister="maybe"', 'readiness-gates=","']) {
      expect(message).toContain(P + key);
    }
  });

  it('collects across stages: an unknown profile does not hide an undeclared port', () => {
    const message = inject(basePod(on({ profile: 'grcp', port: 'grpc' }))).denial ?? '';
    expect(message).toMatch(/^probe-injector: 2 problems/);
    expect(message).toContain(`${P}profile="grcp": no such profile`);
    expect(message).toContain(`${P}port="grpc": container "app" declares no port named "grpc"`);
  });

  it('collects across stages: an invalid inject value does not hide a container that does not exist', () => {
    const message = inject(basePod({ [`${P}inject`]: 'yes', [`${P}containers`]: 'server, sidecar' })).denial ?? '';
    expect(message).toContain(`${P}inject="yes": expected "true" or "false"`);
    expect(message).toContain(`${P}containers="server,sidecar": names no container of the pod ("server", "sidecar")`);
  });

  it('cuts a long value to about 60 characters and says how long it was', () => {
    const message = inject(basePod(on({ path: '/' + 'x'.repeat(4999) }))).denial ?? '';
    expect(message).toContain(`"/${'x'.repeat(59)}"… (5000 characters)`);
    expect(message.length).toBeLessThan(400);
  });

  it('escapes control characters and quotes in values (JSON)', () => {
    expect(inject(basePod(on({ type: 'a"b\nc\u0000' }))).denial).toContain(`${P}type="a\\"b\\nc\\u0000"`);
  });

  it('escapes and cuts unknown keys too: newlines, NUL, ESC, U+2028 never reach the message raw', () => {
    const key = `${P}x\n\u0000\u001b[31m\u2028${'k'.repeat(200_000)}`;
    const message = inject(basePod(on({ [key]: 'v' }))).denial ?? '';
    expect(message).toContain(`"${P}x\\n\\u0000\\u001b[31m\\u2028kkkk`);
    expect(message).toContain(`"… (${key.length} characters): unknown annotation`);
    expect(message).not.toMatch(/[\u0000-\u001f\u2028\u2029]/);
    expect(message.length).toBeLessThan(600);
  });

  it('fifty long unknown keys: a bounded denial', () => {
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 50; i++) annotations[`${P}${String(i).padStart(2, '0')}${'x'.repeat(5_000)}`] = 'v';
    const message = inject(basePod(on(annotations))).denial ?? '';
    expect(message.length).toBeLessThan(16 * 1024 + 1);
  });

  it('errorPolicy warn: allowed, nothing injected, every problem a warning', () => {
    const { mutation, patch, warnings } = inject(basePod(on({ type: 'udp', port: '0' })), { errorPolicy: 'warn' });
    expect(mutation.outcome).toBe('unchanged');
    expect(patch).toEqual([]);
    expect(warnings).toEqual([
      `probe-injector: ${P}type="udp": expected one of "http", "tcp", "grpc", "exec"`,
      `probe-injector: ${P}port="0": expected a port number from 1 to 65535 or the name of a port the container declares`,
    ]);
  });

  it('a pod that is not opted in is not validated', () => {
    const { mutation, patch } = inject(basePod({ [`${P}port`]: '0' }));
    expect(mutation.outcome).toBe('skipped');
    expect(patch).toEqual([]);
  });

  it('the status annotation is never an error, even when it is garbage', () => {
    const { mutation, patch } = inject(basePod(on({ status: '{not json' })));
    expect(mutation.outcome).toBe('patched');
    expect(patch.length).toBeGreaterThan(0);
  });
});

describe('a pod that is not opted in but carries a misspelt key gets a warning (issue 9)', () => {
  it.each([
    [`${P}injcet`, `${P}inject`],
    ['Probe-Injector.io/inject', `${P}inject`],
    [`${P}Inject`, `${P}inject`],
    [`${P}readyness-path`, `${P}readiness-path`],
  ])('%s suggests %s', (key, suggestion) => {
    const { mutation, warnings } = inject(basePod({ [key]: 'true' }));
    expect(mutation.outcome).toBe('skipped');
    expect(warnings).toEqual([expect.stringContaining(`unknown annotation ${JSON.stringify(key).replace(/^"|"$/g, '')}; did you mean ${suggestion}?`)]);
  });

  it('a case-variant of the prefix on an opted-in pod is a problem, with the suggestion', () => {
    expect(inject(basePod(on({ 'Probe-Injector.io/readiness-path': '/r' }))).denial).toContain('Probe-Injector.io/readiness-path: unknown annotation; did you mean probe-injector.io/readiness-path?');
  });

  it('many misspelt keys: a bounded number of warnings', () => {
    const annotations: Record<string, string> = {};
    for (let i = 0; i < 500; i++) annotations[`${P}bogus-${i}`] = 'x';
    const { warnings } = inject(basePod(annotations));
    expect(warnings).toHaveLength(20);
    expect(warnings[19]).toBe('probe-injector: … and 481 more warnings');
  });
});

describe('suggestions for a per-probe key used without its probe (issue 9)', () => {
  it.each([
    ['command', ['readiness-command', 'liveness-command', 'startup-command']],
    ['grpc-service', ['startup-grpc-service', 'readiness-grpc-service', 'liveness-grpc-service']],
    ['period-seconds', ['startup-period-seconds', 'readiness-period-seconds', 'liveness-period-seconds']],
    ['comand', ['startup-command', 'readiness-command', 'liveness-command']],
  ])('%s', (key, suggestions) => {
    const message = inject(basePod(on({ [key]: 'x' }))).denial ?? '';
    for (const suggestion of suggestions) expect(message).toContain(P + suggestion);
    expect(message).not.toContain(`${P}containers`);
  });
});

describe('hostile volume: many bad keys', () => {
  it('6 000 unknown keys (all Kubernetes allows in 256 KiB): every problem counted, the first 50 listed, suggestions for the first few', () => {
    const annotations: Record<string, string> = { [`${P}inject`]: 'true' };
    for (let i = 0; i < 6_000; i++) annotations[`${P}bogus-key-${i}`] = 'x';
    const message = inject(basePod(annotations)).denial ?? '';
    expect(message).toMatch(/^probe-injector: 6000 problems with the pod's annotations: /);
    expect(message).toMatch(/… and 5950 more$/);
    expect(message.match(/did you mean/g)).toHaveLength(20);
    expect(message.length).toBeLessThan(8000);
  });

  it('DEL and the C1 controls (U+009B, a terminal escape) are escaped too', () => {
    const message = inject(basePod(on({ type: 'a\u007fb\u009bc' }))).denial ?? '';
    expect(message).toContain(`${P}type="a\\u007fb\\u009bc"`);
    expect(message).not.toMatch(/[\u007f-\u009f]/);
  });

  it('U+2028 and U+2029 in a value are escaped, like newlines', () => {
    const message = inject(basePod(on({ type: 'a\u2028b\u2029c' }))).denial ?? '';
    expect(message).toContain(`${P}type="a\\u2028b\\u2029c"`);
    expect(message).not.toMatch(/[\u2028\u2029]/);
  });
});
