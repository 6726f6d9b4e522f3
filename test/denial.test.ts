import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { makeInjectionConfig } from '../src/core/config.js';
import { admit, basePod, startTestWebhook, type Pod, type TestWebhook } from './support/webhook.js';

const P = 'probe-injector.io/';
const on = (extra: Record<string, string> = {}) => ({ [`${P}inject`]: 'true', ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [P + k, v])) });
const HOSTILE = ['/x;rm -rf /', '$(id)', '`id`', "/a'b", '/a\nb', '/' + 'a'.repeat(5000), '/a b', '/a|b', '/a>b', '/${IFS}'];

interface Case {
  readonly name: string;
  readonly pod: Pod;
  /** Each must appear in the message: the key, the value as given (JSON-escaped), what is accepted. */
  readonly mentions: readonly string[];
}

const bad = (key: string, value: string, accepted: string, extra: Record<string, string> = {}): Case => ({
  name: `${key}=${JSON.stringify(value).slice(0, 40)}`,
  pod: basePod(on({ [key]: value, ...extra })),
  mentions: [`${P}${key}=${JSON.stringify(value.slice(0, 60))}`, accepted],
});

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
  { name: 'no port to probe: reported under port', pod: basePod(on(), (pod) => delete pod.spec.containers[0].ports), mentions: [`${P}port: container "app" declares no TCP containerPort`] },
  bad('path', 'health', 'absolute HTTP path'),
  bad('path', '/a b', 'absolute HTTP path'),
  bad('scheme', 'https', 'expected one of "HTTP", "HTTPS"'),
  { name: 'path with type tcp', pod: basePod(on({ type: 'tcp', path: '/h' })), mentions: [`${P}path="/h": only applies to http probes`] },
  { name: 'readiness-path with readiness-type grpc', pod: basePod(on({ 'readiness-type': 'grpc', 'readiness-path': '/h' })), mentions: [`${P}readiness-path="/h": only applies to http probes, but the readiness probe's type is grpc`] },
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
  bad('liveness-probe', '{"grpc":{"port":"8080"}}', 'IANA service name'),
  bad('liveness-probe', '{"__proto__":{"polluted":true},"tcpSocket":{"port":80}}', '__proto__'),
  { name: 'liveness-probe with an undeclared port name', pod: basePod(on({ 'liveness-probe': '{"tcpSocket":{"port":"admin"}}' })), mentions: [`${P}liveness-probe="admin"`, 'declares no port named "admin"'] },
  bad('readiness-gates', 'nacos.io/registered,,x', 'no empty item'),
  bad('readiness-gates', 'not a gate!', 'qualified names'),
  bad('readiness-gates', 'UPPER.io/x', 'qualified names'),
  bad('containers', 'app,', 'no empty item'),
  { name: 'containers naming no container', pod: basePod(on({ containers: 'app,web' })), mentions: [`${P}containers="app,web": names no container of the pod ("web"); expected a comma-separated list of: "app"`] },
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

describe('invalid annotations are denied with every problem named', () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook();
  });
  afterAll(() => hook.close());

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { response, patch } = await admit(hook, c.pod);
    expect(response.allowed).toBe(false);
    expect(patch).toEqual([]);
    expect(response.status.code).toBe(400);
    const message: string = response.status.message;
    expect(message.startsWith('probe-injector:')).toBe(true);
    expect(message).not.toMatch(/[\r\n]/);
    expect(message.length).toBeLessThan(2000);
    for (const mention of c.mentions) expect(message).toContain(mention);
  });

  it('lists every problem at once, each with its key and value', async () => {
    const pod = basePod(on({ type: 'udp', 'readiness-period-seconds': '0', typo: 'x', 'nacos-deregister': 'maybe', 'readiness-gates': ',' }));
    const { response } = await admit(hook, pod);
    const message: string = response.status.message;
    expect(message).toMatch(/^probe-injector: 5 problems with the pod's annotations: /);
    for (const key of ['type="udp"', 'readiness-period-seconds="0"', 'typo: unknown annotation', 'nacos-deregister="maybe"', 'readiness-gates=","']) {
      expect(message).toContain(P + key);
    }
  });

  it('cuts a long value to about 60 characters and says how long it was', async () => {
    const { response } = await admit(hook, basePod(on({ path: '/' + 'x'.repeat(4999) })));
    expect(response.status.message).toContain(`"/${'x'.repeat(59)}"… (5000 characters)`);
    expect(response.status.message.length).toBeLessThan(400);
  });

  it('escapes control characters and quotes in values (JSON)', async () => {
    const { response } = await admit(hook, basePod(on({ type: 'a"b\nc\u0000' })));
    expect(response.status.message).toContain(`${P}type="a\\"b\\nc\\u0000"`);
  });

  it('errorPolicy warn: allowed, nothing injected, every problem a warning', async () => {
    hook.config = makeInjectionConfig({ errorPolicy: 'warn' });
    try {
      const { response, patch, warnings } = await admit(hook, basePod(on({ type: 'udp', port: '0' })));
      expect(response.allowed).toBe(true);
      expect(patch).toEqual([]);
      expect(warnings).toEqual([
        `probe-injector: ${P}type="udp": expected one of "http", "tcp", "grpc", "exec"`,
        `probe-injector: ${P}port="0": expected a port number from 1 to 65535 or the name of a port the container declares`,
      ]);
    } finally {
      hook.config = makeInjectionConfig();
    }
  });

  it('a pod that is not opted in is not validated', async () => {
    const { response, patch } = await admit(hook, basePod({ [`${P}typo`]: 'x', [`${P}port`]: '0' }));
    expect(response.allowed).toBe(true);
    expect(patch).toEqual([]);
  });

  it('the status annotation is never an error, even when it is garbage', async () => {
    const { response, patch } = await admit(hook, basePod(on({ status: '{not json' })));
    expect(response.allowed).toBe(true);
    expect(patch.length).toBeGreaterThan(0);
  });
});

describe('hostile volume: many bad keys', () => {
  let hook: TestWebhook;
  beforeAll(async () => {
    hook = await startTestWebhook();
  });
  afterAll(() => hook.close());

  it('20 000 unknown keys: answered at once, every problem counted, the first 50 listed, suggestions for the first few', async () => {
    const annotations: Record<string, string> = { [`${P}inject`]: 'true' };
    for (let i = 0; i < 20_000; i++) annotations[`${P}bogus-key-${i}`] = 'x';
    const started = Date.now();
    const { response } = await admit(hook, basePod(annotations));
    expect(Date.now() - started).toBeLessThan(3000);
    const message: string = response.status.message;
    expect(message).toMatch(/^probe-injector: 20000 problems with the pod's annotations: /);
    expect(message).toMatch(/… and 19950 more$/);
    expect(message.match(/did you mean/g)).toHaveLength(20);
    expect(message.length).toBeLessThan(8000);
  });

  it('U+2028 and U+2029 in a value are escaped, like newlines', async () => {
    const { response } = await admit(hook, basePod(on({ type: 'a\u2028b\u2029c' })));
    expect(response.status.message).toContain(`${P}type="a\\u2028b\\u2029c"`);
    expect(response.status.message).not.toMatch(/[\u2028\u2029]/);
  });
});
