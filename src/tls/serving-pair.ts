import { createPrivateKey, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { readBoundedFile } from '../serve/bounded-file.js';
import type { KeyPair } from './certificates.js';
import { inspectCertificate, type CertificateInfo } from './inspect.js';

/** A serving certificate and key that can be installed: both parse and the key is the certificate's. */
export interface ServingPair {
  readonly pair: KeyPair;
  /** The first certificate of the file: the one the server presents. */
  readonly certificate: CertificateInfo;
}

/**
 * Checks a certificate (chain) and key before they are served: an empty or half-written file, a key
 * that is not the certificate's (one file replaced before the other) or anything TLS cannot use is
 * an Error that says which. Pure: no I/O.
 */
export function checkServingPair(pair: KeyPair, names: { readonly cert: string; readonly key: string } = { cert: 'certificate', key: 'key' }): ServingPair {
  let certificate: CertificateInfo;
  try {
    certificate = inspectCertificate(pair.cert);
  } catch (cause) {
    throw new Error(`${names.cert}: ${messageOf(cause)}`, { cause });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pair.key);
  } catch (cause) {
    throw new Error(`${names.key}: ${pair.key.trim() === '' ? 'empty' : `not a PEM private key (${messageOf(cause)})`}`, { cause });
  }
  if (key.type !== 'private' || !certificate.x509.checkPrivateKey(key)) {
    throw new Error(`${names.key} is not the private key of the certificate in ${names.cert} (is one of them still being replaced?)`);
  }
  try {
    createSecureContext({ cert: pair.cert, key: pair.key });
  } catch (cause) {
    throw new Error(`${names.cert} and ${names.key} cannot be served: ${messageOf(cause)}`, { cause });
  }
  return { pair, certificate };
}

/** Reads (bounded) and checks the serving certificate and key files. */
export async function readServingPair(certFile: string, keyFile: string): Promise<ServingPair> {
  const [cert, key] = await Promise.all([readBoundedFile(certFile), readBoundedFile(keyFile)]);
  return checkServingPair({ cert, key }, { cert: certFile, key: keyFile });
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
