// End-to-end suite against a real kube-apiserver: run it with `test/e2e/run.sh`, which provisions
// and starts the cluster, passes its coordinates in the environment (KUBECONFIG, E2E_*), runs
// jest with this config (--runInBand: one cluster, cases share it), and always stops it.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: ['<rootDir>/test/e2e/**/*.e2e.ts'],
  // A case may wait for a webhook configuration to take effect or for the ReplicaSet controller.
  testTimeout: 90000,
  maxWorkers: 1,
  verbose: true,
};
