import type { IncomingMessage, ServerResponse } from 'node:http';
import { send } from './admission-handler.js';

/** `GET /healthz` (the process is up) and `GET /readyz` (it takes admissions: 503 while draining). */
export function createHealthHandler(isReady: () => boolean): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.url === '/readyz' && !isReady()) send(res, 503, { status: 'shutting down' });
    else send(res, 200, { status: 'ok' });
  };
}
