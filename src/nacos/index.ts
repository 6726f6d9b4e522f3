/** The controller's Nacos client (docs/nacos.md). */
export { BACKOFF, backoffDelay, type BackoffPolicy } from './backoff.js';
export { MAX_ANSWER_BYTES } from './bounded-body.js';
export { isServiceNotFound, parseInstanceList, type NacosApiVersion, type NacosInstance, type NacosServiceName } from './instance-list.js';
export { parseLogin, type NacosLogin } from './login-answer.js';
export {
  createNacosClient,
  credentialsFromEnvironment,
  systemClock,
  TOKEN_RENEW_AT,
  type NacosClient,
  type NacosClientOptions,
  type NacosClock,
  type NacosCredentials,
  type NacosListRequest,
  type NacosRequestEvent,
  type NacosServer,
} from './nacos-client.js';
export { NACOS_ERROR_KINDS, NACOS_OUTCOMES, NacosError, outcomeOf, type NacosErrorDetail, type NacosErrorKind, type NacosOutcome } from './nacos-error.js';
