import type { Writable } from 'node:stream';

// Placeholder while `probe-injector check` is being built (issue 13); replaced by its real entry.
export async function runCheck(_options: Record<string, unknown>, _io: { stdout: Writable; stderr: Writable }): Promise<number> {
  throw new Error('the check subcommand is not built yet');
}
