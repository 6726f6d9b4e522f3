export interface CertsOptions {
  readonly service: string;
  readonly namespace: string;
  readonly secret: string;
  readonly webhookConfig: string;
  readonly days: number;
  readonly renewBeforeDays: number;
  readonly kubeconfig?: string | undefined;
}

/** `probe-injector certs`. */
export async function runCerts(_options: CertsOptions): Promise<void> {
  throw new Error('certs is not implemented yet');
}
