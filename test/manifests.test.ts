import { beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, parseAllDocuments, parseDocument, type YAMLMap } from 'yaml';
import { parseConfigFile } from '../src/config/config-file.js';
import { serviceDnsNames } from '../src/tls/webhook-certs.js';

/**
 * manifests/ rendered by `kubectl kustomize` (the kustomize built into kubectl; $KUBECTL names
 * another binary) and checked against SPEC §7 by reading the objects, not the text. CI installs
 * kubectl with scripts/install-ci-deps.sh; without it these tests fail, they do not skip.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KUBECTL = process.env.KUBECTL || 'kubectl';

type K8sObject = Record<string, any> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [key: string]: any } };

function render(dir: string): K8sObject[] {
  const result = spawnSync(KUBECTL, ['kustomize', path.join(ROOT, dir)], { encoding: 'utf8', timeout: 60_000 });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? `${KUBECTL} not found: the manifest tests render manifests/ with \`kubectl kustomize\`; run scripts/install-ci-deps.sh (it installs Debian's kubernetes-client)`
        : `${KUBECTL} kustomize ${dir} failed to run: ${result.error.message}`,
      { cause: result.error },
    );
  }
  if (result.status !== 0) throw new Error(`${KUBECTL} kustomize ${dir} exited ${result.status}: ${result.stderr}`);
  const documents = parseAllDocuments(result.stdout);
  if (!Array.isArray(documents)) throw new Error(`${dir}: no YAML documents rendered`);
  for (const document of documents) if (document.errors.length > 0) throw new Error(`${dir}: ${document.errors[0]!.message}`);
  return documents.map((document) => document.toJSON()).filter((object): object is K8sObject => object !== null);
}

const NAMESPACE = 'probe-injector';
const BASE_SECURITY_EXCLUDED = ['kube-system', 'kube-public', 'kube-node-lease', NAMESPACE];
const OPT_IN = "has(object.metadata.annotations) && 'probe-injector.io/inject' in object.metadata.annotations && object.metadata.annotations['probe-injector.io/inject'] == 'true'";
const NOT_OPTED_OUT =
  "!has(object.metadata.annotations) || !('probe-injector.io/inject' in object.metadata.annotations) || object.metadata.annotations['probe-injector.io/inject'] != 'false'";
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);
const normalize = (text: string) => text.replace(/\s+/g, ' ').trim();

class Rendered {
  constructor(readonly objects: K8sObject[]) {}
  all(kind: string): K8sObject[] {
    return this.objects.filter((object) => object.kind === kind);
  }
  one(kind: string, name?: string): K8sObject {
    const found = this.all(kind).filter((object) => name === undefined || object.metadata.name === name);
    if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
    return found[0]!;
  }
  get deployment() {
    return this.one('Deployment');
  }
  get webhookConfiguration() {
    return this.one('MutatingWebhookConfiguration');
  }
  get webhook() {
    const webhooks = this.webhookConfiguration.webhooks as any[];
    expect(webhooks).toHaveLength(1);
    return webhooks[0];
  }
  /** Pod specs of everything that runs pods: Deployment, Job, CronJob. */
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

const VARIANTS: [string, string, { readonly certsJob: boolean; readonly injectByDefault: boolean }][] = [
  ['manifests (base + certs Job)', 'manifests', { certsJob: true, injectByDefault: false }],
  ['manifests/overlays/cert-manager', 'manifests/overlays/cert-manager', { certsJob: false, injectByDefault: false }],
  ['manifests/overlays/inject-by-default', 'manifests/overlays/inject-by-default', { certsJob: true, injectByDefault: true }],
];

describe.each(VARIANTS)('%s', (_name, dir, variant) => {
  let r: Rendered;
  beforeAll(() => {
    r = new Rendered(render(dir));
  });

  it('everything namespaced is in the probe-injector namespace, which it creates', () => {
    expect(r.one('Namespace').metadata.name).toBe(NAMESPACE);
    for (const object of r.objects) {
      if (!CLUSTER_SCOPED.has(object.kind)) expect([object.kind, object.metadata.name, object.metadata.namespace]).toEqual([object.kind, object.metadata.name, NAMESPACE]);
    }
  });

  it('Deployment: 2 replicas, spread by pod anti-affinity over nodes, rolled without losing capacity', () => {
    const { spec } = r.deployment;
    expect(spec.replicas).toBe(2);
    expect(spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const podLabels = spec.template.metadata.labels;
    expect(podLabels).toEqual(expect.objectContaining(spec.selector.matchLabels));
    const terms = spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution as any[];
    expect(terms.length).toBeGreaterThan(0);
    expect(terms[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    expect(podLabels).toEqual(expect.objectContaining(terms[0].podAffinityTerm.labelSelector.matchLabels));
  });

  it('PodDisruptionBudget: covers the webhook pods and keeps at least one', () => {
    const pdb = r.one('PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(r.deployment.spec.template.metadata.labels).toEqual(expect.objectContaining(pdb.spec.selector.matchLabels));
    expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(pdb.spec.minAvailable).toBeLessThan(r.deployment.spec.replicas);
  });

  it('every pod is hardened: non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
    const specs = r.podSpecs();
    expect(specs.map(([name]) => name.split(' ')[0])).toEqual(expect.arrayContaining(variant.certsJob ? ['Deployment', 'Job', 'CronJob'] : ['Deployment']));
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
        // resources for every container
        expect([where, container.resources.requests]).toEqual([where, { cpu: expect.any(String), memory: expect.any(String) }]);
        expect([where, container.resources.limits.memory]).toEqual([where, expect.any(String)]);
      }
    }
  });

  it('the webhook probes itself over HTTPS: /healthz (startup, liveness) and /readyz (readiness) on 8443', () => {
    const container = r.deployment.spec.template.spec.containers[0];
    const port = (ref: number | string) => (typeof ref === 'number' ? ref : (container.ports as any[]).find((p) => p.name === ref)?.containerPort);
    for (const [probe, pathName] of [
      ['readinessProbe', '/readyz'],
      ['livenessProbe', '/healthz'],
      ['startupProbe', '/healthz'],
    ] as const) {
      const get = container[probe].httpGet;
      expect([probe, get.scheme, get.path, port(get.port)]).toEqual([probe, 'HTTPS', pathName, 8443]);
    }
  });

  it('serve runs on 8443 with the certificate, key and config files that are mounted', () => {
    const pod = r.deployment.spec.template.spec;
    const container = pod.containers[0];
    const args: string[] = container.args;
    expect(args[0]).toBe('serve');
    expect(optionValue(args, '--port')).toBe('8443');
    expect(container.command).toBeUndefined(); // the image's ENTRYPOINT runs the CLI
    const cert = resolveFile(pod, container, optionValue(args, '--tls-cert-file')!);
    const key = resolveFile(pod, container, optionValue(args, '--tls-key-file')!);
    expect(cert.volume.secret.secretName).toBe('probe-injector-tls');
    expect([cert.key, key.key, key.volume.name]).toEqual(['tls.crt', 'tls.key', cert.volume.name]);
    expect((cert.volume.secret.items as any[]).map((item) => item.key).sort()).toEqual(['tls.crt', 'tls.key']); // no ca.key in the webhook's pods
    const config = resolveFile(pod, container, optionValue(args, '--config')!);
    const configMap = r.one('ConfigMap', config.volume.configMap.name);
    expect(typeof configMap.data[config.key]).toBe('string');
    // Its own ServiceAccount, with no token: the webhook calls no API.
    expect(pod.serviceAccountName).toBe('probe-injector');
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('the config file in the ConfigMap is valid, documented, and agrees with matchConditions', () => {
    const text: string = r.one('ConfigMap', 'probe-injector-config').data['config.yaml'];
    const config = parseConfigFile(text, 'config.yaml');
    expect(config.injectByDefault).toBe(variant.injectByDefault);
    expect([...config.profiles.keys()]).toEqual(expect.arrayContaining(['default', 'http', 'spring-boot', 'grpc']));
    // every key has a comment above it
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

  it('Service: 443 to the webhook pods on 8443', () => {
    const service = r.one('Service');
    expect(service.metadata.name).toBe(r.webhook.clientConfig.service.name);
    const port = (service.spec.ports as any[]).find((p) => p.port === 443);
    const container = r.deployment.spec.template.spec.containers[0];
    const target = (container.ports as any[]).find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
    expect(target.containerPort).toBe(8443);
    expect(r.deployment.spec.template.metadata.labels).toEqual(expect.objectContaining(service.spec.selector));
    // the certs Job's pods carry other labels: the Service never sends them traffic
    const selects = (labels: Record<string, string>) => Object.entries(service.spec.selector).every(([key, value]) => labels[key] === value);
    for (const job of r.all('Job')) expect(selects(job.spec.template.metadata.labels)).toBe(false);
    for (const cronJob of r.all('CronJob')) expect(selects(cronJob.spec.jobTemplate.spec.template.metadata.labels)).toBe(false);
  });

  it('MutatingWebhookConfiguration: pods CREATE, v1, no side effects, fails open, fast, reinvoked', () => {
    const webhook = r.webhook;
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

  it('namespaceSelector excludes kube-system, kube-public, kube-node-lease and its own namespace', () => {
    const selector = r.webhook.namespaceSelector;
    expect(selector.matchLabels).toBeUndefined();
    expect(selector.matchExpressions).toHaveLength(1);
    const [expression] = selector.matchExpressions;
    expect(expression.key).toBe('kubernetes.io/metadata.name');
    expect(expression.operator).toBe('NotIn');
    expect([...expression.values].sort()).toEqual([...BASE_SECURITY_EXCLUDED].sort());
    expect(r.webhook.objectSelector).toBeUndefined();
  });

  it(`matchConditions send ${variant.injectByDefault ? 'every pod not annotated inject: "false"' : 'only pods annotated inject: "true"'}`, () => {
    const conditions = r.webhook.matchConditions as any[];
    expect(conditions).toHaveLength(1);
    expect(normalize(conditions[0].expression)).toBe(variant.injectByDefault ? NOT_OPTED_OUT : OPT_IN);
    expect(conditions[0].expression).toMatch(/has\(object\.metadata\.annotations\)/);
  });

  it('RBAC is least privilege: no wildcards, no cluster-wide Secrets, only the one Secret and the one webhook configuration', () => {
    const roles = [...r.all('Role'), ...r.all('ClusterRole')];
    for (const role of roles) {
      for (const rule of role.rules as any[]) {
        for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs']) {
          expect([role.metadata.name, field, (rule[field] ?? []).some((value: string) => value.includes('*'))]).toEqual([role.metadata.name, field, false]);
        }
        expect(rule.nonResourceURLs).toBeUndefined();
        if (role.kind === 'ClusterRole') {
          expect(rule).toEqual({ apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], resourceNames: [r.webhookConfiguration.metadata.name], verbs: expect.any(Array) });
          expect(rule.verbs.every((verb: string) => ['get', 'patch', 'update'].includes(verb))).toBe(true);
        } else {
          expect(rule.apiGroups).toEqual(['']);
          expect(rule.resources).toEqual(['secrets']);
          if (rule.resourceNames) {
            expect(rule.resourceNames).toEqual(['probe-injector-tls']);
            expect(rule.verbs.every((verb: string) => ['get', 'patch', 'update'].includes(verb))).toBe(true);
          } else {
            expect(rule.verbs).toEqual(['create']); // create cannot be limited by name
          }
        }
      }
    }
    const bindings = [...r.all('RoleBinding'), ...r.all('ClusterRoleBinding')];
    for (const binding of bindings) {
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'probe-injector-certs', namespace: NAMESPACE }]);
      expect(roles.some((role) => role.kind === binding.roleRef.kind && role.metadata.name === binding.roleRef.name)).toBe(true);
    }
    if (variant.certsJob) {
      expect(roles.map((role) => role.kind).sort()).toEqual(['ClusterRole', 'Role']);
      expect(bindings.map((binding) => binding.kind).sort()).toEqual(['ClusterRoleBinding', 'RoleBinding']);
    } else {
      expect([...roles, ...bindings]).toEqual([]);
    }
  });

  if (variant.certsJob) {
    it('the certs Job and its renewal CronJob run `certs` for this Service, Secret and webhook configuration, as the certs ServiceAccount', () => {
      const pods = r.podSpecs().filter(([name]) => !name.startsWith('Deployment'));
      expect(pods.map(([name]) => name).sort()).toEqual(['CronJob probe-injector-certs-renew', 'Job probe-injector-certs']);
      for (const [, pod] of pods) {
        expect(pod.serviceAccountName).toBe('probe-injector-certs');
        expect(['OnFailure', 'Never']).toContain(pod.restartPolicy);
        const [container] = pod.containers;
        const args: string[] = container.args;
        expect(args[0]).toBe('certs');
        expect(optionValue(args, '--service')).toBe(r.one('Service').metadata.name);
        expect(optionValue(args, '--secret')).toBe('probe-injector-tls');
        expect(optionValue(args, '--webhook-config')).toBe(r.webhookConfiguration.metadata.name);
        expect(optionValue(args, '--namespace')).toBe('$(POD_NAMESPACE)');
        expect(container.env).toContainEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
        expect(container.image).toBe(r.deployment.spec.template.spec.containers[0].image);
      }
      expect(r.one('CronJob').spec.concurrencyPolicy).toBe('Forbid');
      expect(r.one('ServiceAccount', 'probe-injector-certs')).toBeDefined();
    });
  } else {
    it('cert-manager: no certs Job, CronJob or their ServiceAccount; a Certificate for the Service names into the mounted Secret, injected as caBundle', () => {
      expect(r.all('Job')).toEqual([]);
      expect(r.all('CronJob')).toEqual([]);
      expect(r.all('ServiceAccount').map((sa) => sa.metadata.name)).toEqual(['probe-injector']);
      const annotation = r.webhookConfiguration.metadata.annotations['cert-manager.io/inject-ca-from'];
      const [namespace, name] = annotation.split('/');
      const serving = r.one('Certificate', name);
      expect(serving.metadata.namespace).toBe(namespace);
      expect(serving.spec.secretName).toBe(r.deployment.spec.template.spec.volumes.find((v: any) => v.secret)?.secret.secretName);
      const service = r.one('Service');
      expect([...serving.spec.dnsNames].sort()).toEqual(serviceDnsNames(service.metadata.name, service.metadata.namespace!).sort());
      expect(serving.spec.usages).toContain('server auth');
      expect(serving.spec.isCA ?? false).toBe(false);
      // signed by a CA Issuer whose CA is a cert-manager Certificate, itself from a self-signed Issuer
      const caIssuer = r.one('Issuer', serving.spec.issuerRef.name);
      const caCertificate = r.all('Certificate').find((certificate) => certificate.spec.secretName === caIssuer.spec.ca.secretName)!;
      expect(caCertificate.spec.isCA).toBe(true);
      expect(r.one('Issuer', caCertificate.spec.issuerRef.name).spec.selfSigned).toEqual({});
    });
  }

  it('every container runs the same image', () => {
    const images = new Set(r.podSpecs().flatMap(([, pod]) => (pod.containers as any[]).map((c) => c.image)));
    expect([...images]).toEqual(['probe-injector:0.1.0']);
  });
});

describe('the inject-by-default overlay', () => {
  it("changes nothing in config.yaml but injectByDefault", () => {
    const config = (dir: string) => parseDocument(new Rendered(render(dir)).one('ConfigMap').data['config.yaml']).toJSON();
    const base = config('manifests');
    const overlay = config('manifests/overlays/inject-by-default');
    expect(base.injectByDefault).toBe(false);
    expect(overlay).toEqual({ ...base, injectByDefault: true });
  });
});
