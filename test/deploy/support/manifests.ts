import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';

/**
 * Reading deploy/k8s the way kustomize does (a kustomization's `resources`, each file's documents)
 * and validating each object against the Kubernetes and KEDA JSON schemas that kubernetes-models
 * compiles from the API's OpenAPI documents.
 */
export const K8S_DIR = resolve(import.meta.dirname, '../../../deploy/k8s');

export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: unknown;
  [field: string]: unknown;
}

interface Validatable {
  validate(): void;
}

/** Every kind the manifests may hold, with its schema; anything else is refused by the test. */
const MODELS: Record<string, new (data: never) => Validatable> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

export interface Kustomization {
  resources?: string[];
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  secretGenerator?: Array<{ name: string; envs?: string[]; files?: string[] }>;
  namespace?: string;
}

export function readKustomization(dir: string): Kustomization {
  return parseYamlFile(join(dir, 'kustomization.yaml'))[0] as Kustomization;
}

/** The objects of a kustomization's resources, folders (other kustomizations) followed. */
export function loadResources(dir: string): Manifest[] {
  return (readKustomization(dir).resources ?? []).flatMap((entry) => {
    const path = resolve(dir, entry);
    if (existsSync(join(path, 'kustomization.yaml'))) return loadResources(path);
    return parseYamlFile(path).map((object) => ({ ...(object as Manifest), file: path }));
  });
}

function parseYamlFile(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((document) => {
    if (document.errors.length > 0) throw new Error(`${path}: ${document.errors.map((e) => e.message).join('; ')}`);
    return document.toJS() as unknown;
  });
}

/** The schema's verdict on one object: undefined when valid, else the validator's message. */
export function schemaErrors(object: Manifest): string | undefined {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) return `${object.apiVersion} ${object.kind} is not a kind these manifests use`;
  const { file: _file, ...data } = object;
  try {
    new Model(data as never).validate();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** KEY=value lines of an env file (comments and blanks skipped), as kustomize's `envs` reads them. */
export function envFileKeys(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => line.slice(0, line.indexOf('=')));
}
