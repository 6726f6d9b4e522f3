/**
 * The Nacos test double speaks what real clients speak: the official Node SDK (`nacos-naming`)
 * registers, beats, lists and deregisters through it, and the documented HTTP calls of v1 and v3
 * answer what Nacos answers (fields, envelope, defaults, auth, heartbeat expiry).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import nacosNaming from 'nacos-naming';
import { startNacosServer, type NacosTestServer } from './support/nacos-server.js';

const { NacosNamingClient } = nacosNaming;
type SdkClient = InstanceType<typeof NacosNamingClient>;

const quiet = { info() {}, warn() {}, error() {}, debug() {}, log() {} } as unknown as typeof console;

function sdk(server: NacosTestServer, options: { namespace?: string; username?: string; password?: string } = {}): SdkClient {
  return new NacosNamingClient({ logger: quiet, serverList: server.serverAddress, ...options });
}

async function closeSdk(client: SdkClient): Promise<void> {
  await (client as unknown as { close(): Promise<void> }).close();
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function call(server: NacosTestServer, method: string, route: string, params: Record<string, string> = {}, init: { form?: boolean; headers?: Record<string, string> } = {}) {
  const query = new URLSearchParams(params).toString();
  const url = `${server.url}${server.contextPath}${route}${init.form ? '' : `?${query}`}`;
  const response = await fetch(url, {
    method,
    headers: { ...(init.form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}), ...init.headers },
    ...(init.form ? { body: query } : {}),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json, headers: response.headers };
}

// First: the SDK's beat loop sleeps 10 s after a client is created, even once closed; these
// sleeps then end while the heartbeat test below runs instead of holding the run open.
describe('the Nacos test server with auth on, through the SDK (username and password on every request)', () => {
  let server: NacosTestServer;
  beforeAll(async () => {
    server = await startNacosServer({ auth: { users: { nacos: 's3cret' } } });
  });
  afterAll(() => server.stop());

  it('accepts the SDK with the right credentials and refuses it without or with wrong ones', async () => {
    const good = sdk(server, { username: 'nacos', password: 's3cret' });
    const none = sdk(server);
    const wrong = sdk(server, { username: 'nacos', password: 'guess' });
    await Promise.all([good.ready(), none.ready(), wrong.ready()]);
    try {
      await good.registerInstance('secured', { ip: '10.1.0.1', port: 80 } as any);
      expect(await good.getAllInstances('secured', 'DEFAULT_GROUP', '', false)).toHaveLength(1);
      await expect(none.registerInstance('secured', { ip: '10.1.0.2', port: 80 } as any)).rejects.toThrow(/failed to req API/);
      await expect(wrong.registerInstance('secured', { ip: '10.1.0.3', port: 80 } as any)).rejects.toThrow(/failed to req API/);
      expect(server.instances({ service: 'secured' }).map((instance) => instance.ip)).toEqual(['10.1.0.1']);
      const refused = server.requests.filter((request) => request.params.password === 'guess');
      expect(refused.length).toBeGreaterThan(0);
    } finally {
      await Promise.all([good, none, wrong].map(closeSdk));
    }
  });
});

describe('the Nacos test server, through the official Node SDK (nacos-naming)', () => {
  let clock = 1_700_000_000_000;
  let server: NacosTestServer;
  let client: SdkClient;
  beforeAll(async () => {
    server = await startNacosServer({ now: () => clock });
    client = sdk(server);
    await client.ready();
  });
  afterAll(async () => {
    await closeSdk(client);
    await server.stop();
  });

  it('registers with every field the SDK sends and lists it back the way the SDK reads it', async () => {
    await client.registerInstance('orders', { ip: '10.0.0.1', port: 8080, weight: 2, clusterName: 'c1', metadata: { zone: 'a' } } as any);
    const stored = server.instances({ service: 'orders' });
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders', ip: '10.0.0.1', port: 8080, weight: 2, clusterName: 'c1', healthy: true, enabled: true, ephemeral: true, metadata: { zone: 'a' } });
    const register = server.requests.find((request) => request.method === 'POST' && request.route === '/v1/ns/instance');
    expect(register?.params).toMatchObject({ serviceName: 'DEFAULT_GROUP@@orders', groupName: 'DEFAULT_GROUP', namespaceId: 'public', enable: 'true' });

    const hosts = await client.getAllInstances('orders', 'DEFAULT_GROUP', '', false);
    expect(hosts).toEqual([
      expect.objectContaining({ ip: '10.0.0.1', port: 8080, weight: 2, healthy: true, enabled: true, ephemeral: true, clusterName: 'c1', serviceName: 'DEFAULT_GROUP@@orders', instanceId: '10.0.0.1#8080#c1#DEFAULT_GROUP@@orders', metadata: { zone: 'a' } }),
    ]);
    expect(await client.selectInstances('orders', 'DEFAULT_GROUP', '', true, false)).toHaveLength(1);
    expect(await client.getAllInstances('no-such-service', 'DEFAULT_GROUP', '', false)).toEqual([]);
  });

  it('keeps namespaces and groups apart; the SDK namespace "public" and a bare request are the same', async () => {
    const dev = sdk(server, { namespace: 'dev' });
    await dev.ready();
    try {
      await dev.registerInstance('payments', { ip: '10.0.1.1', port: 9000 } as any, 'BILLING');
      expect(await dev.getAllInstances('payments', 'BILLING', '', false)).toHaveLength(1);
      expect(await dev.getAllInstances('payments', 'DEFAULT_GROUP', '', false)).toEqual([]);
      expect(await client.getAllInstances('payments', 'BILLING', '', false)).toEqual([]);
      expect(server.instances({ namespace: 'dev', group: 'BILLING', service: 'payments' })).toHaveLength(1);
      // namespaceId '' is public, as in Nacos (WebUtils.optional treats blank as absent)
      const bare = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'orders', namespaceId: '' });
      expect(bare.json.hosts).toHaveLength(1);
    } finally {
      await dev.deregisterInstance('payments', { ip: '10.0.1.1', port: 9000 } as any, 'BILLING');
      await closeSdk(dev);
    }
    expect(server.instances({ namespace: 'dev', group: 'BILLING', service: 'payments' })).toEqual([]);
  });

  it('answers the SDK server status (operator/metrics) and subscriptions (list polling)', async () => {
    expect(await client.getServerStatus()).toBe('UP');
    const seen: any[][] = [];
    const listener = (hosts: any[]) => seen.push(hosts);
    // the SDK subscribes to cluster DEFAULT unless told otherwise; the instance is in c1
    client.subscribe({ serviceName: 'orders', clusters: 'c1' }, listener);
    await until(() => seen.length > 0, 5_000, 'the subscription');
    client.unSubscribe({ serviceName: 'orders', clusters: 'c1' }, listener);
    expect(seen[0]).toEqual([expect.objectContaining({ ip: '10.0.0.1', port: 8080 })]);
  });

  it('beats keep an ephemeral instance healthy; without beats it turns unhealthy after 15 s and is removed after 30 s', async () => {
    // a 1 s heartbeat interval in the metadata: the server tells the SDK to beat every second
    await client.registerInstance('beating', { ip: '10.0.0.9', port: 7000, metadata: { 'preserved.heart.beat.interval': '1000' } } as any);
    // The SDK's beat loop first sleeps 10 s after the client was created, then follows the server's interval.
    await until(() => server.count('/v1/ns/instance/beat', { service: 'beating' }) > 0, 15_000, 'a heartbeat from the SDK');
    const beat = server.requests.find((request) => request.route === '/v1/ns/instance/beat' && request.service === 'public/DEFAULT_GROUP@@beating');
    expect(beat?.method).toBe('PUT');
    expect(JSON.parse(beat!.params.beat!)).toMatchObject({ serviceName: 'DEFAULT_GROUP@@beating', ip: '10.0.0.9', port: 7000 });

    clock += 16_000; // no beat for 16 s of server time: unhealthy
    expect(server.instances({ service: 'beating' })[0]?.healthy).toBe(false);
    expect(await client.getAllInstances('beating', 'DEFAULT_GROUP', '', false)).toEqual([expect.objectContaining({ healthy: false })]);
    const beats = server.count('/v1/ns/instance/beat', { service: 'beating' });
    await until(() => server.count('/v1/ns/instance/beat', { service: 'beating' }) > beats, 5_000, 'the next heartbeat');
    expect(server.instances({ service: 'beating' })[0]?.healthy).toBe(true); // a beat makes it healthy again

    // the instance vanishes (e.g. removed by hand) while the SDK still beats: the beat re-registers it
    server.deregister({ service: 'beating', ip: '10.0.0.9', port: 7000 });
    const again = server.count('/v1/ns/instance/beat', { service: 'beating' });
    await until(() => server.count('/v1/ns/instance/beat', { service: 'beating' }) > again, 5_000, 'a heartbeat after removal');
    expect(server.instances({ service: 'beating' })).toEqual([expect.objectContaining({ ip: '10.0.0.9', port: 7000, healthy: true })]);

    // the client goes away: no more beats
    await client.deregisterInstance('beating', { ip: '10.0.0.9', port: 7000 } as any);
    server.register({ service: 'silent', ip: '10.0.0.10', port: 7000 });
    clock += 15_000;
    expect(server.instances({ service: 'silent' })[0]?.healthy).toBe(true); // 15 s exactly: not yet
    clock += 1;
    expect(server.instances({ service: 'silent' })[0]?.healthy).toBe(false);
    clock += 14_999; // 30 s exactly: still listed
    expect(server.instances({ service: 'silent' })).toHaveLength(1);
    clock += 1;
    expect(server.instances({ service: 'silent' })).toEqual([]);
    // persistent instances never expire by heartbeat
    server.register({ service: 'silent', ip: '10.0.0.11', port: 7000, ephemeral: false });
    clock += 60_000;
    expect(server.instances({ service: 'silent' })).toEqual([expect.objectContaining({ ephemeral: false, healthy: true })]);
  }, 40_000);

  it('deregisters through the SDK', async () => {
    await client.registerInstance('leaving', { ip: '10.0.0.5', port: 80 } as any);
    expect(server.instances({ service: 'leaving' })).toHaveLength(1);
    await client.deregisterInstance('leaving', { ip: '10.0.0.5', port: 80 } as any);
    expect(server.instances({ service: 'leaving' })).toEqual([]);
    expect(await client.getAllInstances('leaving', 'DEFAULT_GROUP', '', false)).toEqual([]);
  });

  it('hides disabled instances from lists (Nacos lists enabled instances only), shows weight and health changes', async () => {
    server.register({ service: 'toggled', ip: '10.0.2.1', port: 80 });
    server.register({ service: 'toggled', ip: '10.0.2.2', port: 80 });
    server.update({ service: 'toggled', ip: '10.0.2.1', port: 80 }, { enabled: false });
    server.update({ service: 'toggled', ip: '10.0.2.2', port: 80 }, { weight: 0 });
    const hosts = await client.getAllInstances('toggled', 'DEFAULT_GROUP', '', false);
    expect(hosts).toEqual([expect.objectContaining({ ip: '10.0.2.2', weight: 0, enabled: true })]);
    expect(await client.selectInstances('toggled', 'DEFAULT_GROUP', '', true, false)).toEqual([]); // weight 0 is not selected
  });
});

describe('the Nacos test server: the documented HTTP API of v1 and v3', () => {
  let clock = 1_700_000_000_000;
  let server: NacosTestServer;
  beforeAll(async () => {
    server = await startNacosServer({ now: () => clock });
  });
  afterAll(() => server.stop());
  afterEach(() => {
    server.clearFailures();
    server.disableAuth();
  });

  it('v1 list: the ServiceInfo fields, clusters filter, a missing service is an empty list', async () => {
    server.register({ service: 'shop', group: 'G', ip: '10.2.0.1', port: 80, clusterName: 'east' });
    server.register({ service: 'shop', group: 'G', ip: '10.2.0.2', port: 80 });
    const all = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'shop', groupName: 'G', namespaceId: 'public', healthyOnly: 'false' });
    expect(all.status).toBe(200);
    expect(all.json).toMatchObject({ name: 'G@@shop', groupName: 'G', clusters: '', cacheMillis: 10000, checksum: '', reachProtectionThreshold: false, valid: true, lastRefTime: clock });
    expect(all.json.hosts).toHaveLength(2);
    expect(all.json.hosts[0]).toEqual({
      instanceId: '10.2.0.1#80#east#G@@shop',
      ip: '10.2.0.1',
      port: 80,
      weight: 1,
      healthy: true,
      enabled: true,
      ephemeral: true,
      clusterName: 'east',
      serviceName: 'G@@shop',
      metadata: {},
      instanceHeartBeatInterval: 5000,
      instanceHeartBeatTimeOut: 15000,
      ipDeleteTimeout: 30000,
      instanceIdGenerator: 'simple',
    });
    const east = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'shop', groupName: 'G', clusters: 'east' });
    expect(east.json.hosts.map((host: any) => host.ip)).toEqual(['10.2.0.1']);
    const grouped = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'G@@shop' });
    expect(grouped.json.hosts).toHaveLength(2);
    const missing = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'nothing', groupName: 'G' });
    expect(missing.json).toMatchObject({ name: 'G@@nothing', hosts: [] });
    const noName = await call(server, 'GET', '/v1/ns/instance/list', {});
    expect(noName.status).toBe(400);
  });

  it('v3 client API: register (form), heartbeat, list in the {code, message, data} envelope, deregister', async () => {
    const form = { form: true };
    const registered = await call(server, 'POST', '/v3/client/ns/instance', { serviceName: 'cart', groupName: 'G3', namespaceId: 'ns3', ip: '10.3.0.1', port: '8080', weight: '3', metadata: '{"v":"1"}' }, form);
    expect(registered).toMatchObject({ status: 200, json: { code: 0, message: 'success', data: 'ok' } });
    await call(server, 'POST', '/v3/client/ns/instance', { serviceName: 'cart', groupName: 'G3', namespaceId: 'ns3', ip: '10.3.0.2', port: '8080', clusterName: 'other' }, form);
    const list = await call(server, 'GET', '/v3/client/ns/instance/list', { serviceName: 'cart', groupName: 'G3', namespaceId: 'ns3' });
    expect(list.json).toMatchObject({ code: 0, message: 'success' });
    // clusterName defaults to DEFAULT in v3 (InstanceListForm.fillDefaultValue)
    expect(list.json.data).toEqual([expect.objectContaining({ ip: '10.3.0.1', port: 8080, weight: 3, clusterName: 'DEFAULT', serviceName: 'G3@@cart', metadata: { v: '1' } })]);
    const both = await call(server, 'GET', '/v3/client/ns/instance/list', { serviceName: 'cart', groupName: 'G3', namespaceId: 'ns3', clusterName: 'DEFAULT,other' });
    expect(both.json.data).toHaveLength(2);

    clock += 20_000;
    expect(server.instances({ namespace: 'ns3', group: 'G3', service: 'cart' }).every((instance) => !instance.healthy)).toBe(true);
    const beat = await call(server, 'POST', '/v3/client/ns/instance', { serviceName: 'cart', groupName: 'G3', namespaceId: 'ns3', ip: '10.3.0.1', port: '8080', heartBeat: 'true' }, form);
    expect(beat.json).toEqual({ code: 0, message: 'success', data: 'ok' });
    expect(server.instances({ namespace: 'ns3', group: 'G3', service: 'cart' }).find((instance) => instance.ip === '10.3.0.1')?.healthy).toBe(true);
    const lost = await call(server, 'POST', '/v3/client/ns/instance', { serviceName: 'cart', groupName: 'G3', namespaceId: 'ns3', ip: '10.3.9.9', port: '1', heartBeat: 'true' }, form);
    expect(lost.json).toEqual({ code: 21003, message: 'instance not found', data: null });

    const removed = await call(server, 'DELETE', '/v3/client/ns/instance', { serviceName: 'cart', groupName: 'G3', namespaceId: 'ns3', ip: '10.3.0.1', port: '8080' });
    expect(removed.json.code).toBe(0);
    const after = await call(server, 'GET', '/v3/client/ns/instance/list', { serviceName: 'cart', groupName: 'G3', namespaceId: 'ns3' });
    expect(after.json).toEqual({ code: 0, message: 'success', data: [] });
    const bad = await call(server, 'GET', '/v3/client/ns/instance/list', { groupName: 'G3' });
    expect(bad).toMatchObject({ status: 400, json: { code: 10000, message: 'parameter missing' } });
    const badWeight = await call(server, 'POST', '/v3/client/ns/instance', { serviceName: 'cart', ip: '10.3.0.3', port: '1', weight: '20000' }, form);
    expect(badWeight).toMatchObject({ status: 400, json: { code: 20002 } });
  });

  it('v1 beat answers clientBeatInterval and code 10200, or 20404 for an unknown instance without beat info', async () => {
    server.register({ service: 'pulse', ip: '10.4.0.1', port: 1 });
    const known = await call(server, 'PUT', '/v1/ns/instance/beat', { serviceName: 'pulse', ip: '10.4.0.1', port: '1' });
    expect(known.json).toEqual({ clientBeatInterval: 5000, code: 10200, lightBeatEnabled: true });
    const unknown = await call(server, 'PUT', '/v1/ns/instance/beat', { serviceName: 'pulse', ip: '10.4.0.2', port: '1' });
    expect(unknown.json.code).toBe(20404);
    expect(server.instances({ service: 'pulse' })).toHaveLength(1);
  });

  it('a service with metadata at its protect threshold reports every instance healthy (reachProtectionThreshold)', async () => {
    server.createService({ service: 'guarded', protectThreshold: 0.5 });
    server.register({ service: 'guarded', ip: '10.5.0.1', port: 1 });
    server.register({ service: 'guarded', ip: '10.5.0.2', port: 1, healthy: false });
    const v1 = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'guarded' });
    expect(v1.json.reachProtectionThreshold).toBe(true);
    expect(v1.json.hosts.map((host: any) => host.healthy)).toEqual([true, true]);
    const v3 = await call(server, 'GET', '/v3/client/ns/instance/list', { serviceName: 'guarded' });
    expect(v3.json.data.map((host: any) => host.healthy)).toEqual([true, true]);
    server.register({ service: 'guarded', ip: '10.5.0.3', port: 1 });
    const healthyEnough = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'guarded' });
    expect(healthyEnough.json.reachProtectionThreshold).toBe(false);
    expect(healthyEnough.json.hosts.map((host: any) => host.healthy)).toEqual([true, false, true]);
  });

  it('login (v1, v1 users, v3): the token, its TTL on the injected clock, 403 when missing, wrong, expired or revoked', async () => {
    server.enableAuth({ users: { ops: 'pw' }, tokenTtlSeconds: 60 });
    server.register({ service: 'locked', ip: '10.6.0.1', port: 1 });
    for (const route of ['/v1/auth/login', '/v1/auth/users/login', '/v3/auth/user/login']) {
      const ok = await call(server, 'POST', route, { username: 'ops', password: 'pw' }, { form: true });
      expect(ok.status).toBe(200);
      expect(ok.json).toEqual({ accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/), tokenTtl: 60, globalAdmin: false, username: 'ops' });
      expect(ok.headers.get('authorization')).toBe(`Bearer ${ok.json.accessToken}`);
      const refused = await call(server, 'POST', route, { username: 'ops', password: 'nope' }, { form: true });
      expect(refused.status).toBe(403);
    }
    const token = server.tokens.at(-1)!;
    const missing = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'locked' });
    expect(missing.status).toBe(403);
    expect(missing.json).toMatchObject({ status: 403, error: 'Forbidden', path: '/nacos/v1/ns/instance/list' });
    const withToken = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'locked', accessToken: token });
    expect(withToken.json.hosts).toHaveLength(1);
    const withHeader = await call(server, 'GET', '/v3/client/ns/instance/list', { serviceName: 'locked' }, { headers: { Authorization: `Bearer ${token}` } });
    expect(withHeader.json.data).toHaveLength(1);
    const withPassword = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'locked', username: 'ops', password: 'pw' });
    expect(withPassword.status).toBe(200);
    const forged = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'locked', accessToken: `${token}x` });
    expect(forged).toMatchObject({ status: 403, json: { message: 'token invalid!' } });

    clock += 60_000;
    const expired = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'locked', accessToken: token });
    expect(expired).toMatchObject({ status: 403, json: { message: 'token expired!' } });
    const fresh = await call(server, 'POST', '/v1/auth/login', { username: 'ops', password: 'pw' }, { form: true });
    server.revokeTokens();
    const revoked = await call(server, 'GET', '/v1/ns/instance/list', { serviceName: 'locked', accessToken: fresh.json.accessToken });
    expect(revoked.status).toBe(403);
    const weird = await call(server, 'POST', '/v1/auth/login', { username: '__proto__', password: '[object Object]' }, { form: true });
    expect(weird.status).toBe(403);
  });

  it('Nacos 3 with the v1 compatibility switch off answers 410 to v1 and serves v3', async () => {
    const v3only = await startNacosServer({ v1Enabled: false });
    try {
      v3only.register({ service: 'modern', ip: '10.7.0.1', port: 1 });
      const old = await call(v3only, 'GET', '/v1/ns/instance/list', { serviceName: 'modern' });
      expect(old.status).toBe(410);
      const current = await call(v3only, 'GET', '/v3/client/ns/instance/list', { serviceName: 'modern' });
      expect(current.json.data).toHaveLength(1);
    } finally {
      await v3only.stop();
    }
  });

  it('unknown routes are 404, a wrong method 405, another context path is honoured', async () => {
    expect((await call(server, 'GET', '/v1/ns/nothing')).status).toBe(404);
    expect((await call(server, 'PATCH', '/v1/ns/instance/list')).status).toBe(405);
    const other = await startNacosServer({ contextPath: '/registry' });
    try {
      other.register({ service: 'ctx', ip: '10.8.0.1', port: 1 });
      const response = await fetch(`${other.url}/registry/v1/ns/instance/list?serviceName=ctx`);
      expect(((await response.json()) as { hosts: unknown[] }).hosts).toHaveLength(1);
      expect((await fetch(`${other.url}/nacos/v1/ns/instance/list?serviceName=ctx`)).status).toBe(404);
    } finally {
      await other.stop();
    }
  });

  it('fails on demand: status, exact body, hang, reset, delay, huge, deep, truncated; for a number of requests; counts per route and service', async () => {
    server.clearRequests();
    server.register({ service: 'flaky', ip: '10.9.0.1', port: 1 });
    const list = { serviceName: 'flaky' };
    server.fail({ route: '/v1/ns/instance/list', times: 1, mode: { kind: 'status', status: 503 } });
    expect((await call(server, 'GET', '/v1/ns/instance/list', list)).status).toBe(503);
    expect((await call(server, 'GET', '/v1/ns/instance/list', list)).status).toBe(200); // times: 1

    server.fail({ times: 1, mode: { kind: 'body', body: '{"hosts":"nope"}' } });
    expect((await call(server, 'GET', '/v1/ns/instance/list', list)).json).toEqual({ hosts: 'nope' });

    server.fail({ times: 1, mode: { kind: 'hang' } });
    await expect(fetch(`${server.url}/nacos/v1/ns/instance/list?serviceName=flaky`, { signal: AbortSignal.timeout(200) })).rejects.toThrow(/abort|timeout/i);

    server.fail({ times: 1, mode: { kind: 'reset' } });
    await expect(call(server, 'GET', '/v1/ns/instance/list', list)).rejects.toThrow(/fetch failed/);

    server.fail({ times: 1, mode: { kind: 'delay', ms: 100 } });
    const started = Date.now();
    expect((await call(server, 'GET', '/v1/ns/instance/list', list)).json.hosts).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);

    server.fail({ times: 1, mode: { kind: 'huge', bytes: 5 * 1024 * 1024 } });
    const huge = await call(server, 'GET', '/v1/ns/instance/list', list);
    expect(huge.text.length).toBe(5 * 1024 * 1024);
    expect(huge.json.hosts).toEqual([]);

    server.fail({ times: 1, mode: { kind: 'deep', depth: 10 } });
    expect((await call(server, 'GET', '/v1/ns/instance/list', list)).text).toBe(`{"hosts":${'['.repeat(10)}${']'.repeat(10)}}`);

    server.fail({ times: 1, mode: { kind: 'truncate' } });
    await expect(call(server, 'GET', '/v1/ns/instance/list', list)).rejects.toThrow();

    expect(server.count('/v1/ns/instance/list', { service: 'flaky' })).toBe(9);
    expect(server.count('/v1/ns/instance/list', { service: 'other' })).toBe(0);
    expect(server.count('/v1/ns/instance/list', { service: 'flaky', group: 'DEFAULT_GROUP', namespace: '' })).toBe(9);
  });
});
