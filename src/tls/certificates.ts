import { generate } from 'selfsigned';

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

export interface CertificateOptions {
  /** Validity in days. */
  readonly days: number;
  readonly now?: Date;
}

/** A day in milliseconds: certificate validity is counted in days. */
export const DAY_MS = 86_400_000;

function validity({ days, now = new Date() }: CertificateOptions) {
  // Back-date by five minutes so clocks that are a little behind accept it at once.
  return { notBeforeDate: new Date(now.getTime() - 300_000), notAfterDate: new Date(now.getTime() + days * DAY_MS) };
}

/** A CA that signs the webhook's serving certificate (ECDSA P-256, SHA-256). */
export async function createCertificateAuthority(commonName: string, options: CertificateOptions): Promise<KeyPair> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ...validity(options),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A serving certificate for the given DNS names and IP addresses, signed by `ca`. */
export async function createServingCertificate(
  ca: KeyPair,
  names: { readonly dnsNames: readonly string[]; readonly ipAddresses?: readonly string[] },
  options: CertificateOptions,
): Promise<KeyPair> {
  const commonName = names.dnsNames[0] ?? names.ipAddresses?.[0] ?? 'probe-injector';
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ...validity(options),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...names.dnsNames.map((value) => ({ type: 2 as const, value })),
          ...(names.ipAddresses ?? []).map((ip) => ({ type: 7 as const, ip })),
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
