import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { PatchOperation } from '../core/patch.js';
import type { V1MutatingWebhookConfiguration, V1Secret, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { createCertificateAuthority, createServingCertificate, DAY_MS, type KeyPair } from './certificates.js';
import { inspectCertificate, splitPemCertificates, type CertificateInfo } from './inspect.js';

/**
 * The pure part of `probe-injector certs`: what the Secret holds, whether to keep or re-issue it,
 * the Secret to write and the caBundle patch. No Kubernetes API calls here (commands/certs.ts
 * does those); issuing only runs selfsigned.
 */

/** The keys of the `kubernetes.io/tls` Secret. ca.key is kept so that renewal can re-sign with the same CA. */
export const SECRET_KEYS = { cert: 'tls.crt', key: 'tls.key', caCert: 'ca.crt', caKey: 'ca.key' } as const;
export const SECRET_TYPE = 'kubernetes.io/tls';
export const FIELD_MANAGER = 'probe-injector-certs';

/** The CA lives ten times as long as the serving certificates it signs (at most 100 years), so most renewals keep it. */
export const caDaysFor = (days: number): number => Math.min(days * 10, 36_500);

/** The Service's DNS names, in the order they go into the certificate (the first is the CN). */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/** What the Secret holds, decoded (PEM text); any of it may be missing. */
export interface StoredMaterial {
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly caCert?: string | undefined;
  readonly caKey?: string | undefined;
}

export interface Wanted {
  readonly dnsNames: readonly string[];
  /** Validity of a new serving certificate. */
  readonly days: number;
  /** Re-issue when fewer days than this are left. */
  readonly renewBeforeDays: number;
  readonly now: Date;
}

export const ACTIONS = { keep: 'keep', create: 'create', renew: 'renew' } as const;

export type Decision =
  | {
      readonly action: typeof ACTIONS.keep;
      readonly material: Required<Pick<StoredMaterial, 'cert' | 'key' | 'caCert'>> & StoredMaterial;
      /** The earlier of the serving certificate's and the CA's expiry. */
      readonly notAfter: Date;
      readonly daysLeft: number;
    }
  | {
      readonly action: typeof ACTIONS.create | typeof ACTIONS.renew;
      readonly reasons: readonly string[];
      /** The stored CA, when it can sign the new certificate: the caBundle then stays as it is. */
      readonly reuseCa: KeyPair | undefined;
      /** With a new CA: the stored one, still trusted in the caBundle while pods serve certificates it signed. */
      readonly previousCa: string | undefined;
    };

/** A usable CA: parses, is a CA allowed to sign, and (when `key` is given) the key matches. */
function checkCa(caCert: string | undefined, caKey: string | undefined, now: Date): { info?: CertificateInfo; problems: string[]; keyProblems: string[] } {
  if (!caCert) return { problems: [`${SECRET_KEYS.caCert} is missing`], keyProblems: [] };
  let info: CertificateInfo;
  try {
    info = inspectCertificate(caCert);
  } catch (error) {
    return { problems: [`${SECRET_KEYS.caCert}: ${(error as Error).message}`], keyProblems: [] };
  }
  const problems: string[] = [];
  if (!info.basicConstraints?.ca) problems.push(`${SECRET_KEYS.caCert} is not a CA certificate (basicConstraints CA:true missing)`);
  if (info.keyUsage && !info.keyUsage.includes('keyCertSign')) problems.push(`${SECRET_KEYS.caCert} may not sign certificates (no keyCertSign)`);
  if (info.notBefore > now) problems.push(`${SECRET_KEYS.caCert} is not valid before ${info.notBefore.toISOString()}`);
  if (info.notAfter <= now) problems.push(`${SECRET_KEYS.caCert} expired on ${info.notAfter.toISOString()}`);
  const keyProblems = caKey === undefined ? [`${SECRET_KEYS.caKey} is missing`] : keyMismatch(info.x509, caKey, SECRET_KEYS.caKey, SECRET_KEYS.caCert);
  return { info, problems, keyProblems };
}

function keyMismatch(cert: X509Certificate, keyPem: string, keyName: string, certName: string): string[] {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    return [`${keyName} is not a valid private key: ${(error as Error).message}`];
  }
  return cert.checkPrivateKey(key) ? [] : [`${keyName} does not belong to ${certName}`];
}

const sameNames = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/**
 * Keep the stored certificate, or issue a new one? `stored` is undefined when there is no Secret.
 * Kept only when the chain is complete and sound, the SANs are exactly `wanted.dnsNames`, and more
 * than `renewBeforeDays` are left on both the serving certificate and the CA.
 */
export function decide(stored: StoredMaterial | undefined, wanted: Wanted): Decision {
  const { now } = wanted;
  if (stored === undefined) return { action: ACTIONS.create, reasons: ['the Secret does not exist'], reuseCa: undefined, previousCa: undefined };

  const ca = checkCa(stored.caCert, stored.caKey, now);
  const reasons = [...ca.problems];
  let leaf: CertificateInfo | undefined;
  if (!stored.cert) reasons.push(`${SECRET_KEYS.cert} is missing`);
  else {
    try {
      leaf = inspectCertificate(stored.cert);
    } catch (error) {
      reasons.push(`${SECRET_KEYS.cert}: ${(error as Error).message}`);
    }
  }
  if (leaf) {
    if (!stored.key) reasons.push(`${SECRET_KEYS.key} is missing`);
    else reasons.push(...keyMismatch(leaf.x509, stored.key, SECRET_KEYS.key, SECRET_KEYS.cert));
    if (ca.info && !(leaf.x509.checkIssued(ca.info.x509) && leaf.x509.verify(ca.info.x509.publicKey))) {
      reasons.push(`${SECRET_KEYS.cert} is not signed by the CA in ${SECRET_KEYS.caCert}`);
    }
    if (!sameNames(leaf.dnsNames, wanted.dnsNames) || leaf.ipAddresses.length > 0) {
      reasons.push(`${SECRET_KEYS.cert} has SANs [${[...leaf.dnsNames, ...leaf.ipAddresses].join(', ')}], want [${wanted.dnsNames.join(', ')}]`);
    }
    if (leaf.basicConstraints?.ca) reasons.push(`${SECRET_KEYS.cert} is a CA certificate`);
    if (leaf.extendedKeyUsage && !leaf.extendedKeyUsage.includes('serverAuth')) reasons.push(`${SECRET_KEYS.cert} is not for serverAuth`);
    if (leaf.keyUsage && !leaf.keyUsage.includes('digitalSignature')) reasons.push(`${SECRET_KEYS.cert} lacks the digitalSignature key usage`);
    if (leaf.notBefore > now) reasons.push(`${SECRET_KEYS.cert} is not valid before ${leaf.notBefore.toISOString()}`);
  }
  const notAfter = new Date(Math.min(leaf?.notAfter.getTime() ?? 0, ca.info?.notAfter.getTime() ?? 0));
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  if (leaf && ca.info && notAfter.getTime() - now.getTime() <= wanted.renewBeforeDays * DAY_MS) {
    const which = leaf.notAfter <= ca.info.notAfter ? SECRET_KEYS.cert : SECRET_KEYS.caCert;
    reasons.push(
      notAfter <= now
        ? `${which} expired on ${notAfter.toISOString()}`
        : `${which} expires in ${daysLeft} days, on ${notAfter.toISOString()} (renewing ${wanted.renewBeforeDays} days before)`,
    );
  }

  if (reasons.length === 0 && stored.cert && stored.key && stored.caCert) {
    return { action: ACTIONS.keep, material: { ...stored, cert: stored.cert, key: stored.key, caCert: stored.caCert }, notAfter, daysLeft };
  }
  // The stored CA signs the new certificate if it is sound, we have its key, it outlives the new
  // certificate and is not due for renewal itself.
  const caLeft = ca.info ? ca.info.notAfter.getTime() - now.getTime() : 0;
  const caCovers = caLeft >= wanted.days * DAY_MS && caLeft > wanted.renewBeforeDays * DAY_MS;
  const reuseCa = ca.problems.length === 0 && ca.keyProblems.length === 0 && caCovers ? { cert: stored.caCert!, key: stored.caKey! } : undefined;
  const previousCa = !reuseCa && ca.info?.basicConstraints?.ca && ca.info.notAfter > now ? stored.caCert : undefined;
  return { action: ACTIONS.renew, reasons, reuseCa, previousCa };
}

/** What goes into the Secret, and which CAs the caBundle must trust. */
export interface Issued {
  readonly material: StoredMaterial & { readonly cert: string; readonly key: string; readonly caCert: string };
  /** CA certificates (PEM) the caBundle must contain: the CA in the Secret first. */
  readonly trust: readonly string[];
}

/** Issues what the decision asks for (a serving certificate, and a CA unless the stored one is reused). */
export async function issue(decision: Decision, wanted: Wanted): Promise<Issued> {
  if (decision.action === ACTIONS.keep) return { material: decision.material, trust: [decision.material.caCert] };
  const ca =
    decision.reuseCa ??
    (await createCertificateAuthority(`probe-injector CA (${wanted.dnsNames[1] ?? wanted.dnsNames[0]})`, { days: caDaysFor(wanted.days), now: wanted.now }));
  const serving = await createServingCertificate(ca, { dnsNames: wanted.dnsNames }, { days: wanted.days, now: wanted.now });
  const trust = [ca.cert];
  if (decision.previousCa && fingerprint(decision.previousCa) !== fingerprint(ca.cert)) trust.push(decision.previousCa);
  return { material: { cert: serving.cert, key: serving.key, caCert: ca.cert, caKey: ca.key }, trust };
}

// ------------------------------------------------------------------------------------ Secret

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string | undefined) => (text === undefined ? undefined : Buffer.from(text, 'base64').toString('utf8'));

/** Reads the material out of a Secret (its `data` is base64). */
export function storedMaterial(secret: V1Secret): StoredMaterial {
  const data = secret.data ?? {};
  return { cert: unb64(data[SECRET_KEYS.cert]), key: unb64(data[SECRET_KEYS.key]), caCert: unb64(data[SECRET_KEYS.caCert]), caKey: unb64(data[SECRET_KEYS.caKey]) };
}

function secretData(material: Issued['material']): Record<string, string> {
  const data: Record<string, string> = {
    [SECRET_KEYS.cert]: b64(material.cert),
    [SECRET_KEYS.key]: b64(material.key),
    [SECRET_KEYS.caCert]: b64(material.caCert),
  };
  if (material.caKey !== undefined) data[SECRET_KEYS.caKey] = b64(material.caKey);
  return data;
}

export const SECRET_LABELS = {
  'app.kubernetes.io/name': 'probe-injector',
  'app.kubernetes.io/component': 'webhook-tls',
  'app.kubernetes.io/managed-by': FIELD_MANAGER,
} as const;

/** The Secret to create when there is none. */
export function newSecret(name: string, namespace: string, material: Issued['material']): V1Secret {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels: { ...SECRET_LABELS } }, type: SECRET_TYPE, data: secretData(material) };
}

/** The webhook's own operations, plus `test` (a precondition on the resourceVersion). */
export type JsonPatchOperation = PatchOperation | { readonly op: 'test'; readonly path: string; readonly value: unknown };

/**
 * The JSON Patch that puts the material into an existing Secret: only if it is still the version
 * we read (`test` on resourceVersion), and keeping any other keys it holds.
 */
export function secretPatch(existing: V1Secret, material: Issued['material']): JsonPatchOperation[] {
  const resourceVersion = existing.metadata?.resourceVersion;
  if (!resourceVersion) throw new Error('the Secret has no metadata.resourceVersion');
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
    { op: 'add', path: '/data', value: { ...(existing.data ?? {}), ...secretData(material) } },
  ];
}

// ------------------------------------------------------------------------------------ caBundle

function fingerprint(pem: string): string | undefined {
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return undefined;
  }
}

/** The fingerprints of the certificates in a base64 caBundle (garbage yields none). */
function bundleFingerprints(caBundle: string | undefined): Set<string> {
  const text = unb64(caBundle) ?? '';
  return new Set(splitPemCertificates(text).flatMap((pem) => fingerprint(pem) ?? []));
}

export interface CaBundleSync {
  /** Empty when every webhook already trusts the CAs. */
  readonly operations: JsonPatchOperation[];
  readonly webhooks: readonly { readonly name: string; readonly inSync: boolean }[];
  /** The base64 caBundle written to out-of-sync webhooks. */
  readonly caBundle: string;
}

/**
 * For each webhook of the configuration: in sync when its caBundle contains every CA in `trust`;
 * otherwise its caBundle is set to exactly `trust`. The patch is guarded by the resourceVersion
 * read and by each webhook's name, so a concurrent change makes it fail instead of hitting the
 * wrong webhook.
 */
export function caBundleSync(
  configuration: V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration,
  trust: readonly string[],
  kind = 'MutatingWebhookConfiguration',
): CaBundleSync {
  const name = configuration.metadata?.name ?? '(unnamed)';
  const webhooks = configuration.webhooks ?? [];
  if (webhooks.length === 0) throw new Error(`${kind} ${name} has no webhooks`);
  const resourceVersion = configuration.metadata?.resourceVersion;
  if (!resourceVersion) throw new Error(`${kind} ${name} has no metadata.resourceVersion`);
  const wanted = trust.map((pem) => {
    const print = fingerprint(pem);
    if (!print) throw new Error('a CA certificate to trust does not parse');
    return print;
  });
  const caBundle = b64(trust.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join(''));
  const status = webhooks.map((webhook) => {
    const have = bundleFingerprints(webhook.clientConfig?.caBundle);
    return { name: webhook.name, inSync: wanted.every((print) => have.has(print)) };
  });
  const operations: JsonPatchOperation[] = [];
  status.forEach((webhook, index) => {
    if (webhook.inSync) return;
    operations.push({ op: 'test', path: `/webhooks/${index}/name`, value: webhook.name });
    operations.push({ op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundle });
  });
  if (operations.length > 0) operations.unshift({ op: 'test', path: '/metadata/resourceVersion', value: resourceVersion });
  return { operations, webhooks: status, caBundle };
}
