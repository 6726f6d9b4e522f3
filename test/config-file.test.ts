import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseConfigFile } from '../src/config/config-file.js';

function problems(text: string): readonly string[] {
  try {
    parseConfigFile(text, 'config.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('the config file (SPEC §5)', () => {
  it('every key of SPEC §5, with the defaults filled in', () => {
    const config = parseConfigFile(
      `injectByDefault: true
errorPolicy: warn
shutdownSeconds: 20
kubernetesVersion: "1.30"
nacos:
  deregister: { mode: exec, via: actuator, path: /manage/serviceregistry, method: POST, timeoutSeconds: 5, sleepSeconds: 20 }
  namespace: prod
  group: SHOP
  server: { addresses: ["http://nacos-0:8848", "https://nacos-1"], contextPath: /nacos, apiVersion: v3, timeoutSeconds: 2 }
  gate: { conditionType: example.com/registered, pollSeconds: 5, warnAfterSeconds: 60, timeoutSeconds: 300, onTimeout: ready }
profiles:
  quarkus: { type: http, readiness: { path: /q/health/ready } }
`,
      'config.yaml',
    );
    expect(config).toMatchObject({
      injectByDefault: true,
      errorPolicy: 'warn',
      shutdownSeconds: 20,
      kubernetesVersion: { major: 1, minor: 30 },
      nacos: {
        deregister: { mode: 'exec', via: 'actuator', path: '/manage/serviceregistry', method: 'POST', timeoutSeconds: 5, sleepSeconds: 20 },
        namespace: 'prod',
        group: 'SHOP',
        server: { addresses: ['http://nacos-0:8848', 'https://nacos-1'], contextPath: '/nacos', apiVersion: 'v3', timeoutSeconds: 2 },
        gate: { conditionType: 'example.com/registered', pollSeconds: 5, warnAfterSeconds: 60, timeoutSeconds: 300, onTimeout: 'ready' },
      },
    });
    expect(config.profiles.get('quarkus')?.probes.readiness.path).toBe('/q/health/ready');
  });

  it('an empty file is the defaults; the actuator via brings its own default path', () => {
    expect(parseConfigFile('', 'c').nacos).toMatchObject({ deregister: { via: 'endpoint', path: '/api/nacos/deregister' }, namespace: 'public', group: 'DEFAULT_GROUP', gate: { conditionType: 'nacos.io/registered', pollSeconds: 2 } });
    expect(parseConfigFile('nacos: {deregister: {via: actuator}}', 'c').nacos.deregister.path).toBe('/actuator/serviceregistry');
  });

  it('lists every problem at once, every unknown key by name, and says where the 0.1 keys moved', () => {
    expect(problems('nacos:\n  mode: exec\n  bogus: 1\n  other: 2\nkubernetesVersion: 1.30\nprofiles:\n  x: { readiness: { bogus: 1 } }\nshutdownSeconds: -1\n')).toEqual([
      "nacos.mode: moved to nacos.deregister.mode (the hook's defaults have their own section since 0.2)",
      'shutdownSeconds: expected an integer from 0 to 3600',
      'kubernetesVersion: must be a string such as "1.30" (quote it: YAML reads 1.30 as the number 1.3)',
      'nacos.bogus: unknown key; expected one of deregister, namespace, group, server, gate',
      'nacos.other: unknown key; expected one of deregister, namespace, group, server, gate',
      'profiles.x.readiness.bogus: unknown key; expected one of type, port, path, scheme, enabled, initialDelaySeconds, periodSeconds, timeoutSeconds, successThreshold, failureThreshold, command, grpcService',
    ]);
  });

  it.each([
    ['a Nacos address with a path', 'nacos: {server: {addresses: ["http://nacos:8848/nacos"]}}', 'nacos.server.addresses.0: must be http:// or https://'],
    ['no Nacos address', 'nacos: {server: {addresses: []}}', 'nacos.server.addresses: must list at least one address'],
    ['an odd api version', 'nacos: {server: {apiVersion: v2}}', 'nacos.server.apiVersion: must be one of v1, v3'],
    ['a gate condition that is not a qualified name', 'nacos: {gate: {conditionType: "not a name"}}', 'nacos.gate.conditionType: expected a qualified name'],
    ['onTimeout', 'nacos: {gate: {onTimeout: fail}}', 'nacos.gate.onTimeout: must be one of wait, ready'],
    ['a version that is not one', 'kubernetesVersion: "latest"', 'kubernetesVersion: must be a Kubernetes version'],
    ['two documents', 'a: 1\n---\nb: 2\n', 'not valid YAML: 2 YAML documents; a config file is one'],
  ])('%s', (_name, text, problem) => {
    expect(problems(text).join('\n')).toContain(problem);
  });

  it('a hostile file is refused with a clear problem, never a crash: deep nesting, alias bombs, size', () => {
    expect(problems(`${'a: '.repeat(1)}${'['.repeat(100_000)}${']'.repeat(100_000)}`)[0]).toMatch(/^not valid YAML at line 1, column \d+: nested more than 32 levels deep/);
    for (let i = 0; i < 3; i++) expect(problems(`${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}`)[0]).toMatch(/nested more than 32 levels deep/);
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    expect(problems(bomb)[0]).toMatch(/^not valid YAML/);
    expect(problems(`x: "${'y'.repeat(2 * 1024 * 1024)}"`)[0]).toMatch(/more than 1048576 bytes/);
  });
});
