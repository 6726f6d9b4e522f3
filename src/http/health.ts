import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from './send.js';

/** Why the webhook does not take admissions (yet or any more); undefined when it does. */
export type NotReady = () => string | undefined;

/**
 * `GET /healthz` (the process answers: kubelet restarts it otherwise) and `GET /readyz` (it takes
 * admissions: 503 with the reason while starting or draining). Both are answered on the event loop
 * without I/O, so they stay fast while admissions are being served.
 */
export function createHealthHandler(notReady: NotReady): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const reason = req.url?.startsWith('/readyz') ? notReady() : undefined;
    if (reason !== undefined) send(res, 503, { status: 'not ready', reason });
    else send(res, 200, { status: 'ok' });
  };
}
