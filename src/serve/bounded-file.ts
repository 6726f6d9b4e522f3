import { open } from 'node:fs/promises';

/** The largest config, certificate or key file read: far above any real one (a few KiB). */
export const MAX_FILE_BYTES = 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a text file of at most `maxBytes` (UTF-8). A larger file is refused without being read
 * whole: a mistaken mount or a runaway writer costs a bounded read, not the process's memory.
 */
export async function readBoundedFile(file: string, maxBytes: number = MAX_FILE_BYTES): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw new Error(`${file} is larger than ${maxBytes} bytes`);
    try {
      return utf8.decode(buffer.subarray(0, length));
    } catch (cause) {
      throw new Error(`${file} is not valid UTF-8`, { cause });
    }
  } finally {
    await handle.close();
  }
}
