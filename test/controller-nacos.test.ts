/**
 * The gate controller with the real Nacos client (src/nacos) against the Nacos test server
 * (test/support/nacos-server.ts), over HTTP: v1 and v3, auth, failover between addresses, an
 * outage, hostile answers (never a crash, never a wrong True), and the request counts the server
 * saw — one instance-list request per service per pollSeconds however many pods wait. The API
 * server is the in-memory double of controller-support.ts; the clock is manual (the Nacos calls
 * are real and awaited).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { GateController } from '../src/controller/gate-controller.js';
import { createControllerMetrics } from '../src/controller/metrics.js';
import { reloadableNacos } from '../src/controller/reloadable-nacos.js';
import { makeInjectionConfig, type ConfigInput } from '../src/core/config.js';
import { resolveNacosIdentity } from '../src/core/nacos-identity.js';
import type { NacosServerConfig } from '../src/core/settings.js';
import type { NacosCredentials } from '../src/nacos/nacos-client.js';
import { startNacosServer, type NacosServerOptions, type NacosTestServer } from './support/nacos-server.js';
import { FakeApiServer, gatedPod, ManualClock, recordingLogger, T0, type Json } from './controller-support.js';

const servers: NacosTestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function nacosServer(options: NacosServerOptions = {}): Promise<NacosTestServer> {
  const server = await startNacosServer(options);
  servers.push(server);
  return server;
}

async function harness(options: { server: Partial<NacosServerConfig> & { addresses: string[] }; credentials?: NacosCredentials; config?: ConfigInput }) {
  const clock = new ManualClock();
  const api = new FakeApiServer();
  const logger = recordingLogger();
  const metrics = createControllerMetrics({ processMetrics: false });
  const config = makeInjectionConfig({ ...options.config, nacos: { ...options.config?.nacos, server: { timeoutSeconds: 1, ...options.server } } });
  const controller = new GateController({
    settings: () => ({ gate: config.nacos.gate, identify: (pod) => resolveNacosIdentity(pod, config) }),
    nacos: reloadableNacos(() => config.nacos.server, { credentials: options.credentials, onRequest: (outcome) => metrics.nacosRequest(outcome) }),
    api,
    clock,
    logger,
    metrics,
    instance: 'controller-0',
  });
  controller.setLeader(true);
  const sample = async (name: string, labels: Record<string, string> = {}) => {
    const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
    return ((metric?.values ?? []) as { value: number; labels: Record<string, unknown> }[]).filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((sum, v) => sum + v.value, 0);
  };
  return {
    clock,
    api,
    controller,
    logger,
    sample,
    async add(pod: Json) {
      controller.upsert(api.put(pod));
      await controller.settled();
    },
    async advance(ms: number, stepMs = 250) {
      for (let left = ms; left > 0; left -= stepMs) {
        clock.advance(Math.min(stepMs, left));
        controller.tick();
        await controller.settled();
      }
    },
  };
}

describe.each(['v1', 'v3'] as const)('Nacos API %s', (apiVersion) => {
  const listRoute = apiVersion === 'v1' ? '/v1/ns/instance/list' : '/v3/client/ns/instance/list';

  it('sets the gate of a registered instance, tells why the others wait, and asks once per period for all of them', async () => {
    const nacos = await nacosServer();
    const h = await harness({ server: { addresses: [nacos.url], apiVersion } });
    nacos.register({ service: 'orders', ip: '10.1.0.1', port: 8080, ephemeral: false });
    nacos.register({ service: 'orders', ip: '10.1.0.2', port: 8080, ephemeral: false, healthy: false });
    for (let i = 1; i <= 50; i++) await h.add(gatedPod({ name: `orders-${i}`, service: 'orders', ip: `10.1.0.${i}`, readyAt: T0 }));
    expect(h.api.condition('shop/orders-1')).toEqual(expect.objectContaining({ status: 'True', reason: 'NacosRegistered', message: 'orders@DEFAULT_GROUP 10.1.0.1:8080 is healthy and enabled in Nacos' }));
    expect(nacos.count(listRoute, { service: 'orders' })).toBe(1);
    await h.advance(2000);
    expect(h.api.condition('shop/orders-2')?.reason).toBe('InstanceUnhealthy');
    expect(h.api.condition('shop/orders-3')?.reason).toBe('InstanceNotFound');
    expect(nacos.count(listRoute, { service: 'orders' })).toBe(2);
    await h.advance(10_000);
    expect(nacos.count(listRoute, { service: 'orders' })).toBe(7);
    expect(await h.sample('probe_injector_nacos_requests_total', { outcome: 'success' })).toBe(7);
    // Every request named the service the Open API way.
    expect(nacos.requests.filter((r) => r.route === listRoute).every((r) => r.params.serviceName === 'orders' && r.params.groupName === 'DEFAULT_GROUP' && r.params.namespaceId === 'public' && r.params.healthyOnly === 'false')).toBe(true);
  });

  it('with NACOS_USERNAME/NACOS_PASSWORD: logs in once and sends the token', async () => {
    const nacos = await nacosServer({ auth: { users: { gate: 's3cret' } } });
    const h = await harness({ server: { addresses: [nacos.url], apiVersion }, credentials: { username: 'gate', password: 's3cret' } });
    nacos.register({ service: 'orders', ip: '10.1.0.1', port: 8080, ephemeral: false });
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    expect(h.api.condition('shop/orders-1')?.status).toBe('True');
    const lists = nacos.requests.filter((r) => r.route === listRoute);
    expect(lists.map((r) => r.params.accessToken)).toEqual([nacos.tokens[0]]);
    expect(nacos.tokens).toHaveLength(1);
  });

  it('wrong credentials: NacosUnavailable (unauthorized), never True', async () => {
    const nacos = await nacosServer({ auth: { users: { gate: 's3cret' } } });
    const h = await harness({ server: { addresses: [nacos.url], apiVersion }, credentials: { username: 'gate', password: 'wrong' } });
    nacos.register({ service: 'orders', ip: '10.1.0.1', port: 8080, ephemeral: false });
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    expect(h.api.condition('shop/orders-1')).toEqual(expect.objectContaining({ status: 'False', reason: 'NacosUnavailable' }));
    expect(h.api.condition('shop/orders-1')!.message).not.toContain('wrong');
    expect(await h.sample('probe_injector_nacos_requests_total', { outcome: 'unauthorized' })).toBeGreaterThanOrEqual(1);
  });
});

describe('failover, outages and hostile answers', () => {
  it('the first address down: the second answers, and the gate is set', async () => {
    const down = await nacosServer();
    const up = await nacosServer();
    down.fail({ mode: { kind: 'status', status: 503 } });
    up.register({ service: 'orders', ip: '10.1.0.1', port: 8080, ephemeral: false });
    const h = await harness({ server: { addresses: [down.url, up.url] } });
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    expect(h.api.condition('shop/orders-1')?.status).toBe('True');
    expect(await h.sample('probe_injector_nacos_requests_total', { outcome: 'error' })).toBe(1);
    expect(await h.sample('probe_injector_nacos_requests_total', { outcome: 'success' })).toBe(1);
  });

  it('every address down: pods wait with NacosUnavailable, a Warning each; when Nacos is back they are set', async () => {
    const nacos = await nacosServer();
    nacos.register({ service: 'orders', ip: '10.1.0.1', port: 8080, ephemeral: false });
    nacos.fail({ mode: { kind: 'reset' } });
    const h = await harness({ server: { addresses: [nacos.url] } });
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    expect(h.api.condition('shop/orders-1')).toEqual(expect.objectContaining({ status: 'False', reason: 'NacosUnavailable' }));
    expect(h.api.events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Warning NacosUnavailable']);
    expect(await h.sample('probe_injector_gate_nacos_lists_total', { outcome: 'error' })).toBe(1);
    nacos.clearFailures();
    await h.advance(2000);
    expect(h.api.condition('shop/orders-1')?.status).toBe('True');
  });

  it.each([
    ['not JSON', { kind: 'body', body: '<html>gateway</html>' } as const],
    ['hosts is not a list', { kind: 'body', body: JSON.stringify({ name: 'DEFAULT_GROUP@@orders', hosts: { ip: '10.1.0.1' } }) } as const],
    ['a host whose healthy is a string', { kind: 'body', body: JSON.stringify({ hosts: [{ ip: '10.1.0.1', port: 8080, healthy: 'true', enabled: true, weight: 1, clusterName: 'DEFAULT' }] }) } as const],
    ['a host whose port is a string', { kind: 'body', body: JSON.stringify({ hosts: [{ ip: '10.1.0.1', port: '8080', healthy: true, enabled: true, weight: 1, clusterName: 'DEFAULT' }] }) } as const],
    ['deeply nested arrays', { kind: 'deep', depth: 100_000 } as const],
    ['a huge answer', { kind: 'huge', bytes: 8 * 1024 * 1024 } as const],
    ['a truncated answer', { kind: 'truncate' } as const],
  ])('a hostile answer (%s): NacosUnavailable, never True, never a crash', async (_name, mode) => {
    const nacos = await nacosServer();
    nacos.register({ service: 'orders', ip: '10.1.0.1', port: 8080, ephemeral: false });
    nacos.fail({ mode, route: '/v1/ns/instance/list' });
    const h = await harness({ server: { addresses: [nacos.url] } });
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    expect(h.api.condition('shop/orders-1')).toEqual(expect.objectContaining({ status: 'False', reason: 'NacosUnavailable' }));
    expect(h.api.condition('shop/orders-1')!.message.length).toBeLessThan(600);
  });

  it('a Nacos that hangs: each call is bounded, the pod keeps waiting, the next period asks again', async () => {
    const nacos = await nacosServer();
    nacos.fail({ mode: { kind: 'hang' }, times: 2 });
    nacos.register({ service: 'orders', ip: '10.1.0.1', port: 8080, ephemeral: false });
    const h = await harness({ server: { addresses: [nacos.url], timeoutSeconds: 1 } });
    await h.add(gatedPod({ name: 'orders-1', service: 'orders', ip: '10.1.0.1', readyAt: T0 }));
    expect(h.api.condition('shop/orders-1')).toEqual(expect.objectContaining({ status: 'False', reason: 'NacosUnavailable' }));
    expect(h.api.condition('shop/orders-1')!.message).toMatch(/did not answer within 1s/);
    expect(await h.sample('probe_injector_nacos_requests_total', { outcome: 'timeout' })).toBe(2);
    await h.advance(2000);
    expect(h.api.condition('shop/orders-1')?.status).toBe('True');
  }, 20_000);
});
