import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, parse as parseYaml, parseDocument, type YAMLMap } from 'yaml';
import { kustomize, renderer, type K8sObject } from './support/kustomize.js';

/**
 * manifests/ rendered with kustomize (`kubectl kustomize`, see test/support/kustomize.ts) and
 * checked against SPEC §7, §8 and §9 by reading the objects, not the text: every entry point
 * (the default, each overlay) and the combinations the files' comments tell users to write.
 * CI installs a kustomize with scripts/install-ci-deps.sh; without one these tests fail, they do
 * not skip.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MANIFESTS = path.join(ROOT, 'manifests');
const NAMESPACE = 'probe-injector';
const EXCLUDED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease', NAMESPACE];
const WEBHOOK_CONFIG = 'probe-injector';
const TLS_SECRET = 'probe-injector-tls';
const NACOS_SECRET = 'probe-injector-nacos';
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
const normalize = (text: string) => text.replace(/\s+/g, ' ').trim();

// The matchConditions, as SPEC §7 and docs/deploy.md describe them (CEL, whitespace-normalised).
// Any key under the prefix, in any case: an invalid `inject` value or a misspelt key is answered too (issue 9).
const POD_HAS_KEY = "has(object.metadata.annotations) && object.metadata.annotations.exists(key, key.lowerAscii().startsWith('probe-injector.io/'))";
const POD_NOT_OPTED_OUT =
  "!has(object.metadata.annotations) || !('probe-injector.io/inject' in object.metadata.annotations) || object.metadata.annotations['probe-injector.io/inject'] != 'false'";
const templateHasKey = (t: string) => `has(${t}.metadata) && has(${t}.metadata.annotations) && ${t}.metadata.annotations.exists(key, key.lowerAscii().startsWith('probe-injector.io/'))`;
const templateNotOptedOut = (t: string) =>
  `!has(${t}.metadata) || !has(${t}.metadata.annotations) || !('probe-injector.io/inject' in ${t}.metadata.annotations) || ${t}.metadata.annotations['probe-injector.io/inject'] != 'false'`;
const CRONJOB_TEMPLATE = 'object.spec.jobTemplate.spec.template';
const TEMPLATE = 'object.spec.template';
const WORKLOAD_HAS_KEY = `request.resource.resource == 'cronjobs' ? ${templateHasKey(CRONJOB_TEMPLATE)} : ${templateHasKey(TEMPLATE)}`;
const WORKLOAD_NOT_OPTED_OUT = `request.resource.resource == 'cronjobs' ? ${templateNotOptedOut(CRONJOB_TEMPLATE)} : ${templateNotOptedOut(TEMPLATE)}`;

class Objects {
  constructor(readonly objects: K8sObject[]) {}
  all(kind: string): K8sObject[] {
    return this.objects.filter((object) => object.kind === kind);
  }
  maybe(kind: string, name: string): K8sObject | undefined {
    return this.all(kind).find((object) => object.metadata.name === name);
  }
  one(kind: string, name?: string): K8sObject {
    const found = this.all(kind).filter((object) => name === undefined || object.metadata.name === name);
    if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
    return found[0]!;
  }
  get webhookDeployment() {
    return this.one('Deployment', 'probe-injector');
  }
  get mutating() {
    return this.one('MutatingWebhookConfiguration');
  }
  get validating() {
    return this.one('ValidatingWebhookConfiguration');
  }
  /** The only webhook of a configuration. */
  webhookOf(configuration: K8sObject) {
    const webhooks = configuration.webhooks as any[];
    expect(webhooks).toHaveLength(1);
    return webhooks[0];
  }
  /** Pod specs of everything that runs pods: Deployments, Jobs, CronJobs. */
  podSpecs(): [string, any][] {
    return this.objects.flatMap((object): [string, any][] => {
      if (object.kind === 'Deployment' || object.kind === 'Job') return [[`${object.kind} ${object.metadata.name}`, object.spec.template.spec]];
      if (object.kind === 'CronJob') return [[`CronJob ${object.metadata.name}`, object.spec.jobTemplate.spec.template.spec]];
      return [];
    });
  }
}

/** Where a file path in a container points: the volume mounted at its directory, and the key. */
function resolveFile(pod: any, container: any, file: string): { volume: any; key: string } {
  const mount = (container.volumeMounts as any[]).find((m) => path.posix.dirname(file) === m.mountPath.replace(/\/$/, ''));
  if (!mount) throw new Error(`${file} is not in a mounted directory`);
  expect(mount.subPath).toBeUndefined(); // kubelet only updates whole-directory mounts
  const volume = (pod.volumes as any[]).find((v) => v.name === mount.name);
  const base = path.posix.basename(file);
  const source = volume.secret ?? volume.configMap;
  const item = (source?.items as any[] | undefined)?.find((i) => i.path === base);
  if (source?.items && !item) throw new Error(`${file}: volume ${volume.name} does not project ${base}`);
  return { volume, key: item?.key ?? base };
}

function optionValue(args: readonly string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}

const selects = (selector: Record<string, string>, labels: Record<string, string> | undefined) => Object.entries(selector).every(([key, value]) => labels?.[key] === value);
const containerPort = (container: any, ref: number | string) => (typeof ref === 'number' ? ref : (container.ports as any[]).find((p) => p.name === ref)?.containerPort);

/** Every permission a ServiceAccount gets through the rendered bindings, as sorted strings. */
function permissionsOf(r: Objects, serviceAccount: string): string[] {
  const granted: string[] = [];
  for (const binding of [...r.all('RoleBinding'), ...r.all('ClusterRoleBinding')]) {
    const bound = (binding.subjects as any[]).some((s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === NAMESPACE);
    if (!bound) continue;
    const role = r.one(binding.roleRef.kind, binding.roleRef.name);
    const scope = binding.kind === 'RoleBinding' ? `namespace ${binding.metadata.namespace}` : 'cluster';
    for (const rule of role.rules as any[]) {
      for (const group of rule.apiGroups) {
        for (const resource of rule.resources) {
          for (const verb of rule.verbs) {
            for (const name of rule.resourceNames ?? ['*any*']) granted.push(`${scope}: ${verb} ${group || 'core'}/${resource} ${name}`);
          }
        }
      }
    }
  }
  return granted.sort();
}

const CERTS_PERMISSIONS = [
  `cluster: get admissionregistration.k8s.io/mutatingwebhookconfigurations ${WEBHOOK_CONFIG}`,
  `cluster: get admissionregistration.k8s.io/validatingwebhookconfigurations ${WEBHOOK_CONFIG}`,
  `cluster: patch admissionregistration.k8s.io/mutatingwebhookconfigurations ${WEBHOOK_CONFIG}`,
  `cluster: patch admissionregistration.k8s.io/validatingwebhookconfigurations ${WEBHOOK_CONFIG}`,
  `namespace ${NAMESPACE}: create core/secrets *any*`, // create cannot be limited by name
  `namespace ${NAMESPACE}: get core/secrets ${TLS_SECRET}`,
  `namespace ${NAMESPACE}: patch core/secrets ${TLS_SECRET}`,
].sort();
const CONTROLLER_PERMISSIONS = [
  'cluster: create core/events *any*',
  'cluster: get core/pods *any*',
  'cluster: list core/pods *any*',
  'cluster: patch core/events *any*',
  'cluster: patch core/pods/status *any*',
  'cluster: watch core/pods *any*',
  `namespace ${NAMESPACE}: create coordination.k8s.io/leases *any*`, // create cannot be limited by name
  `namespace ${NAMESPACE}: get coordination.k8s.io/leases probe-injector-controller`,
  `namespace ${NAMESPACE}: update coordination.k8s.io/leases probe-injector-controller`,
].sort();

// ------------------------------------------------------------------ what users are told to write
/** The kustomization in the comment of overlays/inject-by-default, as a user would write it. */
function kustomizationFromComment(file: string): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((line) => /^#\s+apiVersion: kustomize\.config\.k8s\.io\/v1beta1$/.test(line));
  if (start < 0) throw new Error(`${file}: no kustomization in its comment`);
  const indent = /^#(\s+)/.exec(lines[start]!)![1]!;
  const block: string[] = [];
  for (const line of lines.slice(start)) {
    if (!line.startsWith(`#${indent}`) && line !== '#') break;
    if (line === '#') break;
    block.push(line.slice(1 + indent.length));
  }
  return block.join('\n') + '\n';
}

const temporary = mkdtempSync(path.join(os.tmpdir(), 'probe-injector-manifests-'));
/** Writes a kustomization.yaml (with MANIFESTS standing for the path to manifests/) into a directory of its own. */
function userKustomization(name: string, text: string): string {
  const dir = path.join(temporary, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'kustomization.yaml'), text.replaceAll('MANIFESTS', path.relative(dir, MANIFESTS)));
  return dir;
}
const COMMENT_COMBINATION = () => userKustomization('comment-of-inject-by-default', kustomizationFromComment(path.join(MANIFESTS, 'overlays/inject-by-default/kustomization.yaml')));
/** Everything at once, on 1.21-1.27, with k8s-1.21 last as its kustomization.yaml says. */
const EVERYTHING_ON_1_21 = () => userKustomization(
  'everything-on-1.21',
  `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - MANIFESTS/base
  - MANIFESTS/certs-job
components:
  - MANIFESTS/components/nacos-gate
  - MANIFESTS/components/inject-by-default
  - MANIFESTS/components/k8s-1.21
`,
);
afterAll(() => rmSync(temporary, { recursive: true, force: true }));

interface Variant {
  readonly certs: 'job' | 'cert-manager';
  readonly injectByDefault: boolean;
  /** Kubernetes >= 1.28: matchConditions on both webhook configurations. */
  readonly matchConditions: boolean;
  readonly controller: boolean;
}
const VARIANTS: [string, () => string, Variant][] = [
  ['manifests (base + certs Job)', () => MANIFESTS, { certs: 'job', injectByDefault: false, matchConditions: true, controller: false }],
  ['manifests/overlays/k8s-1.21', () => path.join(MANIFESTS, 'overlays/k8s-1.21'), { certs: 'job', injectByDefault: false, matchConditions: false, controller: false }],
  ['manifests/overlays/cert-manager', () => path.join(MANIFESTS, 'overlays/cert-manager'), { certs: 'cert-manager', injectByDefault: false, matchConditions: true, controller: false }],
  ['manifests/overlays/inject-by-default', () => path.join(MANIFESTS, 'overlays/inject-by-default'), { certs: 'job', injectByDefault: true, matchConditions: true, controller: false }],
  ['manifests/overlays/nacos-gate', () => path.join(MANIFESTS, 'overlays/nacos-gate'), { certs: 'job', injectByDefault: false, matchConditions: true, controller: true }],
  ['the combination the inject-by-default overlay\'s comment describes (cert-manager + inject-by-default)', COMMENT_COMBINATION, { certs: 'cert-manager', injectByDefault: true, matchConditions: true, controller: false }],
  ['every component at once, k8s-1.21 last', EVERYTHING_ON_1_21, { certs: 'job', injectByDefault: true, matchConditions: false, controller: true }],
];

describe.each(VARIANTS)('%s', (_name, dir, variant) => {
  let r: Objects;
  let stderr: string;
  beforeAll(() => {
    const rendered = kustomize(dir());
    r = new Objects(rendered.objects);
    stderr = rendered.stderr;
  });

  it(`renders with no warning (${renderer().command.join(' ')} ${renderer().version}: no deprecated kustomize field)`, () => {
    expect(stderr).toBe('');
  });

  it('everything namespaced is in the probe-injector namespace, which it creates', () => {
    expect(r.one('Namespace').metadata.name).toBe(NAMESPACE);
    for (const object of r.objects) {
      if (!CLUSTER_SCOPED.has(object.kind)) expect([object.kind, object.metadata.name, object.metadata.namespace]).toEqual([object.kind, object.metadata.name, NAMESPACE]);
    }
  });

  it('webhook Deployment: 2 replicas, spread by pod anti-affinity over nodes, rolled without losing capacity', () => {
    const { spec } = r.webhookDeployment;
    expect(spec.replicas).toBe(2);
    expect(spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const podLabels = spec.template.metadata.labels;
    expect(podLabels).toEqual(expect.objectContaining(spec.selector.matchLabels));
    const terms = spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution as any[];
    expect(terms[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(podLabels).toEqual(expect.objectContaining(terms[0].podAffinityTerm.labelSelector.matchLabels));
    // The selectors of every earlier version (kustomize's commonLabels put part-of there): a
    // Deployment's selector cannot change, so an upgrade must render the same one.
    expect(spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'probe-injector', 'app.kubernetes.io/component': 'webhook', 'app.kubernetes.io/part-of': 'probe-injector' });
  });

  it('PodDisruptionBudget: covers the webhook pods and keeps at least one', () => {
    const pdb = r.one('PodDisruptionBudget', 'probe-injector');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(selects(pdb.spec.selector.matchLabels, r.webhookDeployment.spec.template.metadata.labels)).toBe(true);
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(r.webhookDeployment.spec.replicas);
  });

  it('every pod is hardened: non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp, resources', () => {
    const specs = r.podSpecs();
    const expected = [...(variant.certs === 'job' ? ['CronJob probe-injector-certs-renew', 'Job probe-injector-certs'] : []), 'Deployment probe-injector', ...(variant.controller ? ['Deployment probe-injector-controller'] : [])];
    expect(specs.map(([name]) => name).sort()).toEqual(expected.sort());
    for (const [name, pod] of specs) {
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const sc = container.securityContext ?? {};
        const podSc = pod.securityContext ?? {};
        const where = `${name} container ${container.name}`;
        expect([where, sc.runAsNonRoot ?? podSc.runAsNonRoot]).toEqual([where, true]);
        expect([where, sc.readOnlyRootFilesystem]).toEqual([where, true]);
        expect([where, sc.allowPrivilegeEscalation]).toEqual([where, false]);
        expect([where, sc.privileged ?? false]).toEqual([where, false]);
        expect([where, sc.capabilities?.drop]).toEqual([where, ['ALL']]);
        expect([where, sc.capabilities?.add]).toEqual([where, undefined]);
        expect([where, (sc.seccompProfile ?? podSc.seccompProfile)?.type]).toEqual([where, 'RuntimeDefault']);
        const uid = sc.runAsUser ?? podSc.runAsUser;
        expect([where, Number.isInteger(uid) && uid > 0]).toEqual([where, true]);
        // a read-only root filesystem, and a writable /tmp for Node
        const tmp = (container.volumeMounts as any[]).find((m) => m.mountPath === '/tmp');
        expect([where, (pod.volumes as any[]).find((v) => v.name === tmp?.name)?.emptyDir]).toEqual([where, expect.any(Object)]);
        expect([where, container.resources.requests]).toEqual([where, { cpu: expect.any(String), memory: expect.any(String) }]);
        expect([where, container.resources.limits.memory]).toEqual([where, expect.any(String)]);
        // Node's heap is capped below the memory limit, so V8 collects before the kernel kills (issue 11).
        const limitMiB = Number(/^([0-9]+)Mi$/.exec(container.resources.limits.memory)?.[1]);
        const cap = Number(/--max-old-space-size=([0-9]+)/.exec((container.env ?? []).find((e: any) => e.name === 'NODE_OPTIONS')?.value ?? '')?.[1]);
        if (where.startsWith('Deployment')) expect([where, cap > 0 && cap <= limitMiB * 0.8]).toEqual([where, true]);
      }
    }
  });

  it('the webhook probes itself over HTTPS: /healthz (startup, liveness) and /readyz (readiness) on 8443', () => {
    const container = r.webhookDeployment.spec.template.spec.containers[0];
    for (const [probe, pathName] of [
      ['readinessProbe', '/readyz'],
      ['livenessProbe', '/healthz'],
      ['startupProbe', '/healthz'],
    ] as const) {
      const get = container[probe].httpGet;
      expect([probe, get.scheme, get.path, containerPort(container, get.port)]).toEqual([probe, 'HTTPS', pathName, 8443]);
    }
  });

  it('serve runs on 8443 with the certificate, key and config files that are mounted, as a ServiceAccount with a token and no roles', () => {
    const pod = r.webhookDeployment.spec.template.spec;
    const container = pod.containers[0];
    const args: string[] = container.args;
    expect(args[0]).toBe('serve');
    expect(optionValue(args, '--port')).toBe('8443');
    expect(container.command).toBeUndefined(); // the image's ENTRYPOINT runs the CLI
    const cert = resolveFile(pod, container, optionValue(args, '--tls-cert-file')!);
    const key = resolveFile(pod, container, optionValue(args, '--tls-key-file')!);
    expect(cert.volume.secret.secretName).toBe(TLS_SECRET);
    expect([cert.key, key.key, key.volume.name]).toEqual(['tls.crt', 'tls.key', cert.volume.name]);
    expect((cert.volume.secret.items as any[]).map((item) => item.key).sort()).toEqual(['tls.crt', 'tls.key']); // no ca.key in the webhook's pods
    const config = resolveFile(pod, container, optionValue(args, '--config')!);
    expect(typeof r.one('ConfigMap', config.volume.configMap.name).data[config.key]).toBe('string');
    // Its token serves `GET /version` at start (SPEC §4), which every ServiceAccount may read:
    // nothing is bound to it.
    expect(pod.serviceAccountName).toBe('probe-injector');
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(r.one('ServiceAccount', 'probe-injector').automountServiceAccountToken).not.toBe(false);
    expect(permissionsOf(r, 'probe-injector')).toEqual([]);
  });

  it('metrics: serve --metrics-port 8080 on a declared port, announced by the pods\' prometheus.io annotations, reachable through the Service', () => {
    const template = r.webhookDeployment.spec.template;
    const container = template.spec.containers[0];
    const metricsPort = optionValue(container.args, '--metrics-port');
    expect(metricsPort).toBe('8080');
    const declared = (container.ports as any[]).find((p) => p.containerPort === Number(metricsPort));
    expect(declared).toEqual({ name: 'metrics', containerPort: 8080, protocol: 'TCP' });
    expect(template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': metricsPort, 'prometheus.io/path': '/metrics' });
    const service = r.one('Service', 'probe-injector');
    expect(service.spec.ports).toContainEqual({ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' });
    // Not on the Service too: Prometheus' usual kubernetes-service-endpoints job would then
    // scrape every replica a second time.
    expect(Object.keys(service.metadata.annotations ?? {}).filter((key) => key.startsWith('prometheus.io/'))).toEqual([]);
  });

  it('the config file in the ConfigMap has the shape of SPEC §5, every key documented, and agrees with the matchConditions', async () => {
    const text: string = r.one('ConfigMap', 'probe-injector-config').data['config.yaml'];
    const { parseConfigFile } = await import('../src/config/config-file.js');
    const config = parseConfigFile(text, 'config.yaml');
    expect(config.injectByDefault).toBe(variant.injectByDefault);
    expect([...config.profiles.keys()]).toEqual(expect.arrayContaining(['default', 'http', 'spring-boot', 'grpc']));
    const file = parseYaml(text);
    expect(Object.keys(file.nacos).sort()).toEqual(['deregister', 'gate', 'group', 'namespace', 'server']);
    expect(Object.keys(file.nacos.deregister).sort()).toEqual(['method', 'mode', 'path', 'sleepSeconds', 'timeoutSeconds', 'via']);
    expect(Object.keys(file.nacos.server).sort()).toEqual(['addresses', 'apiVersion', 'contextPath', 'timeoutSeconds']);
    expect(Object.keys(file.nacos.gate).sort()).toEqual(['conditionType', 'onTimeout', 'pollSeconds', 'timeoutSeconds', 'warnAfterSeconds']);
    // every key (two levels down) has a comment above it
    const document = parseDocument(text);
    const undocumented: string[] = [];
    const visit = (map: YAMLMap, prefix: string, depth: number) => {
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        const commented = Boolean((pair.key as any)?.commentBefore) || (map.items[0] === pair && Boolean((map as any).commentBefore));
        if (!commented && depth < 2) undocumented.push(prefix + key);
        if (isMap(pair.value) && key !== 'profiles' && depth < 1) visit(pair.value, `${prefix}${key}.`, depth + 1);
      }
    };
    visit(document.contents as YAMLMap, '', 0);
    expect(undocumented).toEqual([]);
  });

  it('Service: 443 to the webhook pods on 8443, and only to them', () => {
    const service = r.one('Service', 'probe-injector');
    expect(service.metadata.name).toBe(r.webhookOf(r.mutating).clientConfig.service.name);
    const port = (service.spec.ports as any[]).find((p) => p.port === 443);
    const container = r.webhookDeployment.spec.template.spec.containers[0];
    expect(containerPort(container, port.targetPort)).toBe(8443);
    expect(selects(service.spec.selector, r.webhookDeployment.spec.template.metadata.labels)).toBe(true);
    // no other pod (certs Job and CronJob, controller) is its endpoint or under the webhook's PDB
    const pdb = r.one('PodDisruptionBudget', 'probe-injector').spec.selector.matchLabels;
    for (const object of r.objects) {
      if (!['Deployment', 'Job', 'CronJob'].includes(object.kind) || object === r.webhookDeployment) continue;
      const labels = (object.kind === 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec.template).metadata.labels;
      expect([object.metadata.name, selects(service.spec.selector, labels), selects(pdb, labels)]).toEqual([object.metadata.name, false, false]);
    }
  });

  it('MutatingWebhookConfiguration: pods CREATE, v1, no side effects, fails open, fast, reinvoked', () => {
    const webhook = r.webhookOf(r.mutating);
    expect(r.mutating.metadata.name).toBe(WEBHOOK_CONFIG);
    expect(webhook.name.split('.').length).toBeGreaterThanOrEqual(3); // kube-apiserver wants a fully qualified name
    expect(webhook.rules).toEqual([{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    expect(webhook.sideEffects).toBe('None');
    expect(webhook.admissionReviewVersions).toEqual(['v1']);
    expect(webhook.timeoutSeconds).toBeGreaterThanOrEqual(1);
    expect(webhook.timeoutSeconds).toBeLessThanOrEqual(5);
    expect(webhook.reinvocationPolicy).toBe('IfNeeded');
    expect(webhook.failurePolicy).toBe('Ignore');
    expect(webhook.clientConfig.service).toEqual({ name: 'probe-injector', namespace: NAMESPACE, path: '/mutate', port: 443 });
    // No caBundle in the manifest: `kubectl apply` would otherwise overwrite the one certs/cert-manager set.
    expect(webhook.clientConfig.caBundle).toBeUndefined();
  });

  it('ValidatingWebhookConfiguration: CREATE and UPDATE of the workloads of SPEC §9 on /validate, with the pod webhook\'s settings', () => {
    const webhook = r.webhookOf(r.validating);
    const pods = r.webhookOf(r.mutating);
    expect(r.validating.metadata.name).toBe(WEBHOOK_CONFIG);
    expect(webhook.name).toBe('workloads.probe-injector.io');
    expect(webhook.rules).toEqual([
      { operations: ['CREATE', 'UPDATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], scope: 'Namespaced' },
      { operations: ['CREATE', 'UPDATE'], apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'], scope: 'Namespaced' },
    ]);
    // no subresource (scale, status), no DELETE
    expect((webhook.rules as any[]).flatMap((rule) => rule.resources).filter((resource: string) => resource.includes('/'))).toEqual([]);
    expect(webhook.clientConfig).toEqual({ service: { ...pods.clientConfig.service, path: '/validate' } });
    for (const field of ['sideEffects', 'admissionReviewVersions', 'failurePolicy', 'timeoutSeconds', 'matchPolicy', 'namespaceSelector']) {
      expect([field, webhook[field]]).toEqual([field, pods[field]]);
    }
    expect(webhook.failurePolicy).toBe('Ignore');
    expect(webhook.reinvocationPolicy).toBeUndefined(); // mutating webhooks only
    expect(webhook.objectSelector).toBeUndefined();
  });

  it('namespaceSelector excludes kube-system, kube-public, kube-node-lease and its own namespace', () => {
    for (const configuration of [r.mutating, r.validating]) {
      const webhook = r.webhookOf(configuration);
      expect(webhook.namespaceSelector).toEqual({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: expect.any(Array) }] });
      expect([...webhook.namespaceSelector.matchExpressions[0].values].sort()).toEqual([...EXCLUDED_NAMESPACES].sort());
      expect(webhook.objectSelector).toBeUndefined();
    }
  });

  if (variant.matchConditions) {
    it(`matchConditions (Kubernetes >= 1.28) send ${variant.injectByDefault ? 'every pod and template not annotated inject: "false"' : 'pods annotated inject: "true" and templates with a probe-injector.io/ key'}`, () => {
      const pod = r.webhookOf(r.mutating).matchConditions as any[];
      const workload = r.webhookOf(r.validating).matchConditions as any[];
      expect(pod).toHaveLength(1);
      expect(workload).toHaveLength(1);
      expect(normalize(pod[0].expression)).toBe(variant.injectByDefault ? POD_NOT_OPTED_OUT : POD_HAS_KEY);
      expect(normalize(workload[0].expression)).toBe(variant.injectByDefault ? WORKLOAD_NOT_OPTED_OUT : WORKLOAD_HAS_KEY);
    });
  } else {
    it('no matchConditions anywhere (Kubernetes 1.21-1.27 do not have the field)', () => {
      for (const configuration of [r.mutating, r.validating]) expect(r.webhookOf(configuration)).not.toHaveProperty('matchConditions');
    });
  }

  it('RBAC is least privilege: exactly the permissions each ServiceAccount needs, no wildcard', () => {
    for (const role of [...r.all('Role'), ...r.all('ClusterRole')]) {
      for (const rule of role.rules as any[]) {
        for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames']) {
          expect([role.metadata.name, field, (rule[field] ?? []).some((value: string) => value.includes('*'))]).toEqual([role.metadata.name, field, false]);
        }
        expect(rule.nonResourceURLs).toBeUndefined();
      }
    }
    const accounts = r.all('ServiceAccount').map((sa) => sa.metadata.name).sort();
    expect(accounts).toEqual(['probe-injector', ...(variant.certs === 'job' ? ['probe-injector-certs'] : []), ...(variant.controller ? ['probe-injector-controller'] : [])].sort());
    expect(permissionsOf(r, 'probe-injector')).toEqual([]);
    if (variant.certs === 'job') expect(permissionsOf(r, 'probe-injector-certs')).toEqual(CERTS_PERMISSIONS);
    if (variant.controller) expect(permissionsOf(r, 'probe-injector-controller')).toEqual(CONTROLLER_PERMISSIONS);
    // every binding binds one of them, to a role that exists
    for (const binding of [...r.all('RoleBinding'), ...r.all('ClusterRoleBinding')]) {
      expect(binding.subjects).toHaveLength(1);
      expect(accounts).toContain(binding.subjects[0].name);
      expect(r.maybe(binding.roleRef.kind, binding.roleRef.name)).toBeDefined();
    }
  });

  if (variant.certs === 'job') {
    it('the certs Job and its renewal CronJob run `certs` for this Service, Secret and both webhook configurations; the Job stays (no TTL)', () => {
      const pods = r.podSpecs().filter(([name]) => !name.startsWith('Deployment'));
      expect(pods.map(([name]) => name).sort()).toEqual(['CronJob probe-injector-certs-renew', 'Job probe-injector-certs']);
      for (const [, pod] of pods) {
        expect(pod.serviceAccountName).toBe('probe-injector-certs');
        expect(['OnFailure', 'Never']).toContain(pod.restartPolicy);
        const [container] = pod.containers;
        const args: string[] = container.args;
        expect(args[0]).toBe('certs');
        expect(optionValue(args, '--service')).toBe(r.one('Service').metadata.name);
        expect(optionValue(args, '--secret')).toBe(TLS_SECRET);
        expect(optionValue(args, '--webhook-config')).toBe(r.mutating.metadata.name);
        expect(optionValue(args, '--validating-webhook-config')).toBe(r.validating.metadata.name);
        expect(optionValue(args, '--namespace')).toBe('$(POD_NAMESPACE)');
        expect(container.env).toContainEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
      }
      expect(r.one('CronJob').spec.concurrencyPolicy).toBe('Forbid');
      // A Job that deletes itself is re-created by GitOps tools, and runs again, forever.
      expect(r.one('Job').spec).not.toHaveProperty('ttlSecondsAfterFinished');
    });
  } else {
    it('cert-manager: no certs Job or CronJob; a Certificate for the Service names into the mounted Secret, injected as caBundle into both webhook configurations', () => {
      expect(r.all('Job')).toEqual([]);
      expect(r.all('CronJob')).toEqual([]);
      const annotations = [r.mutating, r.validating].map((c) => c.metadata.annotations?.['cert-manager.io/inject-ca-from']);
      expect(annotations[1]).toBe(annotations[0]);
      const [namespace, name] = annotations[0].split('/');
      const serving = r.one('Certificate', name);
      expect(serving.metadata.namespace).toBe(namespace);
      expect(serving.spec.secretName).toBe(r.webhookDeployment.spec.template.spec.volumes.find((v: any) => v.secret)?.secret.secretName);
      const service = r.one('Service', 'probe-injector');
      const svc = `${service.metadata.name}.${service.metadata.namespace}`;
      expect([...serving.spec.dnsNames].sort()).toEqual([service.metadata.name, svc, `${svc}.svc`, `${svc}.svc.cluster.local`].sort());
      expect(serving.spec.usages).toContain('server auth');
      expect(serving.spec.isCA ?? false).toBe(false);
      const caIssuer = r.one('Issuer', serving.spec.issuerRef.name);
      const caCertificate = r.all('Certificate').find((certificate) => certificate.spec.secretName === caIssuer.spec.ca.secretName)!;
      expect(caCertificate.spec.isCA).toBe(true);
      expect(r.one('Issuer', caCertificate.spec.issuerRef.name).spec.selfSigned).toEqual({});
      for (const object of [...r.all('Certificate'), ...r.all('Issuer')]) expect(object.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'probe-injector', 'app.kubernetes.io/part-of': 'probe-injector' });
    });
  }

  if (variant.controller) {
    it('the controller: 2 replicas of `controller` with the webhook\'s config file, Lease identity from the downward API, optional Nacos credentials, probes, PDB, anti-affinity, metrics', () => {
      const deployment = r.one('Deployment', 'probe-injector-controller');
      const { spec } = deployment;
      expect(spec.replicas).toBe(2);
      expect(spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
      const pod = spec.template.spec;
      const labels = spec.template.metadata.labels;
      expect(selects(spec.selector.matchLabels, labels)).toBe(true);
      const term = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
      expect(term.topologyKey).toBe('kubernetes.io/hostname');
      expect(selects(term.labelSelector.matchLabels, labels)).toBe(true);
      // its pods are neither the webhook's Service endpoints nor covered by the webhook's PDB, and vice versa
      expect(selects(r.one('Service', 'probe-injector').spec.selector, labels)).toBe(false);
      expect(selects(r.one('PodDisruptionBudget', 'probe-injector').spec.selector.matchLabels, labels)).toBe(false);
      expect(selects(spec.selector.matchLabels, r.webhookDeployment.spec.template.metadata.labels)).toBe(false);
      const pdb = r.one('PodDisruptionBudget', 'probe-injector-controller');
      expect(selects(pdb.spec.selector.matchLabels, labels)).toBe(true);
      expect(pdb.spec.minAvailable).toBe(1);

      expect(pod.serviceAccountName).toBe('probe-injector-controller');
      expect(pod.automountServiceAccountToken).toBe(true);
      expect(pod.containers).toHaveLength(1);
      const [container] = pod.containers;
      expect(container.command).toBeUndefined();
      expect(container.args[0]).toBe('controller');
      expect(optionValue(container.args, '--port')).toBe('8080');
      const config = resolveFile(pod, container, optionValue(container.args, '--config')!);
      const webhookPod = r.webhookDeployment.spec.template.spec;
      const webhookConfig = resolveFile(webhookPod, webhookPod.containers[0], optionValue(webhookPod.containers[0].args, '--config')!);
      expect([config.volume.configMap.name, config.key]).toEqual([webhookConfig.volume.configMap.name, webhookConfig.key]);
      expect(container.image).toBe(webhookPod.containers[0].image);
      expect(container.env).toEqual([
        { name: 'NODE_OPTIONS', value: '--max-old-space-size=576' },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NACOS_USERNAME', valueFrom: { secretKeyRef: { name: NACOS_SECRET, key: 'username', optional: true } } },
        { name: 'NACOS_PASSWORD', valueFrom: { secretKeyRef: { name: NACOS_SECRET, key: 'password', optional: true } } },
      ]);
      // not shipped: an applied placeholder would overwrite the user's credentials
      expect(r.maybe('Secret', NACOS_SECRET)).toBeUndefined();
      for (const [probe, pathName] of [
        ['readinessProbe', '/readyz'],
        ['livenessProbe', '/healthz'],
        ['startupProbe', '/healthz'],
      ] as const) {
        const get = container[probe].httpGet;
        expect([probe, get.scheme ?? 'HTTP', get.path, containerPort(container, get.port)]).toEqual([probe, 'HTTP', pathName, 8080]);
      }
      expect(spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics' });
    });
  } else {
    it('no controller objects', () => {
      expect(r.objects.filter((object) => object.metadata.name.startsWith('probe-injector-controller'))).toEqual([]);
    });
  }

  it('every container runs the same image', () => {
    const images = new Set(r.podSpecs().flatMap(([, pod]) => (pod.containers as any[]).map((c) => c.image)));
    expect([...images]).toEqual(['probe-injector:0.1.0']);
  });
});

// ------------------------------------------------------------------ across entry points
function kustomizationFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return kustomizationFiles(full);
    return entry === 'kustomization.yaml' ? [full] : [];
  });
}

describe('manifests/ as a whole', () => {
  it('no kustomization uses a deprecated field (bases, commonLabels, patchesStrategicMerge, patchesJson6902, vars, imageTags)', () => {
    const files = kustomizationFiles(MANIFESTS);
    expect(files.length).toBeGreaterThanOrEqual(10);
    const used = files.flatMap((file) => {
      const keys = Object.keys(parseYaml(readFileSync(file, 'utf8')) ?? {});
      return keys.filter((key) => ['bases', 'commonLabels', 'patchesStrategicMerge', 'patchesJson6902', 'vars', 'imageTags'].includes(key)).map((key) => `${path.relative(ROOT, file)}: ${key}`);
    });
    expect(used).toEqual([]);
  });

  it('the k8s-1.21 overlay is the default with nothing removed but the matchConditions', () => {
    const withoutMatchConditions = (objects: K8sObject[]) =>
      objects.map((object) => (object.kind.endsWith('WebhookConfiguration') ? { ...object, webhooks: (object.webhooks as any[]).map(({ matchConditions: _dropped, ...webhook }) => webhook) } : object));
    const base = kustomize(MANIFESTS).objects;
    const old = kustomize(path.join(MANIFESTS, 'overlays/k8s-1.21')).objects;
    expect(base.filter((o) => o.kind.endsWith('WebhookConfiguration')).every((o) => o.webhooks[0].matchConditions)).toBe(true);
    expect(old).toEqual(withoutMatchConditions(base));
  });

  it('the inject-by-default overlay changes one line of config.yaml and the matchConditions, and copies nothing', () => {
    const base = new Objects(kustomize(MANIFESTS).objects);
    const overlay = new Objects(kustomize(path.join(MANIFESTS, 'overlays/inject-by-default')).objects);
    const lines = (r: Objects) => (r.one('ConfigMap').data['config.yaml'] as string).split('\n');
    const [before, after] = [lines(base), lines(overlay)];
    expect(after).toHaveLength(before.length);
    const changed = before.flatMap((line, index) => (line === after[index] ? [] : [[line, after[index]]]));
    expect(changed).toEqual([['injectByDefault: false', 'injectByDefault: true']]);
    // everything else is the same object for object, but the webhooks' matchConditions
    const rest = (r: Objects) =>
      r.objects.map((o) =>
        o.kind === 'ConfigMap' ? { ...o, data: {} } : o.kind.endsWith('WebhookConfiguration') ? { ...o, webhooks: (o.webhooks as any[]).map(({ matchConditions: _m, ...w }) => w) } : o,
      );
    expect(rest(overlay)).toEqual(rest(base));
    // The component holds no copy of config.yaml (a key of it that the overlay leaves alone).
    const dir = path.join(MANIFESTS, 'components/inject-by-default');
    for (const file of readdirSync(dir)) expect([file, readFileSync(path.join(dir, file), 'utf8').includes('errorPolicy')]).toEqual([file, false]);
  });

  it('the base keeps injectByDefault on the last line of config.yaml (the inject-by-default component relies on it)', () => {
    const text: string = new Objects(kustomize(path.join(MANIFESTS, 'base')).objects).one('ConfigMap').data['config.yaml'];
    expect(text.trimEnd().split('\n').at(-1)).toBe('injectByDefault: false');
    expect(text.split('\ninjectByDefault: ')).toHaveLength(2);
  });

  it('docs/deploy.md documents every overlay and component, and says the base needs Kubernetes >= 1.28', () => {
    const docs = readFileSync(path.join(ROOT, 'docs/deploy.md'), 'utf8');
    for (const group of ['overlays', 'components']) {
      for (const entry of readdirSync(path.join(MANIFESTS, group))) expect([entry, docs.includes(`manifests/${group}/${entry}`)]).toEqual([entry, true]);
    }
    expect(docs).toMatch(/Kubernetes ≥ 1\.28/);
    expect(docs).toMatch(/1\.21[–-]1\.27/);
  });
});
