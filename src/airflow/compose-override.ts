// --local-dev: `astro dev` containers get the user's AWS configuration, read-only, with the
// profile, through docker-compose.override.yml (which `astro dev` merges over its own compose
// file). Only services astro-cli's compose file has are named (airflow/include/airflow{2,3}/
// composeyml.go.tmpl): a service that exists only in an override has no image and breaks
// `astro dev start`. Everything already in the file is kept; comments too (yaml Document API).
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { KpoError } from '../errors.js';
import { runtimeFromDockerfile } from './astro-runtime.js';

export const COMPOSE_OVERRIDE = 'docker-compose.override.yml';
const AIRFLOW_HOME = '/usr/local/airflow';
const AWS_DIR = `${AIRFLOW_HOME}/.aws`;
/** The bind mount: `${HOME}` is interpolated by docker compose on the user's machine. */
export const AWS_MOUNT = `\${HOME}/.aws:${AWS_DIR}:ro`;

/** Airflow's major version from the project's Dockerfile, read the one way the provider floor
 * reads it (runtimeFromDockerfile: the last FROM, both registries' Runtime images). */
export function airflowMajor(dockerfile: string | undefined): 2 | 3 | undefined {
  const rt = runtimeFromDockerfile(dockerfile);
  return rt && 'airflowMajor' in rt ? rt.airflowMajor : undefined;
}

/** Services that run Airflow code in `astro dev`, as astro-cli's compose file names them. */
export function airflowServices(major: 2 | 3 | undefined): string[] {
  if (major === 3) return ['scheduler', 'dag-processor', 'api-server', 'triggerer'];
  if (major === 2) return ['scheduler', 'webserver', 'triggerer'];
  return ['scheduler', 'triggerer']; // in both: tasks run in the scheduler (LocalExecutor)
}

export function awsEnvironment(profile: string | undefined): Record<string, string> {
  return {
    AWS_CONFIG_FILE: `${AWS_DIR}/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${AWS_DIR}/credentials`,
    ...(profile ? { AWS_PROFILE: profile } : {}),
  };
}

function ensureMap(doc: Document, path: string[]): void {
  const node = doc.getIn(path, true);
  if (node === undefined || node === null) doc.setIn(path, doc.createNode({}));
  else if (!isMap(node)) throw new KpoError('COMPOSE_OVERRIDE_INVALID', `${COMPOSE_OVERRIDE}: ${path.join('.')} is not a mapping, so the AWS settings cannot be merged in.`, `Fix the file by hand or move it aside, then run again. It was not changed.`);
}

/** The merged file, or undefined when it already has everything (no write needed). */
export function mergeComposeOverride(current: string | undefined, services: readonly string[], env: Record<string, string>): string | undefined {
  // A new (or empty) file starts as an empty document, not '{}': that would make every map we add
  // flow style, the whole file on one line.
  const doc = parseDocument(current ?? '');
  if (doc.errors.length) throw new KpoError('COMPOSE_OVERRIDE_INVALID', `${COMPOSE_OVERRIDE} is not valid YAML: ${doc.errors[0]!.message}`, 'Fix it, then run again. It was not changed.');
  let changed = false;
  ensureMap(doc, ['services']);
  for (const svc of services) {
    ensureMap(doc, ['services', svc]);
    const vols = doc.getIn(['services', svc, 'volumes'], true);
    if (vols === undefined || vols === null) {
      doc.setIn(['services', svc, 'volumes'], doc.createNode([AWS_MOUNT]));
      changed = true;
    } else if (isSeq(vols)) {
      const has = vols.items.some((i) => String((i as { value?: unknown }).value ?? i).split(':')[1] === AWS_DIR);
      if (!has) {
        vols.add(doc.createNode(AWS_MOUNT));
        changed = true;
      }
    } else throw new KpoError('COMPOSE_OVERRIDE_INVALID', `${COMPOSE_OVERRIDE}: services.${svc}.volumes is not a list.`, 'Fix it, then run again. It was not changed.');
    const envNode = doc.getIn(['services', svc, 'environment'], true);
    if (isSeq(envNode)) {
      // List form (KEY=VALUE): replace our keys, keep the rest.
      for (const [k, v] of Object.entries(env)) {
        const idx = envNode.items.findIndex((i) => String((i as { value?: unknown }).value ?? i).split('=')[0] === k);
        if (idx >= 0 && String((envNode.items[idx] as { value?: unknown }).value) === `${k}=${v}`) continue;
        if (idx >= 0) envNode.items.splice(idx, 1);
        envNode.add(doc.createNode(`${k}=${v}`));
        changed = true;
      }
    } else {
      ensureMap(doc, ['services', svc, 'environment']);
      for (const [k, v] of Object.entries(env)) {
        if (doc.getIn(['services', svc, 'environment', k]) === v) continue;
        doc.setIn(['services', svc, 'environment', k], v);
        changed = true;
      }
    }
  }
  return changed ? doc.toString() : undefined;
}
