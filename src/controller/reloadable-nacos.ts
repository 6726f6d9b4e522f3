import type { NacosServerConfig } from '../core/settings.js';
import { createNacosClient, type NacosClient, type NacosClientOptions, type NacosCredentials } from '../nacos/nacos-client.js';
import type { NacosLister } from './nacos-lister.js';

/**
 * The Nacos client for the current `nacos.server` config: a new client (new session, new
 * preferred address) when a reload changes the section, the same one otherwise.
 */
export function reloadableNacos(
  server: () => NacosServerConfig,
  options: { readonly credentials?: NacosCredentials | undefined; readonly onRequest?: NacosClientOptions['onRequest'] },
): NacosLister {
  let client: NacosClient | undefined;
  let key: string | undefined;
  return {
    listInstances(request) {
      const current = server();
      const currentKey = JSON.stringify(current);
      if (client === undefined || currentKey !== key) {
        client = createNacosClient({ server: current, credentials: options.credentials, onRequest: options.onRequest });
        key = currentKey;
      }
      return client.listInstances(request);
    },
  };
}
