// Realistic AdmissionReviews of opted-in pods for the benchmarks, built on the shape a real
// kube-apiserver sends (test/fixtures/admission/admissionreview-v1-pod-create.json): two containers
// (app + sidecar), the defaulted fields, managedFields that grow with the env vars, and the
// annotations that make every request produce a patch (spring-boot profile, Nacos hook, the
// Nacos gate — its identity comes from the pod's `app` label).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './lib.js';

export const FIXTURE_FILE = path.join(ROOT, 'test', 'fixtures', 'admission', 'admissionreview-v1-pod-create.json');

export type Json = Record<string, any>;

export interface SizeSpec {
  readonly label: string;
  /** Bytes of the compact JSON review to aim at. */
  readonly target: number;
  /** Env vars on the app container (their values are sized to reach the target). */
  readonly env: number;
  /** No service-account volume and no per-container managedFields: the smallest realistic pod. */
  readonly lean?: boolean;
}

export const SIZES: readonly SizeSpec[] = [
  { label: '3 KB', target: 3 * 1024, env: 2, lean: true },
  { label: '8 KB', target: 8 * 1024, env: 40 },
  { label: '20 KB', target: 20 * 1024, env: 120 },
  { label: '60 KB', target: 60 * 1024, env: 1000 },
];

export const ANNOTATIONS: Readonly<Record<string, string>> = {
  'probe-injector.io/inject': 'true',
  'probe-injector.io/profile': 'spring-boot',
  'probe-injector.io/nacos-deregister': 'true',
  'probe-injector.io/readiness-gates': 'nacos.io/registered',
};

export const UID = '5f3c1e2a-8b7d-4c6e-9a1f-0d2b3c4e5f60';

/** The fixture: the AdmissionReview kube-apiserver v1.20 sent for `kubectl run dump --image busybox`. */
export function loadFixture(): Json {
  return JSON.parse(readFileSync(FIXTURE_FILE, 'utf8')) as Json;
}

const envName = (i: number) => `APP_SETTING_${String(i).padStart(4, '0')}`;

/** The review with `envCount` env vars on the app container, each value `valueLength` long. */
function build(envCount: number, valueLength: number, lean = false): Json {
  const review = loadFixture();
  review.request.uid = UID;
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
  const value = (i: number) => `v${i}-`.padEnd(valueLength, 'x');
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
    for (const name of ['app', 'log-shipper']) fields[`k:{"name":"${name}"}`] = {};
    delete pod.spec.volumes;
    pod.spec.automountServiceAccountToken = false;
    for (const container of pod.spec.containers) delete container.volumeMounts;
  }
  return review;
}

/** The review for one size: its env values sized so the compact JSON lands on the target (within a few bytes). */
export function reviewOfSize({ target, env, lean }: SizeSpec): Json {
  let low = 1;
  let high = 4096;
  let best = build(env, 1, lean);
  while (low <= high) {
    const mid = (low + high) >> 1;
    const review = build(env, mid, lean);
    if (Buffer.byteLength(JSON.stringify(review)) <= target) {
      best = review;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return best;
}

export interface Size extends SizeSpec {
  readonly review: Json;
  /** The compact JSON of the review: the request body. */
  readonly body: string;
  readonly bytes: number;
}

/** Every size, with its review and body. */
export function allSizes(): Size[] {
  return SIZES.map((spec) => {
    const review = reviewOfSize(spec);
    const body = JSON.stringify(review);
    return { ...spec, review, body, bytes: Buffer.byteLength(body) };
  });
}

/** The size with this label (`'8 KB'`). */
export function sizeOf(label: string): Size {
  const size = allSizes().find((s) => s.label === label);
  if (!size) throw new Error(`no bench size ${label}`);
  return size;
}

/**
 * The pod of a review as a client would POST it (`kubectl create`): what kube-apiserver adds or
 * owns (managedFields, creationTimestamp, the namespace, status, priority, the ServiceAccount's
 * defaults) left out, `generateName` kept so every dry-run create is a new pod.
 */
export function podToCreate(review: Json): Json {
  const pod = structuredClone(review.request.object) as Json;
  delete pod.metadata.managedFields;
  delete pod.metadata.creationTimestamp;
  delete pod.metadata.namespace;
  delete pod.metadata.ownerReferences;
  delete pod.status;
  delete pod.spec.priority;
  return pod;
}
