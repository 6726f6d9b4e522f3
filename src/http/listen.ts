import type { AddressInfo, Server } from 'node:net';

/** Listens and resolves with the port (0 picks a free one); a bind error (in use) rejects. */
export function listen(server: Server, port: number, host?: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port); // a TCP server's address is an AddressInfo
    });
  });
}
