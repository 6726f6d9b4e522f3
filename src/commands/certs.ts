import type { AdmissionregistrationV1Api, CoreV1Api, V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { applyKubeConfigSource, findKubeConfigSource } from '../config/kube-config.js';
import { apiStatusOf, describeApiAnswer } from '../kube/api-error.js';
import type { Logger } from '../logger.js';
import { inspectCertificate } from '../tls/inspect.js';
import {
  ACTIONS,
  caBundleSync,
  decide,
  FIELD_MANAGER,
  issue,
  newSecret,
  secretPatch,
  SECRET_TYPE,
  serviceDnsNames,
  storedMaterial,
  type Issued,
  type Wanted,
} from '../tls/webhook-certs.js';

export interface CertsOptions {
  readonly service: string;
  readonly namespace: string;
  readonly secret: string;
  readonly webhookConfig: string;
  /** A ValidatingWebhookConfiguration whose caBundle is patched too; absent from the cluster: skipped. */
  readonly validatingWebhookConfig?: string | undefined;
  readonly days: number;
  readonly renewBeforeDays: number;
  readonly kubeconfig?: string | undefined;
}

/** `probe-injector certs`: pino JSON lines like serve, the API client (loaded here, never by serve), then the work. */
export async function runCerts(options: CertsOptions): Promise<void> {
  const { pino } = await import('pino');
  const logger = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
  const source = findKubeConfigSource(options.kubeconfig);
  const k8s = await import('@kubernetes/client-node');
  const kubeConfig = new k8s.KubeConfig();
  applyKubeConfigSource(kubeConfig, source);
  logger.info({ kubeconfig: source.description, server: kubeConfig.getCurrentCluster()?.server }, 'certs: using the Kubernetes API');
  await certs(options, { core: kubeConfig.makeApiClient(k8s.CoreV1Api), admission: kubeConfig.makeApiClient(k8s.AdmissionregistrationV1Api), k8s }, logger);
}

export interface CertsApi {
  readonly core: CoreV1Api;
  readonly admission: AdmissionregistrationV1Api;
  readonly k8s: typeof import('@kubernetes/client-node');
}

const ATTEMPTS = 5;
const CONFLICT = [409, 422] as const;

/**
 * Reads the Secret, decides, makes sure the webhooks trust the CA that is (or is about to be) in
 * the Secret, then writes the Secret. The caBundle goes first: a pod never serves a certificate
 * the API server does not trust yet. Someone else's write in between (a 409 or a failed `test`)
 * starts over from the read.
 */
export async function certs(options: CertsOptions, api: CertsApi, logger: Logger, now: () => Date = () => new Date()): Promise<void> {
  const secretRef = `${options.namespace}/${options.secret}`;
  const dnsNames = serviceDnsNames(options.service, options.namespace);
  if (options.renewBeforeDays >= options.days) {
    logger.warn({ days: options.days, renewBeforeDays: options.renewBeforeDays }, 'certs: --renew-before-days is not below --days: every run will re-issue the certificate');
  }
  for (let attempt = 1; ; attempt++) {
    const existing = await call(`reading Secret ${secretRef}`, () => api.core.readNamespacedSecret({ name: options.secret, namespace: options.namespace }), true);
    if (existing && existing.type !== SECRET_TYPE) {
      throw new Error(`Secret ${secretRef} has type ${existing.type ?? '(none)'}, not ${SECRET_TYPE}; delete it or choose another --secret`);
    }
    const wanted: Wanted = { dnsNames, days: options.days, renewBeforeDays: options.renewBeforeDays, now: now() };
    const decision = decide(existing ? storedMaterial(existing) : undefined, wanted);
    const issued = await issue(decision, wanted);
    await syncCaBundle(options, api, issued, logger);
    try {
      if (decision.action === ACTIONS.keep) {
        logger.info({ secret: secretRef, action: decision.action, dnsNames, notAfter: decision.notAfter.toISOString(), daysLeft: decision.daysLeft }, 'certs: the certificate is valid; kept it');
        return;
      }
      const fields = {
        secret: secretRef,
        action: decision.action,
        reasons: decision.reasons,
        newCa: decision.reuseCa === undefined,
        dnsNames,
        notAfter: notAfterOf(issued),
      };
      if (decision.action === ACTIONS.create) {
        await call(`creating Secret ${secretRef}`, () =>
          api.core.createNamespacedSecret({ namespace: options.namespace, body: newSecret(options.secret, options.namespace, issued.material), fieldManager: FIELD_MANAGER }),
        );
        logger.info(fields, 'certs: created the CA and serving certificate');
      } else {
        await call(`updating Secret ${secretRef}`, () =>
          api.core.patchNamespacedSecret(
            { name: options.secret, namespace: options.namespace, body: secretPatch(existing!, issued.material), fieldManager: FIELD_MANAGER },
            api.k8s.setHeaderOptions('Content-Type', api.k8s.PatchStrategy.JsonPatch),
          ),
        );
        logger.info(fields, decision.reuseCa ? 'certs: re-issued the serving certificate with the stored CA' : 'certs: re-issued the CA and serving certificate');
      }
      return;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= ATTEMPTS) throw error;
      logger.warn({ secret: secretRef, attempt, error: error.message }, 'certs: the Secret changed while we worked; starting over');
    }
  }
}

/** The webhook configurations that must trust the CA: the mutating one (required), the validating one (if it exists). */
async function syncCaBundle(options: CertsOptions, api: CertsApi, issued: Issued, logger: Logger): Promise<void> {
  await syncOne(
    {
      kind: 'MutatingWebhookConfiguration',
      name: options.webhookConfig,
      read: (name) => api.admission.readMutatingWebhookConfiguration({ name }),
      patch: (name, body) => api.admission.patchMutatingWebhookConfiguration({ name, body, fieldManager: FIELD_MANAGER }, api.k8s.setHeaderOptions('Content-Type', api.k8s.PatchStrategy.JsonPatch)),
    },
    issued,
    logger,
  );
  if (options.validatingWebhookConfig) {
    await syncOne(
      {
        kind: 'ValidatingWebhookConfiguration',
        name: options.validatingWebhookConfig,
        optional: true,
        read: (name) => api.admission.readValidatingWebhookConfiguration({ name }),
        patch: (name, body) => api.admission.patchValidatingWebhookConfiguration({ name, body, fieldManager: FIELD_MANAGER }, api.k8s.setHeaderOptions('Content-Type', api.k8s.PatchStrategy.JsonPatch)),
      },
      issued,
      logger,
    );
  }
}

interface WebhookConfigurationApi {
  readonly kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';
  readonly name: string;
  /** Absent from the cluster: skipped (the validating webhook is optional). */
  readonly optional?: boolean;
  read(name: string): Promise<V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration>;
  patch(name: string, body: object[]): Promise<unknown>;
}

async function syncOne(target: WebhookConfigurationApi, issued: Issued, logger: Logger): Promise<void> {
  const { kind, name } = target;
  for (let attempt = 1; ; attempt++) {
    const configuration = await call(`reading ${kind} ${name}`, () => target.read(name), target.optional === true);
    if (!configuration) {
      logger.info({ [kind]: name }, `certs: no ${kind} ${name}; skipped`);
      return;
    }
    const sync = caBundleSync(configuration, issued.trust, kind);
    const patched = sync.webhooks.filter((webhook) => !webhook.inSync).map((webhook) => webhook.name);
    if (sync.operations.length === 0) {
      logger.info({ webhookConfiguration: name, kind, webhooks: sync.webhooks.map((webhook) => webhook.name) }, 'certs: caBundle already trusts the CA');
      return;
    }
    try {
      await call(`patching the caBundle of ${kind} ${name}`, () => target.patch(name, sync.operations));
      logger.info({ webhookConfiguration: name, kind, webhooks: patched, cas: issued.trust.length }, 'certs: patched the caBundle');
      return;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= ATTEMPTS) throw error;
      logger.warn({ webhookConfiguration: name, kind, attempt, error: error.message }, 'certs: the webhook configuration changed while we worked; starting over');
    }
  }
}

function notAfterOf(issued: Issued): string {
  return inspectCertificate(issued.material.cert).notAfter.toISOString();
}

class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** Runs an API call; turns its ApiException into a one-line message. With `orUndefined`, 404 is undefined. */
async function call<T>(what: string, run: () => Promise<T>, orUndefined?: false): Promise<T>;
async function call<T>(what: string, run: () => Promise<T>, orUndefined: boolean): Promise<T | undefined>;
async function call<T>(what: string, run: () => Promise<T>, orUndefined = false): Promise<T | undefined> {
  try {
    return await run();
  } catch (cause) {
    const code = apiStatusOf(cause);
    if (code === 404 && orUndefined) return undefined;
    const message = `${what}: ${describeApiAnswer(cause) ?? messageOf(cause)}${code === 403 ? ' (check the RBAC of the service account this runs as)' : ''}`;
    if (code !== undefined && (CONFLICT as readonly number[]).includes(code)) throw new ConflictError(message, { cause });
    throw new Error(message, { cause });
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0];

