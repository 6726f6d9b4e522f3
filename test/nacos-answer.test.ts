/**
 * The pure parts of the Nacos client: reading an instance list or a login answer, and the backoff.
 * Fuzzed far harder than the HTTP property of nacos-client.test.ts, since no server is involved.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BACKOFF, backoffDelay, isServiceNotFound, NacosError, parseInstanceList, parseLogin } from '../src/nacos/index.js';

const SERVICE = { namespace: 'public', group: 'G', service: 'orders' };
const host = { ip: '10.0.0.1', port: 8080, healthy: true, enabled: true, weight: 1.5, clusterName: 'DEFAULT', ephemeral: false };

function thrown(work: () => unknown): NacosError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(NacosError);
    return error as NacosError;
  }
  throw new Error('expected a NacosError');
}

describe('parseInstanceList', () => {
  it('v1: a Nacos 2.x answer, a Nacos 1.x answer (valid, marked, dom…), an answer for a service that does not exist', () => {
    const nacos2 = { name: 'G@@orders', groupName: 'G', clusters: '', cacheMillis: 10000, hosts: [{ ...host, instanceId: 'x', serviceName: 'G@@orders', metadata: { a: 'b' } }], lastRefTime: 1, checksum: '', allIps: false, reachProtectionThreshold: false, valid: true };
    expect(parseInstanceList('v1', JSON.stringify(nacos2), SERVICE)).toEqual([host]);
    const nacos1 = { dom: 'orders', name: 'G@@orders', cacheMillis: 3000, useSpecifiedURL: false, hosts: [{ ...host, valid: true, marked: false, serviceName: 'orders' }], checksum: 'abc', lastRefTime: 1, env: '', clusters: '', metadata: {} };
    expect(parseInstanceList('v1', JSON.stringify(nacos1), SERVICE)).toEqual([host]);
    expect(parseInstanceList('v1', JSON.stringify({ name: 'G@@orders', clusters: '', hosts: [] }), SERVICE)).toEqual([]);
    expect(parseInstanceList('v1', JSON.stringify({ hosts: [{ ...host, ephemeral: undefined }] }), SERVICE)).toEqual([{ ...host, ephemeral: undefined }].map(({ ephemeral: _, ...rest }) => rest));
  });

  it('v3: the envelope; a non-zero code is a refusal that quotes the message', () => {
    expect(parseInstanceList('v3', JSON.stringify({ code: 0, message: 'success', data: [host] }), SERVICE)).toEqual([host]);
    expect(parseInstanceList('v3', JSON.stringify({ code: 0, message: 'success', data: [] }), SERVICE)).toEqual([]);
    const refusal = thrown(() => parseInstanceList('v3', JSON.stringify({ code: 21008, message: 'service not exist', data: null }), SERVICE));
    expect(refusal.kind).toBe('rejected');
    expect(refusal.message).toBe('Nacos refused the instance list of G@@orders: code 21008, "service not exist", null');
  });

  it('protect threshold (v1): every instance unhealthy, since Nacos reported all of them healthy', () => {
    const answer = { name: 'G@@orders', hosts: [host, { ...host, ip: '10.0.0.2' }], reachProtectionThreshold: true };
    expect(parseInstanceList('v1', JSON.stringify(answer), SERVICE).map((instance) => instance.healthy)).toEqual([false, false]);
  });

  it('messages say where the answer is wrong, quote at most 60 characters, and redact', () => {
    const long = 'A'.repeat(10_000);
    const error = thrown(() => parseInstanceList('v1', JSON.stringify({ hosts: [{ ...host, port: long }] }), SERVICE));
    expect(error.message).toMatch(/^the instance list of G@@orders is not a Nacos v1 answer: hosts\.0\.port: expected number, got "A{59}…$/);
    const secret = 'tok-12345-secret';
    const redacted = thrown(() => parseInstanceList('v1', JSON.stringify({ hosts: [{ ...host, ip: 5, clusterName: secret }] }), SERVICE, { redact: (text) => text.split(secret).join('***') }));
    expect(redacted.message).not.toContain(secret);
    const notJson = thrown(() => parseInstanceList('v1', `<html>${secret}</html>`, SERVICE, { redact: (text) => text.split(secret).join('***') }));
    expect(notJson.message).toBe('the instance list of G@@orders is not JSON: "<html>***</html>"');
  });

  it('property: any JSON value or text is a list of instances taken from it, or a NacosError (2000 cases)', () => {
    const validHost = fc.record({
      ip: fc.oneof(fc.ipV4(), fc.ipV6()),
      port: fc.integer({ min: 0, max: 65535 }),
      healthy: fc.boolean(),
      enabled: fc.boolean(),
      weight: fc.double({ min: 0, max: 10000, noNaN: true }),
      clusterName: fc.string({ maxLength: 10 }),
    });
    const anyHost = fc.oneof({ weight: 10, arbitrary: validHost }, { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) }, { weight: 1, arbitrary: fc.object({ maxDepth: 1 }) });
    const body = fc.oneof(
      fc.record({ name: fc.constantFrom('G@@orders', 'orders', 'x'), hosts: fc.array(anyHost, { maxLength: 5 }), reachProtectionThreshold: fc.boolean() }, { requiredKeys: ['hosts'] }),
      fc.record({ code: fc.constantFrom(0, 0, 1, -1), message: fc.string(), data: fc.oneof(fc.array(anyHost, { maxLength: 5 }), fc.anything()) }, { requiredKeys: ['code'] }),
      fc.anything(),
    );
    const text = fc.oneof({ weight: 8, arbitrary: body.map((value) => JSON.stringify(value) ?? '') }, { weight: 1, arbitrary: fc.string() }, { weight: 1, arbitrary: fc.string({ unit: 'binary' }) });
    let listed = 0;
    fc.assert(
      fc.property(fc.constantFrom('v1' as const, 'v3' as const), text, (apiVersion, answer) => {
        let instances;
        try {
          instances = parseInstanceList(apiVersion, answer, SERVICE);
        } catch (error) {
          expect(error).toBeInstanceOf(NacosError);
          expect(['malformed', 'rejected']).toContain((error as NacosError).kind);
          return;
        }
        const value = JSON.parse(answer);
        const sent: unknown[] = apiVersion === 'v1' ? value.hosts : value.data;
        if (instances.length > 0) listed += 1;
        expect(instances).toHaveLength(sent.length);
        instances.forEach((instance, index) => {
          const origin = sent[index] as Record<string, unknown>;
          expect(instance).toEqual({
            ip: origin.ip,
            port: origin.port,
            healthy: value.reachProtectionThreshold === true && apiVersion === 'v1' ? false : origin.healthy,
            enabled: origin.enabled,
            weight: origin.weight,
            clusterName: origin.clusterName,
            ...(origin.ephemeral === undefined ? {} : { ephemeral: origin.ephemeral }),
          });
        });
      }),
      { numRuns: 2000 },
    );
    expect(listed).toBeGreaterThan(80);
  });
});

describe('isServiceNotFound (Nacos 1.0.x)', () => {
  it('only the 1.0 text for this very service', () => {
    expect(isServiceNotFound('service not found: G@@orders', SERVICE)).toBe(true);
    expect(isServiceNotFound('service not found: orders\n', SERVICE)).toBe(true);
    expect(isServiceNotFound('service not found: G@@payments', SERVICE)).toBe(false);
    expect(isServiceNotFound('{"status":404,"error":"Not Found","path":"/nacos/v1/ns/instance/list"}', SERVICE)).toBe(false);
    expect(isServiceNotFound('', SERVICE)).toBe(false);
  });
});

describe('parseLogin', () => {
  it('reads accessToken and tokenTtl; anything else is malformed without quoting the answer', () => {
    expect(parseLogin('{"accessToken":"eyJ.a.b","tokenTtl":18000,"globalAdmin":true,"username":"nacos"}')).toEqual({ accessToken: 'eyJ.a.b', ttlSeconds: 18000 });
    expect(parseLogin('{"accessToken":"","tokenTtl":18000}')).toEqual({ accessToken: '', ttlSeconds: 18000 });
    for (const answer of ['eyJ.secret', '{"accessToken":"eyJ.secret"}', '{"accessToken":["eyJ.secret"],"tokenTtl":1}', '{"accessToken":"eyJ.secret","tokenTtl":"18000"}', 'null']) {
      const error = thrown(() => parseLogin(answer));
      expect(error.kind).toBe('malformed');
      expect(error.message).not.toContain('secret');
    }
  });
});

describe('backoffDelay', () => {
  it('doubles from 100–200 ms up to 1–2 s, with equal jitter', () => {
    expect([0, 1, 2, 3, 4, 10].map((retry) => backoffDelay(retry, 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([0, 1, 2, 3, 4, 10].map((retry) => backoffDelay(retry, 1))).toEqual([200, 400, 800, 1600, 2000, 2000]);
  });

  it('property: always within [ceiling/2, ceiling], never above the cap, whatever the random draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 1000 }), fc.double({ noNaN: true }), (retry, random) => {
        const delay = backoffDelay(retry, random);
        const ceiling = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** Math.max(retry, 0));
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
        expect(delay).toBeLessThanOrEqual(BACKOFF.capMs);
      }),
    );
  });
});
