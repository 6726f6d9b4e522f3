import { X509Certificate } from 'node:crypto';

/**
 * Reading X.509 certificates with node:crypto's X509Certificate: parsing, subject, validity,
 * subjectAltName, basicConstraints' CA flag and the extended key usage. It does not expose the
 * keyUsage bits nor which extensions are critical, so those two come from a small walk over the
 * certificate's extensions. Pure: no I/O.
 */

export const KEY_USAGES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

export const EXTENDED_KEY_USAGES: Readonly<Record<string, string>> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
};

export interface CertificateInfo {
  readonly x509: X509Certificate;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** The keyUsage bits that are set; undefined when the extension is absent. */
  readonly keyUsage: readonly KeyUsage[] | undefined;
  readonly keyUsageCritical: boolean;
  /** Extended key usages by name (serverAuth, clientAuth) or OID; undefined when absent. */
  readonly extendedKeyUsage: readonly string[] | undefined;
  /** basicConstraints; undefined when the extension is absent. */
  readonly basicConstraints: { readonly ca: boolean; readonly critical: boolean } | undefined;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END CERTIFICATE-----/g;

/** The PEM certificate blocks in a text (a bundle), in order; anything between them is ignored. */
export function splitPemCertificates(text: string): string[] {
  return [...text.matchAll(PEM_CERTIFICATE)].map((match) => `${match[0].replace(/\r\n/g, '\n')}\n`);
}

/** Parses one certificate (the first PEM block of `pem`). Throws an Error saying what is wrong. */
export function inspectCertificate(pem: string | X509Certificate): CertificateInfo {
  let x509: X509Certificate;
  if (typeof pem === 'string') {
    const first = splitPemCertificates(pem)[0];
    if (first === undefined) throw new Error(pem.trim() === '' ? 'empty: no PEM certificate found' : 'no PEM certificate found');
    try {
      x509 = new X509Certificate(first);
    } catch (cause) {
      throw new Error(`not a valid X.509 certificate: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  } else {
    x509 = pem;
  }
  let extensions: Map<string, Extension>;
  try {
    extensions = readExtensions(x509.raw);
  } catch (cause) {
    throw new Error(`cannot read the certificate's extensions: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  const names = subjectAltNames(x509.subjectAltName);
  const keyUsage = extensions.get(OID.keyUsage);
  const basic = extensions.get(OID.basicConstraints);
  return {
    x509,
    subject: x509.subject,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    dnsNames: names.filter((name) => name.type === 'DNS').map((name) => name.value),
    ipAddresses: names.filter((name) => name.type === 'IP Address').map((name) => name.value.toLowerCase()),
    keyUsage: keyUsage ? readKeyUsage(keyUsage.value) : undefined,
    keyUsageCritical: keyUsage?.critical ?? false,
    extendedKeyUsage: x509.keyUsage?.map((oid) => EXTENDED_KEY_USAGES[oid] ?? oid),
    basicConstraints: basic ? { ca: x509.ca, critical: basic.critical } : undefined,
  };
}

/**
 * node:crypto's subjectAltName text (`DNS:a, IP Address:127.0.0.1`) as a list. Since Node 17.3 a
 * value with a comma, quote or other special character is written as a JSON string.
 */
function subjectAltNames(text: string | undefined): { type: string; value: string }[] {
  const names: { type: string; value: string }[] = [];
  const entry = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/gy;
  for (let match = entry.exec(text ?? ''); match !== null && match[0] !== ''; match = entry.exec(text ?? '')) {
    const raw = match[2]!;
    names.push({ type: match[1]!, value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return names;
}

// ------------------------------------------------------------ the DER node:crypto does not read

const OID = { keyUsage: '2.5.29.15', basicConstraints: '2.5.29.19' } as const;
const TAG = { boolean: 0x01, bitString: 0x03, octetString: 0x04, oid: 0x06, sequence: 0x30, extensions: 0xa3 } as const;

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

interface Extension {
  readonly critical: boolean;
  /** The DER inside the extnValue OCTET STRING. */
  readonly value: Buffer;
}

function readTlv(der: Buffer, offset: number, limit = der.length): Tlv {
  const tag = der[offset];
  let length = der[offset + 1];
  if (tag === undefined || length === undefined) throw new Error(`truncated DER at offset ${offset}`);
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new Error(`unsupported DER length at offset ${offset}`);
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (der[start + i] ?? Number.NaN);
    start += octets;
  }
  const end = start + length;
  if (!(end <= limit)) throw new Error(`DER element at offset ${offset} runs past its parent`);
  return { tag, start, end };
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const result: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end; offset = result.at(-1)!.end) result.push(readTlv(der, offset, parent.end));
  return result;
}

function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv?.tag !== tag) throw new Error(`expected ${what}`);
  return tlv;
}

function decodeOid(bytes: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (byte & 0x80) continue;
    if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
    else parts.push(value);
    value = 0;
  }
  return parts.join('.');
}

/** Certificate → tbsCertificate → [3] extensions → Extension*, by OID. */
function readExtensions(der: Buffer): Map<string, Extension> {
  const extensions = new Map<string, Extension>();
  const tbs = expectTag(children(der, expectTag(readTlv(der, 0), TAG.sequence, 'a Certificate'))[0], TAG.sequence, 'a TBSCertificate');
  const wrapper = children(der, tbs).find((tlv) => tlv.tag === TAG.extensions);
  if (!wrapper) return extensions;
  for (const extension of children(der, expectTag(children(der, wrapper)[0], TAG.sequence, 'an Extensions SEQUENCE'))) {
    const [id, second, third] = children(der, expectTag(extension, TAG.sequence, 'an Extension'));
    const critical = second?.tag === TAG.boolean && der[second.start] !== 0;
    const value = expectTag(second?.tag === TAG.boolean ? third : second, TAG.octetString, 'an extnValue');
    const oid = expectTag(id, TAG.oid, 'an extension OID');
    extensions.set(decodeOid(der.subarray(oid.start, oid.end)), { critical, value: der.subarray(value.start, value.end) });
  }
  return extensions;
}

function readKeyUsage(value: Buffer): KeyUsage[] {
  const tlv = expectTag(readTlv(value, 0), TAG.bitString, 'a keyUsage BIT STRING');
  // The first byte counts the unused bits; bit 0 (digitalSignature) is the high bit of the next.
  const bits = value.subarray(tlv.start + 1, tlv.end);
  return KEY_USAGES.filter((_, index) => ((bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0);
}
