// The Nacos test server of the controller benchmark, in a process of its own (so that the bench's
// own work — creating pods, playing the kubelet, watching — never delays Nacos's answers), driven
// over IPC by bench/controller.ts: `register` an instance, `requests` the instance-list requests
// received so far, `stop`.
import { startNacosServer, type InstanceInput } from '../test/support/nacos-server.js';

type Message = { readonly kind: 'register'; readonly instances: readonly InstanceInput[] } | { readonly kind: 'requests'; readonly id: number } | { readonly kind: 'stop' };

const server = await startNacosServer();
process.on('message', (message: Message) => {
  if (message.kind === 'register') for (const instance of message.instances) server.register(instance);
  else if (message.kind === 'requests') {
    const requests = server.requests.filter((r) => r.route === '/v1/ns/instance/list').map((r) => ({ service: r.params.serviceName ?? '', at: r.at }));
    process.send!({ kind: 'requests', id: message.id, requests });
  } else if (message.kind === 'stop') void server.stop().then(() => process.exit(0));
});
process.send!({ kind: 'ready', url: server.url });
