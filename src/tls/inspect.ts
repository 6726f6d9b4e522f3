import { X509Certificate } from 'node:crypto';

/**
 * Reading X.509 certificates: node:crypto's X509Certificate for parsing, signatures and dates,
 * plus a small DER walk for what it does not expose (the keyUsage bits, basicConstraints'
 * criticality, and the SANs as a list rather than a display string). Pure: no I/O.
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

export const EXTENDED_KEY_USAGES = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
} as const;

const OID = {
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
} as const;

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
    if (first === undefined) throw new Error('no PEM certificate found');
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
  const san = extensions.get(OID.subjectAltName);
  const names = san ? readGeneralNames(san.value) : { dnsNames: [], ipAddresses: [] };
  const keyUsage = extensions.get(OID.keyUsage);
  const eku = extensions.get(OID.extKeyUsage);
  const basic = extensions.get(OID.basicConstraints);
  return {
    x509,
    subject: x509.subject,
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses,
    keyUsage: keyUsage ? readKeyUsage(keyUsage.value) : undefined,
    keyUsageCritical: keyUsage?.critical ?? false,
    extendedKeyUsage: eku
      ? children(eku.value, readTlv(eku.value, 0)).map((tlv) => {
          const oid = decodeOid(content(eku.value, tlv));
          return oid in EXTENDED_KEY_USAGES ? EXTENDED_KEY_USAGES[oid as keyof typeof EXTENDED_KEY_USAGES] : oid;
        })
      : undefined,
    basicConstraints: basic ? { ca: readBasicConstraintsCa(basic.value), critical: basic.critical } : undefined,
  };
}

// ------------------------------------------------------------------------------------ DER

interface Tlv {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset just past the last content byte. */
  readonly end: number;
}

interface Extension {
  readonly critical: boolean;
  /** The DER inside the extnValue OCTET STRING. */
  readonly value: Buffer;
}

const TAG = { boolean: 0x01, bitString: 0x03, octetString: 0x04, oid: 0x06, sequence: 0x30, extensions: 0xa3 } as const;

function readTlv(der: Buffer, offset: number): Tlv {
  if (offset + 2 > der.length) throw new Error(`truncated DER at offset ${offset}`);
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Error(`unsupported multi-byte DER tag at offset ${offset}`);
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4) throw new Error(`unsupported DER length at offset ${offset}`);
    if (start + octets > der.length) throw new Error(`truncated DER at offset ${offset}`);
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i]!;
    start += octets;
  }
  const end = start + length;
  if (end > der.length) throw new Error(`DER element at offset ${offset} runs past the end`);
  return { tag, start, end };
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const result: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const tlv = readTlv(der, offset);
    if (tlv.end > parent.end) throw new Error(`DER element at offset ${offset} runs past its parent`);
    result.push(tlv);
    offset = tlv.end;
  }
  return result;
}

const content = (der: Buffer, tlv: Tlv): Buffer => der.subarray(tlv.start, tlv.end);

function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv?.tag !== tag) throw new Error(`expected ${what}`);
  return tlv;
}

function decodeOid(bytes: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** Certificate → tbsCertificate → [3] extensions → Extension*, by OID. */
function readExtensions(der: Buffer): Map<string, Extension> {
  const certificate = expectTag(readTlv(der, 0), TAG.sequence, 'a Certificate SEQUENCE');
  const tbs = expectTag(children(der, certificate)[0], TAG.sequence, 'a TBSCertificate SEQUENCE');
  const extensions = new Map<string, Extension>();
  const wrapper = children(der, tbs).find((tlv) => tlv.tag === TAG.extensions);
  if (!wrapper) return extensions;
  const list = expectTag(children(der, wrapper)[0], TAG.sequence, 'an Extensions SEQUENCE');
  for (const extension of children(der, list)) {
    const [id, second, third] = children(der, expectTag(extension, TAG.sequence, 'an Extension SEQUENCE'));
    const oid = decodeOid(content(der, expectTag(id, TAG.oid, 'an extension OID')));
    const critical = second?.tag === TAG.boolean && der[second.start] !== 0;
    const value = expectTag(second?.tag === TAG.boolean ? third : second, TAG.octetString, 'an extnValue OCTET STRING');
    extensions.set(oid, { critical, value: content(der, value) });
  }
  return extensions;
}

function readKeyUsage(value: Buffer): KeyUsage[] {
  const bits = content(value, expectTag(readTlv(value, 0), TAG.bitString, 'a keyUsage BIT STRING'));
  // bits[0] is the number of unused bits; then bit 0 (digitalSignature) is the high bit of bits[1].
  return KEY_USAGES.filter((_, index) => {
    const byte = bits[1 + Math.floor(index / 8)];
    return byte !== undefined && (byte & (0x80 >> index % 8)) !== 0;
  });
}

function readBasicConstraintsCa(value: Buffer): boolean {
  const sequence = expectTag(readTlv(value, 0), TAG.sequence, 'a basicConstraints SEQUENCE');
  const first = children(value, sequence)[0];
  return first?.tag === TAG.boolean && value[first.start] !== 0;
}

function readGeneralNames(value: Buffer): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const name of children(value, expectTag(readTlv(value, 0), TAG.sequence, 'a GeneralNames SEQUENCE'))) {
    const bytes = content(value, name);
    if (name.tag === 0x82) dnsNames.push(bytes.toString('ascii'));
    else if (name.tag === 0x87 && bytes.length === 4) ipAddresses.push([...bytes].join('.'));
    else if (name.tag === 0x87 && bytes.length === 16) {
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
      ipAddresses.push(groups.join(':'));
    }
  }
  return { dnsNames, ipAddresses };
}
