import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IConfigMap, IService } from 'kubernetes-models/v1';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { durableName } from '../../src/services/events/adapters/nats/jetstream.js';
import { LEDGER_CONSUMER_NAME } from '../../src/services/ledger/index.js';
import { WEBHOOKS_CONSUMER_NAME } from '../../src/services/events/webhooks/consumer.js';
import { ROLE_NAMES } from '../../src/roles/names.js';
import { databaseLogins } from '../../src/roles/logins.js';
import type { Manifest } from './support/manifests.js';
import { K8S_DIR, envFileKeys, loadResources, readKustomization, schemaErrors } from './support/manifests.js';

/**
 * deploy/k8s (docs/deployment.md, "Kubernetes"): every object passes the Kubernetes (or KEDA) JSON
 * schema, and the properties a cluster would only reveal at the worst moment hold: each role runs
 * with probes, as non-root on a read-only root, behind a PDB that selects it; the vault is reachable
 * only from the roles that seal or open secrets; the lag scalers name the real stream and consumers.
 */
const BASE = join(K8S_DIR, 'base');
const OVERLAY = join(K8S_DIR, 'overlays/production');
/** Every role a process can run, less `all` (the one-process default). */
const ROLES = ROLE_NAMES.filter((role) => role !== 'all');
/** The Dockerfile's non-root user. */
const IMAGE_UID = 10001;

const objects = loadResources(BASE);
const ofKind = <T>(kind: string) => objects.filter((o) => o.kind === kind) as unknown as Array<T & Manifest>;
const deployments = ofKind<IDeployment>('Deployment');
const podLabels = (d: IDeployment) => d.spec?.template.metadata?.labels ?? {};
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
const deploymentOf = (role: string) => {
  const found = deployments.filter((d) => d.spec?.template.spec?.containers.some((c) => c.env?.some((e) => e.name === 'PAYRAIL_SERVICE' && e.value === role)));
  expect(found, `Deployments running role ${role}`).toHaveLength(1);
  return found[0]!;
};
const jobs = ofKind<IJob>('Job');
/** Every workload that runs a pod: the role Deployments and the migrate Job. */
const workloads: Array<(IDeployment | IJob) & Manifest> = [...deployments, ...jobs];
const secretsOf = (d: IDeployment | IJob) => {
  const pod = d.spec!.template.spec!;
  return [
    ...pod.containers.flatMap((c) => (c.envFrom ?? []).flatMap((e) => (e.secretRef ? [e.secretRef.name!] : []))),
    ...(pod.volumes ?? []).flatMap((v) => (v.secret ? [v.secret.secretName!] : [])),
  ];
};

describe('Kubernetes manifests', () => {
  it('every object passes its Kubernetes or KEDA JSON schema', () => {
    expect(objects.length).toBeGreaterThan(20);
    const invalid = objects.map((o) => ({ name: `${o.kind}/${o.metadata.name}`, error: schemaErrors(o) })).filter((r) => r.error !== undefined);
    expect(invalid).toEqual([]);
  });

  it('the schema check refuses a broken object', () => {
    const api = structuredClone(deploymentOf('api'));
    (api.spec as unknown as { replicas: string }).replicas = 'two';
    expect(schemaErrors(api)).toMatch(/replicas/);
    expect(schemaErrors({ ...api, kind: 'Deploymnet' })).toMatch(/not a kind/);
  });

  it('each role has one Deployment with readiness on /readyz and liveness on /healthz, at named ports it declares', () => {
    for (const role of ROLES) {
      for (const container of deploymentOf(role).spec!.template.spec!.containers) {
        const ports = new Set((container.ports ?? []).map((p) => p.name));
        expect(container.readinessProbe?.httpGet?.path, role).toBe('/readyz');
        expect(container.livenessProbe?.httpGet?.path, role).toBe('/healthz');
        expect(ports.has(String(container.readinessProbe?.httpGet?.port)), role).toBe(true);
        expect(ports.has(String(container.livenessProbe?.httpGet?.port)), role).toBe(true);
        expect(container.resources?.requests?.cpu, role).toBeDefined();
        expect(container.resources?.limits?.memory, role).toBeDefined();
      }
    }
  });

  it('every pod runs as the image user, non-root, on a read-only root, without privilege escalation, from a pinned image', () => {
    for (const d of workloads) {
      const pod = d.spec!.template.spec!;
      expect(pod.securityContext?.runAsNonRoot, d.metadata.name).toBe(true);
      expect(pod.securityContext?.runAsUser, d.metadata.name).toBe(IMAGE_UID);
      expect(pod.automountServiceAccountToken, d.metadata.name).toBe(false);
      for (const c of pod.containers) {
        expect(c.securityContext?.readOnlyRootFilesystem, c.name).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, c.name).toBe(false);
        expect(c.securityContext?.capabilities?.drop, c.name).toEqual(['ALL']);
        expect(c.image, c.name).toMatch(/^[^:@]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/);
        expect(c.image).not.toMatch(/:latest$/);
      }
    }
    const overlay_images = readKustomization(OVERLAY).images ?? [];
    expect(overlay_images.length).toBeGreaterThan(0);
    for (const image of overlay_images) expect(image.newTag).toMatch(/^(?!latest$)[\w.-]+$/);
    expect(readFileSync(resolve(K8S_DIR, '../../Dockerfile'), 'utf8')).toContain(`USER ${IMAGE_UID}:${IMAGE_UID}`);
  });

  it('the API runs at least two replicas and scales on CPU', () => {
    expect(deploymentOf('api').spec?.replicas).toBeGreaterThanOrEqual(2);
    const hpas = ofKind<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler');
    const api_hpa = hpas.find((h) => h.spec?.scaleTargetRef.name === deploymentOf('api').metadata.name);
    expect(api_hpa?.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    expect(api_hpa?.spec?.metrics?.map((m) => m.resource?.name)).toEqual(['cpu']);
  });

  it('each Deployment has a PodDisruptionBudget selecting its pods and no other', () => {
    const pdbs = ofKind<IPodDisruptionBudget>('PodDisruptionBudget');
    for (const d of deployments) {
      const covering = pdbs.filter((p) => selects(p.spec?.selector?.matchLabels, podLabels(d)));
      expect(
        covering.map((p) => p.metadata.name),
        d.metadata.name,
      ).toHaveLength(1);
      const others = deployments.filter((o) => o !== d && selects(covering[0]!.spec?.selector?.matchLabels, podLabels(o)));
      expect(others.map((o) => o.metadata.name)).toEqual([]);
      expect(selects(d.spec?.selector.matchLabels, podLabels(d)), `${d.metadata.name} selects its own pods`).toBe(true);
    }
  });

  it('each Service selects exactly one Deployment and targets a port its pods name', () => {
    for (const service of ofKind<IService>('Service')) {
      const targets = deployments.filter((d) => selects(service.spec?.selector, podLabels(d)));
      expect(targets, service.metadata.name).toHaveLength(1);
      const names = targets[0]!.spec!.template.spec!.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name));
      for (const port of service.spec?.ports ?? []) expect(names).toContain(port.targetPort);
    }
  });

  it('only the vault holds the card key and its database login, under its own ServiceAccount', () => {
    const vault = deploymentOf('vault');
    expect(vault.spec?.template.spec?.serviceAccountName).toBe('payrail-vault');
    expect(secretsOf(vault)).toEqual(expect.arrayContaining(['payrail-kms', 'payrail-vault-database', 'payrail-vault-tls']));
    for (const d of deployments.filter((o) => o !== vault)) {
      expect(d.spec?.template.spec?.serviceAccountName, d.metadata.name).not.toBe('payrail-vault');
      expect(secretsOf(d), d.metadata.name).not.toEqual(expect.arrayContaining(['payrail-kms']));
      expect(secretsOf(d), d.metadata.name).not.toEqual(expect.arrayContaining(['payrail-vault-database']));
    }
  });

  it('only the migrate Job holds the owner login; each role pod holds exactly the logins its role needs, and does not migrate', () => {
    const generators = new Map((readKustomization(OVERLAY).secretGenerator ?? []).map((g) => [g.name, g]));
    const loginsOf = (w: IDeployment | IJob) =>
      secretsOf(w)
        .flatMap((name) => (generators.get(name)?.envs ?? []).flatMap((env) => envFileKeys(join(OVERLAY, `${env}.example`))))
        .filter((key) => key.endsWith('DATABASE_URL'))
        .sort();
    expect(jobs.map((j) => j.metadata.name)).toEqual(['payrail-migrate']);
    const [migrate] = jobs[0]!.spec!.template.spec!.containers;
    expect(migrate?.command?.slice(-2)).toEqual(['dist/cli.js', 'migrate']);
    expect(loginsOf(jobs[0]!)).toContain('DATABASE_URL');
    const config = ofKind<IConfigMap>('ConfigMap').find((c) => c.metadata.name === 'payrail-config');
    expect(config?.data?.PAYRAIL_MIGRATE).toBe('off');
    for (const role of ROLES) {
      const [container] = deploymentOf(role).spec!.template.spec!.containers;
      const vault_url = container!.env?.find((e) => e.name === 'PAYRAIL_VAULT_URL')?.value;
      const needed = databaseLogins(role, { vault_url }).map((login) => `PAYRAIL_${login.toUpperCase()}_DATABASE_URL`);
      expect(loginsOf(deploymentOf(role)), role).toEqual(needed.sort());
      expect(
        container!.env?.some((e) => e.name === 'PAYRAIL_MIGRATE' || e.name === 'DATABASE_URL'),
        role,
      ).toBe(false);
    }
  });

  it('the vault serves mutual TLS on PORT, its vault port, and its probes on PAYRAIL_HEALTH_PORT, its http port', () => {
    const [container] = deploymentOf('vault').spec!.template.spec!.containers;
    const env = new Map((container!.env ?? []).map((e) => [e.name, e.value]));
    const port = (name: string) => String(container!.ports?.find((p) => p.name === name)?.containerPort);
    expect(env.get('PORT')).toBe(port('vault'));
    expect(env.get('PAYRAIL_HEALTH_PORT')).toBe(port('http'));
  });

  it("the vault's NetworkPolicy lets only the roles that seal or open secrets reach its port", () => {
    const vault = deploymentOf('vault');
    const policies = ofKind<INetworkPolicy>('NetworkPolicy').filter((p) => selects(p.spec?.podSelector?.matchLabels, podLabels(vault)));
    expect(policies).toHaveLength(1);
    const rules = policies[0]!.spec!.ingress!.filter((rule) => rule.ports?.some((p) => p.port === 'vault'));
    const allowed = rules.flatMap((rule) => (rule.from ?? []).map((peer) => peer.podSelector?.matchLabels));
    expect(rules.every((rule) => (rule.from ?? []).every((peer) => peer.namespaceSelector === undefined && peer.ipBlock === undefined))).toBe(true);
    const reaching = deployments.filter((d) => allowed.some((labels) => selects(labels, podLabels(d))));
    const callers = ['api', 'scheduler', 'webhooks'].map((role) => deploymentOf(role).metadata.name);
    expect(reaching.map((d) => d.metadata.name).sort()).toEqual(callers.sort());
  });

  it('the risk pods serve mutual TLS on PORT and probes on PAYRAIL_HEALTH_PORT; the API scores through their Service', () => {
    const [container] = deploymentOf('risk').spec!.template.spec!.containers;
    const env = new Map((container!.env ?? []).map((e) => [e.name, e.value]));
    const port = (name: string) => String(container!.ports?.find((p) => p.name === name)?.containerPort);
    expect(env.get('PORT')).toBe(port('risk'));
    expect(env.get('PAYRAIL_HEALTH_PORT')).toBe(port('http'));
    const service = ofKind<IService>('Service').find((s) => selects(s.spec?.selector, podLabels(deploymentOf('risk'))));
    const risk_url = deploymentOf('api').spec!.template.spec!.containers[0]!.env?.find((e) => e.name === 'PAYRAIL_RISK_URL')?.value;
    expect(risk_url).toBe(`https://${service?.metadata.name}:${service?.spec?.ports?.find((p) => p.targetPort === 'risk')?.port}`);
  });

  it('the risk NetworkPolicy lets only the API reach its port', () => {
    const risk = deploymentOf('risk');
    const policies = ofKind<INetworkPolicy>('NetworkPolicy').filter((p) => selects(p.spec?.podSelector?.matchLabels, podLabels(risk)));
    expect(policies).toHaveLength(1);
    const rules = policies[0]!.spec!.ingress!.filter((rule) => rule.ports?.some((p) => p.port === 'risk'));
    const allowed = rules.flatMap((rule) => (rule.from ?? []).map((peer) => peer.podSelector?.matchLabels));
    expect(rules.every((rule) => (rule.from ?? []).every((peer) => peer.namespaceSelector === undefined && peer.ipBlock === undefined))).toBe(true);
    const reaching = deployments.filter((d) => allowed.some((labels) => selects(labels, podLabels(d))));
    expect(reaching.map((d) => d.metadata.name)).toEqual([deploymentOf('api').metadata.name]);
  });

  it("KEDA scales the ledger and webhooks consumers on the lag of Payrail's real stream and durable consumers", () => {
    const config = ofKind<IConfigMap>('ConfigMap').find((c) => c.metadata.name === 'payrail-config');
    const stream = config?.data?.PAYRAIL_NATS_STREAM;
    expect(stream).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    const scaled = ofKind<IScaledObject>('ScaledObject');
    const expected = { ledger: durableName(LEDGER_CONSUMER_NAME), webhooks: durableName(WEBHOOKS_CONSUMER_NAME) };
    for (const [role, consumer] of Object.entries(expected)) {
      const target = deploymentOf(role).metadata.name;
      const object = scaled.find((s) => s.spec?.scaleTargetRef.name === target);
      expect(object, role).toBeDefined();
      expect(object!.spec.minReplicaCount, 'a standby to take the lead').toBeGreaterThanOrEqual(2);
      expect(object!.spec.triggers).toHaveLength(1);
      const [trigger] = object!.spec.triggers;
      expect(trigger?.type).toBe('nats-jetstream');
      expect(trigger?.metadata).toMatchObject({ stream, consumer });
    }
    for (const s of scaled) expect(deployments.map((d) => d.metadata.name)).toContain(s.spec?.scaleTargetRef.name);
  });

  it('every Secret a pod uses is generated by the overlay from a file with a committed example, and no secret sits in the ConfigMap', () => {
    const generators = new Map((readKustomization(OVERLAY).secretGenerator ?? []).map((g) => [g.name, g]));
    for (const name of new Set(workloads.flatMap(secretsOf))) {
      const generator = generators.get(name);
      expect(generator, name).toBeDefined();
      for (const env of generator!.envs ?? []) expect(envFileKeys(join(OVERLAY, `${env}.example`)).length, env).toBeGreaterThan(0);
      for (const file of generator!.files ?? []) expect(file).toMatch(/^[\w.]+=secrets\//);
    }
    for (const config of ofKind<IConfigMap>('ConfigMap')) {
      for (const [key, value] of Object.entries(config.data ?? {})) {
        expect(key).not.toMatch(/URL|TOKEN|SECRET|PASSWORD|_KEY$/);
        expect(value).not.toMatch(/:\/\/[^/]*:[^/]*@/);
      }
    }
    expect(existsSync(join(OVERLAY, 'secrets/.gitignore'))).toBe(true);
  });

  it('every setting the manifests give a pod is one Payrail reads', () => {
    const given = new Set<string>();
    for (const d of workloads) for (const c of d.spec!.template.spec!.containers) for (const e of c.env ?? []) given.add(e.name);
    for (const c of ofKind<IConfigMap>('ConfigMap')) for (const key of Object.keys(c.data ?? {})) given.add(key);
    for (const g of readKustomization(OVERLAY).secretGenerator ?? [])
      for (const env of g.envs ?? []) for (const key of envFileKeys(join(OVERLAY, `${env}.example`))) given.add(key);
    const unread = [...given].filter((name) => !sourceMentions(name));
    expect(unread).toEqual([]);
  });
});

/** Whether src/ names the setting: a misspelt one in a manifest is otherwise silently ignored. */
function sourceMentions(name: string): boolean {
  return spawnSync('grep', ['-rqF', '--include=*.ts', name, resolve(K8S_DIR, '../../src')]).status === 0;
}
