import { NacosError } from './nacos-error.js';

/** The largest answer the client reads (4 MiB: about 10 000 instances of one service with the metadata Spring Cloud registers). */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * Reads a fetch body as UTF-8 text, refusing (as `malformed`) an answer over `maxBytes` before it
 * is all in memory: a declared Content-Length is checked first, a chunked body as it streams.
 * Network errors and aborts while reading are thrown as they come, for the caller to classify.
 */
export async function readBoundedBody(response: Response, maxBytes: number, where: string): Promise<string> {
  const tooLarge = () => new NacosError('malformed', `${where} answered more than ${maxBytes} bytes`, { status: response.status });
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder('utf-8');
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}
