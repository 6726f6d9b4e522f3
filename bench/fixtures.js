// Realistic AdmissionReviews of opted-in pods for the benchmarks, built on the shape a real
// kube-apiserver sends (test/fixtures/admission/admissionreview-v1-pod-create.json): two containers
// (app + sidecar), the defaulted fields, managedFields that grow with the env vars, and the
// annotations that make every request produce a patch (spring-boot profile, Nacos hook, a gate).
import { readFileSync } from 'node:fs';

const FIXTURE_URL = new URL('../test/fixtures/admission/admissionreview-v1-pod-create.json', import.meta.url);

export const SIZES = [
  { label: '3 KB', target: 3 * 1024, env: 2, lean: true },
  { label: '8 KB', target: 8 * 1024, env: 40 },
  { label: '20 KB', target: 20 * 1024, env: 120 },
  { label: '60 KB', target: 60 * 1024, env: 1000 },
];

export const ANNOTATIONS = {
  'probe-injector.io/inject': 'true',
  'probe-injector.io/profile': 'spring-boot',
  'probe-injector.io/nacos-deregister': 'true',
  'probe-injector.io/readiness-gates': 'nacos.io/registered',
};

function loadFixture() {
  return JSON.parse(readFileSync(FIXTURE_URL, 'utf8'));
}

function envName(i) {
  return `APP_SETTING_${String(i).padStart(4, '0')}`;
}

/** The review with `envCount` env vars on the app container, each value `valueLength` long. */
function build(envCount, valueLength, lean = false) {
  const review = loadFixture();
  review.request.uid = '5f3c1e2a-8b7d-4c6e-9a1f-0d2b3c4e5f60';
  review.request.name = '';
  const pod = review.request.object;
  pod.metadata = {
    generateName: 'orders-7d9f8c6b5-',
    namespace: 'shop',
    creationTimestamp: null,
    labels: { app: 'orders', 'pod-template-hash': '7d9f8c6b5', 'app.kubernetes.io/part-of': 'shop' },
    annotations: { ...ANNOTATIONS, 'kubectl.kubernetes.io/default-container': 'app' },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'orders-7d9f8c6b5', uid: 'b0a3d2c1-1111-4222-8333-944455566677', controller: true, blockOwnerDeletion: true },
    ],
    managedFields: pod.metadata.managedFields,
  };
  const fields = pod.metadata.managedFields[0].fieldsV1['f:spec']['f:containers'];
  delete fields['k:{"name":"dump"}'];
  const value = (i) => `v${i}-`.padEnd(valueLength, 'x');
  const env = Array.from({ length: envCount }, (_, i) => ({ name: envName(i), value: value(i) }));
  const base = pod.spec.containers[0];
  const app = {
    ...base,
    name: 'app',
    image: 'registry.example.com/shop/orders:1.42.0',
    ports: [
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'management', containerPort: 8081, protocol: 'TCP' },
    ],
    env,
    resources: { limits: { cpu: '2', memory: '2Gi' }, requests: { cpu: '500m', memory: '1Gi' } },
    volumeMounts: [{ name: 'kube-api-access-x7k2p', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
  };
  const sidecar = {
    ...base,
    name: 'log-shipper',
    image: 'registry.example.com/infra/fluent-bit:3.0.4',
    ports: [{ name: 'metrics', containerPort: 2020, protocol: 'TCP' }],
    resources: { limits: { cpu: '200m', memory: '128Mi' }, requests: { cpu: '50m', memory: '64Mi' } },
    volumeMounts: [{ name: 'kube-api-access-x7k2p', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
  };
  pod.spec.containers = [app, sidecar];
  pod.spec.restartPolicy = 'Always';
  pod.spec.serviceAccountName = 'default';
  pod.spec.volumes = [
    {
      name: 'kube-api-access-x7k2p',
      projected: {
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
        defaultMode: 420,
      },
    },
  ];
  for (const name of ['app', 'log-shipper']) {
    fields[`k:{"name":"${name}"}`] = { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': {}, 'f:resources': {} };
  }
  if (lean) {
    // The smallest realistic pod: no service-account token volume, no per-container managedFields.
    for (const name of ['app', 'log-shipper']) fields[`k:{"name":"${name}"}`] = {};
    delete pod.spec.volumes;
    pod.spec.automountServiceAccountToken = false;
    for (const container of pod.spec.containers) delete container.volumeMounts;
  }
  return review;
}

/**
 * The review for one size: `env` env vars, their value length chosen so the compact JSON lands on
 * the target size (within a few bytes).
 */
export function reviewOfSize({ target, env, lean }) {
  let low = 1;
  let high = 4096;
  let best = build(env, 1, lean);
  while (low <= high) {
    const mid = (low + high) >> 1;
    const review = build(env, mid, lean);
    const size = Buffer.byteLength(JSON.stringify(review));
    if (size <= target) {
      best = review;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return best;
}

/** Every size: `{ label, env, review, body (compact JSON string), bytes }`. */
export function allSizes() {
  return SIZES.map((size) => {
    const review = reviewOfSize(size);
    const body = JSON.stringify(review);
    return { ...size, review, body, bytes: Buffer.byteLength(body) };
  });
}
