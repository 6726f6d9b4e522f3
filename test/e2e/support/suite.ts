import { afterAll, beforeAll } from '@jest/globals';
import { closeClient, createNamespace, deleteWebhook, registerWebhook, waitForInjection, webhookConfiguration, type HookOptions } from './kube.js';
import { makeTls, serveWebhook, type ServedWebhook } from './webhook-process.js';

export interface RegisteredWebhook {
  /** The suite's own namespace (`e2e-NAME`), the only one the webhook is registered for. */
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly configName: string;
  /** The running `dist/cli.js serve` (available from the first test on). */
  readonly hook: ServedWebhook;
}

/**
 * One suite's webhook: starts the built `serve` with a certificate from a fresh CA, registers it by
 * URL for a namespace of the suite's own, and waits until pods there are injected; afterwards
 * removes the registration and stops it.
 */
export function useRegisteredWebhook(
  name: string,
  options: { readonly config?: string } & Pick<HookOptions, 'failurePolicy' | 'timeoutSeconds' | 'matchConditions'>,
): RegisteredWebhook {
  const namespace = `e2e-${name}`;
  const labels = { 'probe-injector-e2e': name };
  const configName = `e2e-${name}`;
  let hook: ServedWebhook | undefined;
  beforeAll(async () => {
    const tls = await makeTls(['127.0.0.1']);
    hook = await serveWebhook({ name, serving: tls.serving, ...(options.config !== undefined && { config: options.config }) });
    await createNamespace(namespace, labels);
    const { config: _config, ...hookOptions } = options;
    await registerWebhook(webhookConfiguration(configName, { url: `https://127.0.0.1:${hook.port}/mutate`, caBundle: tls.caBundle, namespaceLabels: labels, ...hookOptions }));
    await waitForInjection(namespace);
  });
  afterAll(async () => {
    await deleteWebhook(configName);
    await hook?.stop();
    await closeClient();
  });
  return {
    namespace,
    labels,
    configName,
    get hook() {
      if (!hook) throw new Error(`the ${name} webhook is not running (beforeAll failed?)`);
      return hook;
    },
  };
}
