import { beforeAll, describe, expect, it } from '@jest/globals';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import jsonpatch from 'fast-json-patch';
import type { V1MutatingWebhookConfiguration, V1Secret } from '@kubernetes/client-node';
import { certs, type CertsApi, type CertsOptions } from '../src/commands/certs.js';
import { kubeConfigSource } from '../src/config/kube-config.js';
import type { Logger } from '../src/logger.js';
import { createCertificateAuthority, createServingCertificate, type KeyPair } from '../src/tls/certificates.js';
import { inspectCertificate, splitPemCertificates } from '../src/tls/inspect.js';
import {
  caBundleSync,
  caDaysFor,
  decide,
  issue,
  newSecret,
  secretPatch,
  serviceDnsNames,
  storedMaterial,
  type Decision,
  type Issued,
  type StoredMaterial,
  type Wanted,
} from '../src/tls/webhook-certs.js';

const DAY = 86_400_000;
const NOW = new Date('2030-06-01T12:00:00Z');
const NAMES = serviceDnsNames('probe-injector', 'probe-injector');
const WANTED: Wanted = { dnsNames: NAMES, days: 365, renewBeforeDays: 30, now: NOW };
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);
const b64 = (text: string) => Buffer.from(text).toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

describe('serviceDnsNames', () => {
  it('are the four names a Service is reached by', () => {
    expect(serviceDnsNames('wh', 'ops')).toEqual(['wh', 'wh.ops', 'wh.ops.svc', 'wh.ops.svc.cluster.local']);
  });
});

describe('the certificates `certs` issues', () => {
  let issued: Issued;
  let leaf: X509Certificate;
  let ca: X509Certificate;
  beforeAll(async () => {
    issued = await issue(decide(undefined, WANTED), WANTED);
    leaf = new X509Certificate(issued.material.cert);
    ca = new X509Certificate(issued.material.caCert);
  });

  it('the serving certificate has exactly the Service DNS names as SANs', () => {
    expect(inspectCertificate(leaf).dnsNames).toEqual(NAMES);
    expect(inspectCertificate(leaf).ipAddresses).toEqual([]);
    // node:crypto's own rendering agrees with our DER reading
    expect(leaf.subjectAltName).toBe(NAMES.map((name) => `DNS:${name}`).join(', '));
    expect(leaf.checkHost('probe-injector.probe-injector.svc')).toBe('probe-injector.probe-injector.svc');
    expect(leaf.checkHost('other.probe-injector.svc')).toBeUndefined();
  });

  it('the serving certificate is for TLS servers: digitalSignature, keyEncipherment, serverAuth, not a CA', () => {
    const info = inspectCertificate(leaf);
    expect(info.keyUsage).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(info.keyUsageCritical).toBe(true);
    expect(info.extendedKeyUsage).toEqual(['serverAuth']);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // node:crypto calls the extended key usage "keyUsage"
    expect(info.basicConstraints).toEqual({ ca: false, critical: true });
    expect(leaf.ca).toBe(false);
  });

  it('the CA: basicConstraints CA:true (critical), keyCertSign, self-signed', () => {
    const info = inspectCertificate(ca);
    expect(info.basicConstraints).toEqual({ ca: true, critical: true });
    expect(ca.ca).toBe(true);
    expect(info.keyUsage).toEqual(expect.arrayContaining(['keyCertSign', 'cRLSign']));
    expect(ca.checkIssued(ca)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
  });

  it('the chain: the serving certificate is issued and signed by the CA, and not by another one', async () => {
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    const other = new X509Certificate((await createCertificateAuthority('another CA', { days: 1, now: NOW })).cert);
    expect(leaf.verify(other.publicKey)).toBe(false);
    expect(leaf.checkIssued(other)).toBe(false);
  });

  it('validity: from (a little before) now, the serving certificate for --days, the CA ten times as long', () => {
    const leafInfo = inspectCertificate(leaf);
    const caInfo = inspectCertificate(ca);
    expect(leafInfo.notBefore.getTime()).toBeLessThanOrEqual(NOW.getTime());
    expect(NOW.getTime() - leafInfo.notBefore.getTime()).toBeLessThanOrEqual(10 * 60_000);
    expect(Math.abs(leafInfo.notAfter.getTime() - (NOW.getTime() + 365 * DAY))).toBeLessThanOrEqual(1000);
    expect(Math.abs(caInfo.notAfter.getTime() - (NOW.getTime() + caDaysFor(365) * DAY))).toBeLessThanOrEqual(1000);
    expect(caDaysFor(365)).toBe(3650);
    expect(caDaysFor(10_000)).toBe(36_500);
  });

  it('keys: ECDSA P-256, and each private key belongs to its certificate', () => {
    for (const [cert, key] of [
      [leaf, issued.material.key],
      [ca, issued.material.caKey!],
    ] as const) {
      expect(cert.publicKey.asymmetricKeyType).toBe('ec');
      expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      expect(cert.checkPrivateKey(createPrivateKey(key))).toBe(true);
    }
  });

  it('a new CA is the only one the caBundle must trust', () => {
    expect(issued.trust).toEqual([issued.material.caCert]);
  });
});

describe('inspectCertificate', () => {
  it.each([
    ['empty text', '', /no PEM certificate/],
    ['not PEM', 'hello', /no PEM certificate/],
    ['a PEM block with garbage inside', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /not a valid X\.509 certificate/],
  ])('%s is an error that says so', (_name, pem, message) => {
    expect(() => inspectCertificate(pem)).toThrow(message);
  });

  it('splitPemCertificates finds every block of a bundle, ignoring text around them', async () => {
    const a = await createCertificateAuthority('a', { days: 1 });
    const b = await createCertificateAuthority('b', { days: 1 });
    expect(splitPemCertificates(`comment\n${a.cert}\n\n${b.cert}trailing`).map((pem) => new X509Certificate(pem).subject)).toEqual(['CN=a', 'CN=b']);
  });
});

describe('keep or re-issue', () => {
  let ca: KeyPair;
  let good: StoredMaterial;
  let fixtures: Record<string, StoredMaterial>;
  beforeAll(async () => {
    ca = await createCertificateAuthority('stored CA', { days: 3650, now: ago(100) });
    const serving = (names: readonly string[], options: { days: number; now: Date }, signer: KeyPair = ca) =>
      createServingCertificate(signer, { dnsNames: names }, options);
    const leaf = await serving(NAMES, { days: 365, now: ago(100) });
    good = { cert: leaf.cert, key: leaf.key, caCert: ca.cert, caKey: ca.key };
    const otherCa = await createCertificateAuthority('other CA', { days: 3650, now: ago(100) });
    const expiringCa = await createCertificateAuthority('expiring CA', { days: 3650, now: ago(3640) });
    const expiringCaLeaf = await serving(NAMES, { days: 365, now: ago(100) }, expiringCa);
    const wrongSans = await serving(serviceDnsNames('other', 'probe-injector'), { days: 365, now: ago(100) });
    const extraSan = await serving([...NAMES, 'extra.example.com'], { days: 365, now: ago(100) });
    const expiring = await serving(NAMES, { days: 365, now: ago(355) });
    const expired = await serving(NAMES, { days: 365, now: ago(400) });
    const thirtyOneDays = await serving(NAMES, { days: 365, now: ago(334) });
    const future = await serving(NAMES, { days: 365, now: new Date(NOW.getTime() + 2 * DAY) });
    const foreign = await serving(NAMES, { days: 365, now: ago(100) }, otherCa);
    const another = await serving(NAMES, { days: 365, now: ago(100) });
    fixtures = {
      wrongSans: { ...good, cert: wrongSans.cert, key: wrongSans.key },
      extraSan: { ...good, cert: extraSan.cert, key: extraSan.key },
      expiring: { ...good, cert: expiring.cert, key: expiring.key },
      expired: { ...good, cert: expired.cert, key: expired.key },
      thirtyOneDays: { ...good, cert: thirtyOneDays.cert, key: thirtyOneDays.key },
      future: { ...good, cert: future.cert, key: future.key },
      foreign: { ...good, cert: foreign.cert, key: foreign.key },
      otherKey: { ...good, key: another.key },
      garbageCert: { ...good, cert: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n' },
      garbageKey: { ...good, key: 'not a key' },
      garbageCa: { ...good, caCert: 'garbage', caKey: undefined },
      caIsLeaf: { ...good, caCert: leaf.cert, caKey: leaf.key },
      noCaKey: { ...good, caKey: undefined },
      noCaKeyExpiring: { ...good, cert: expiring.cert, key: expiring.key, caKey: undefined },
      wrongCaKey: { ...good, cert: expiring.cert, key: expiring.key, caKey: otherCa.key },
      expiringCa: { cert: expiringCaLeaf.cert, key: expiringCaLeaf.key, caCert: expiringCa.cert, caKey: expiringCa.key },
      empty: {},
      noCert: { ...good, cert: undefined },
    };
  });

  const material = (name: string): StoredMaterial | undefined => (name === 'good' ? good : name === 'no Secret' ? undefined : fixtures[name]);

  type Row = readonly [
    name: string,
    fixture: string,
    expected: { action: Decision['action']; reuseCa?: boolean; previousCa?: boolean; reason?: RegExp },
    wanted?: Partial<Wanted>,
  ];
  const rows: Row[] = [
    ['no Secret yet: create a CA and a certificate', 'no Secret', { action: 'create', reuseCa: false, previousCa: false, reason: /does not exist/ }],
    ['a valid chain with the right SANs and 265 days left: keep', 'good', { action: 'keep' }],
    ['31 days left, renewing 30 days before: keep', 'thirtyOneDays', { action: 'keep' }],
    ['31 days left, renewing 40 days before: renew', 'thirtyOneDays', { action: 'renew', reuseCa: true, reason: /tls\.crt expires in 31 days/ }, { renewBeforeDays: 40 }],
    ['a valid chain, but without ca.key: keep (the key is only needed to renew)', 'noCaKey', { action: 'keep' }],
    ['SANs for another Service: renew with the stored CA', 'wrongSans', { action: 'renew', reuseCa: true, previousCa: false, reason: /SANs \[other, / }],
    ['one SAN too many: renew', 'extraSan', { action: 'renew', reuseCa: true, reason: /extra\.example\.com/ }],
    ['the same SANs for another namespace are wrong: renew', 'good', { action: 'renew', reuseCa: true, reason: /want \[probe-injector, probe-injector\.ops,/ }, { dnsNames: serviceDnsNames('probe-injector', 'ops') }],
    ['expiring in 10 days: renew with the stored CA', 'expiring', { action: 'renew', reuseCa: true, reason: /tls\.crt expires in 10 days/ }],
    ['expired: renew', 'expired', { action: 'renew', reuseCa: true, reason: /tls\.crt expired on/ }],
    ['not valid yet: renew', 'future', { action: 'renew', reuseCa: true, reason: /not valid before/ }],
    ['not signed by the stored CA: renew with the stored CA', 'foreign', { action: 'renew', reuseCa: true, reason: /not signed by the CA in ca\.crt/ }],
    ['tls.key belongs to another certificate: renew', 'otherKey', { action: 'renew', reuseCa: true, reason: /tls\.key does not belong to tls\.crt/ }],
    ['garbage PEM in tls.crt: renew with the stored CA', 'garbageCert', { action: 'renew', reuseCa: true, reason: /tls\.crt: not a valid X\.509/ }],
    ['garbage in tls.key: renew', 'garbageKey', { action: 'renew', reuseCa: true, reason: /tls\.key is not a valid private key/ }],
    ['garbage in ca.crt: renew with a new CA, nothing old to trust', 'garbageCa', { action: 'renew', reuseCa: false, previousCa: false, reason: /ca\.crt: no PEM certificate/ }],
    ['ca.crt is not a CA: renew with a new CA', 'caIsLeaf', { action: 'renew', reuseCa: false, previousCa: false, reason: /ca\.crt is not a CA certificate/ }],
    ['expiring, and no ca.key to re-sign with: new CA, the old one still trusted', 'noCaKeyExpiring', { action: 'renew', reuseCa: false, previousCa: true, reason: /expires in 10 days/ }],
    ['expiring, and ca.key is not the CA\'s: new CA, the old one still trusted', 'wrongCaKey', { action: 'renew', reuseCa: false, previousCa: true, reason: /expires in 10 days/ }],
    ['the CA expires in 10 days: new CA, the old one still trusted', 'expiringCa', { action: 'renew', reuseCa: false, previousCa: true, reason: /ca\.crt expires in 10 days/ }],
    ['an empty Secret: renew with a new CA', 'empty', { action: 'renew', reuseCa: false, previousCa: false, reason: /tls\.crt is missing/ }],
    ['no tls.crt: renew with the stored CA', 'noCert', { action: 'renew', reuseCa: true, reason: /tls\.crt is missing/ }],
  ];

  it.each(rows)('%s', (_name, fixture, expected, wanted = {}) => {
    const decision = decide(material(fixture), { ...WANTED, ...wanted });
    expect(decision.action).toBe(expected.action);
    if (decision.action === 'keep') {
      expect(decision.daysLeft).toBeGreaterThan(WANTED.renewBeforeDays);
      return;
    }
    if (expected.reuseCa !== undefined) expect(decision.reuseCa !== undefined).toBe(expected.reuseCa);
    if (expected.reuseCa) expect(decision.reuseCa).toEqual({ cert: ca.cert, key: ca.key });
    if (expected.previousCa !== undefined) expect(decision.previousCa !== undefined).toBe(expected.previousCa);
    expect(decision.reasons.join('; ')).toMatch(expected.reason!);
  });

  it.each(rows.filter(([, , expected]) => expected.action !== 'keep'))('after "%s", what is issued is kept by the next run', async (_name, fixture, expected, wanted = {}) => {
    const want = { ...WANTED, ...wanted };
    const decision = decide(material(fixture), want);
    const issued = await issue(decision, want);
    const next = decide(issued.material, want);
    expect(next.action).toBe('keep');
    if (expected.reuseCa) {
      expect(issued.material.caCert).toBe(ca.cert);
      expect(issued.trust).toEqual([ca.cert]);
    } else {
      expect(issued.material.caCert).not.toBe(material(fixture)?.caCert);
      // a new CA first; the previous one stays trusted while pods still serve what it signed
      expect(issued.trust).toEqual(expected.previousCa ? [issued.material.caCert, material(fixture)!.caCert] : [issued.material.caCert]);
    }
  });
});

describe('the Secret', () => {
  let issued: Issued;
  beforeAll(async () => {
    issued = await issue(decide(undefined, WANTED), WANTED);
  });

  it('a new one is kubernetes.io/tls with tls.crt, tls.key, ca.crt and ca.key, base64', () => {
    const secret = newSecret('probe-injector-tls', 'probe-injector', issued.material);
    expect(secret).toMatchObject({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'probe-injector-tls', namespace: 'probe-injector' } });
    expect(Object.keys(secret.data!).sort()).toEqual(['ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(unb64(secret.data!['tls.crt']!)).toBe(issued.material.cert);
    expect(storedMaterial(secret)).toEqual(issued.material);
  });

  it('an update is a JSON Patch guarded by the resourceVersion read, keeping other keys', () => {
    const existing: V1Secret = {
      metadata: { name: 'probe-injector-tls', namespace: 'probe-injector', resourceVersion: '42', labels: { team: 'platform' } },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64('old'), 'tls.key': b64('old'), extra: b64('kept') },
    };
    const operations = secretPatch(existing, issued.material);
    expect(operations[0]).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '42' });
    const patched = jsonpatch.applyPatch(structuredClone(existing), structuredClone(operations) as jsonpatch.Operation[], true).newDocument;
    expect(patched.metadata).toEqual(existing.metadata);
    expect(storedMaterial(patched)).toEqual(issued.material);
    expect(patched.data!.extra).toBe(b64('kept'));
    const stale = { ...existing, metadata: { ...existing.metadata, resourceVersion: '43' } };
    expect(() => jsonpatch.applyPatch(structuredClone(stale), structuredClone(operations) as jsonpatch.Operation[], true)).toThrow();
  });
});

describe('caBundle of every webhook', () => {
  let caA: string;
  let caB: string;
  beforeAll(async () => {
    caA = (await createCertificateAuthority('A', { days: 10 })).cert;
    caB = (await createCertificateAuthority('B', { days: 10 })).cert;
  });

  const configuration = (...bundles: (string | undefined)[]): V1MutatingWebhookConfiguration => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'probe-injector', resourceVersion: '7' },
    webhooks: bundles.map((caBundle, index) => ({
      name: `hook${index}.probe-injector.io`,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      clientConfig: { service: { name: 'probe-injector', namespace: 'probe-injector' }, ...(caBundle === undefined ? {} : { caBundle }) },
    })),
  });
  const pem = (name: 'A' | 'B') => (name === 'A' ? caA : caB);
  type Ca = 'A' | 'B';

  it.each<[string, readonly (readonly Ca[] | string | undefined)[], readonly Ca[], readonly boolean[]]>([
    ['no caBundle anywhere: every webhook gets it', [undefined, undefined], ['A'], [false, false]],
    ['one webhook already trusts it: only the other is patched', [['A'], undefined], ['A'], [true, false]],
    ['a bundle that contains the CA among others is in sync', [['B', 'A']], ['A'], [true]],
    ['a bundle of another CA is replaced', [['B']], ['A'], [false]],
    ['garbage is replaced', ['!!garbage'], ['A'], [false]],
    ['rotation: new CA and the previous one, both set', [['A'], ['A']], ['B', 'A'], [false, false]],
    ['after rotation, a bundle with both is in sync', [['B', 'A']], ['B'], [true]],
  ])('%s', (_name, bundles, trust, inSync) => {
    const config = configuration(...bundles.map((bundle) => (bundle === undefined ? undefined : typeof bundle === 'string' ? bundle : b64(bundle.map(pem).join('')))));
    const sync = caBundleSync(config, trust.map(pem));
    expect(sync.webhooks.map((webhook) => webhook.inSync)).toEqual(inSync);
    if (inSync.every(Boolean)) {
      expect(sync.operations).toEqual([]);
      return;
    }
    expect(sync.operations[0]).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '7' });
    const patched = jsonpatch.applyPatch(structuredClone(config), structuredClone(sync.operations) as jsonpatch.Operation[], true).newDocument;
    patched.webhooks!.forEach((webhook, index) => {
      const fingerprints = splitPemCertificates(unb64(webhook.clientConfig.caBundle ?? '')).map((text) => new X509Certificate(text).fingerprint256);
      if (inSync[index]) expect(webhook).toEqual(config.webhooks![index]);
      else expect(fingerprints).toEqual(trust.map((name) => new X509Certificate(pem(name)).fingerprint256));
    });
    // nothing but caBundles changed
    const strip = (value: V1MutatingWebhookConfiguration) => ({ ...value, webhooks: value.webhooks!.map(({ clientConfig: { caBundle: _, ...rest }, ...webhook }) => ({ ...webhook, clientConfig: rest })) });
    expect(strip(patched)).toEqual(strip(config));
  });

  it('the patch fails if the webhooks were reordered since the read', () => {
    const config = configuration(undefined, undefined);
    const sync = caBundleSync(config, [caA]);
    const reordered = { ...config, webhooks: [...config.webhooks!].reverse() };
    expect(() => jsonpatch.applyPatch(structuredClone(reordered), structuredClone(sync.operations) as jsonpatch.Operation[], true)).toThrow();
  });

  it('a ValidatingWebhookConfiguration is kept in sync the same way, and named as such', () => {
    const config = { metadata: { name: 'probe-injector', resourceVersion: '7' }, webhooks: [{ name: 'workloads.probe-injector.io', clientConfig: {}, admissionReviewVersions: ['v1'], sideEffects: 'None' }] };
    expect(caBundleSync(config, [caA], 'ValidatingWebhookConfiguration').operations.map((op) => op.path)).toEqual([
      '/metadata/resourceVersion',
      '/webhooks/0/name',
      '/webhooks/0/clientConfig/caBundle',
    ]);
    expect(() => caBundleSync({ metadata: { name: 'v', resourceVersion: '1' }, webhooks: [] }, [caA], 'ValidatingWebhookConfiguration')).toThrow('ValidatingWebhookConfiguration v has no webhooks');
  });

  it('a configuration without webhooks is an error', () => {
    expect(() => caBundleSync({ metadata: { name: 'empty', resourceVersion: '1' }, webhooks: [] }, [caA])).toThrow('MutatingWebhookConfiguration empty has no webhooks');
  });
});

describe('where the Kubernetes configuration comes from', () => {
  const inCluster = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
  it.each<[string, Parameters<typeof kubeConfigSource>[0], string]>([
    ['--kubeconfig wins over everything', { flag: '/k.yaml', env: { ...inCluster, KUBECONFIG: '/x' }, inCluster: true, homeConfigExists: true }, 'file'],
    ['in a pod: the service account', { flag: undefined, env: { ...inCluster, KUBECONFIG: '/x' }, inCluster: true, homeConfigExists: true }, 'cluster'],
    ['a token file without the service env is not in-cluster', { flag: undefined, env: { KUBECONFIG: '/x' }, inCluster: true, homeConfigExists: false }, 'default'],
    ['$KUBECONFIG', { flag: undefined, env: { KUBECONFIG: '/x' }, inCluster: false, homeConfigExists: false }, 'default'],
    ['~/.kube/config', { flag: undefined, env: {}, inCluster: false, homeConfigExists: true }, 'default'],
  ])('%s', (_name, input, kind) => {
    expect(kubeConfigSource(input).kind).toBe(kind);
  });

  it('nothing at all is an error, not a silent localhost:8080', () => {
    expect(() => kubeConfigSource({ flag: undefined, env: {}, inCluster: false, homeConfigExists: false })).toThrow(/no Kubernetes configuration/);
  });
});

describe('certs against an API server that refuses', () => {
  const options: CertsOptions = { service: 'probe-injector', namespace: 'probe-injector', secret: 'probe-injector-tls', webhookConfig: 'probe-injector', days: 365, renewBeforeDays: 30 };
  const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
  const refusing = async (code: number, body: unknown): Promise<CertsApi> => {
    const k8s = await import('@kubernetes/client-node');
    // As the generated client throws it: the status, and the Status object's text as the body.
    const refusal = new k8s.ApiException(code, 'Unknown API Status Code!', body, {});
    return { core: { readNamespacedSecret: () => Promise.reject(refusal) }, admission: {}, k8s } as unknown as CertsApi;
  };

  it('a 403 is one line: the call, the status, the API server\'s message and a pointer to RBAC', async () => {
    const api = await refusing(403, JSON.stringify({ kind: 'Status', message: 'secrets "probe-injector-tls" is forbidden: User "system:serviceaccount:probe-injector:default" cannot get resource "secrets"', code: 403 }));
    await expect(certs(options, api, quiet)).rejects.toThrow(
      /^reading Secret probe-injector\/probe-injector-tls: HTTP 403: secrets "probe-injector-tls" is forbidden: User "system:serviceaccount:probe-injector:default" cannot get resource "secrets" \(check the RBAC of the service account this runs as\)$/,
    );
  });

  it('an answer that is not a Status still names the status', async () => {
    await expect(certs(options, await refusing(500, '<html>bad gateway</html>'), quiet)).rejects.toThrow(/^reading Secret probe-injector\/probe-injector-tls: HTTP 500$/);
  });
});
