// What the project-files stage writes into the Astro project, and how it tells our files from the
// user's: we remember the sha256 of what we last wrote, so a file that matches neither that nor
// what we would write now was changed by the user and is never overwritten silently.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { namespaceObject, permissionsPolicy, roleBindingObject, roleObject, trustPolicy } from '../desired.js';
import { packageFile } from '../package-file.js';
import type { Inputs } from '../types.js';
import { writeFileAtomic } from '../write-files.js';
import { guessRoleArn } from './deployed-connection.js';
import { readTextIfExists, sha256 } from './files.js';
import { AMAZON_FLOOR_AIRFLOW, AMAZON_REQUIREMENT, CNCF_REQUIREMENT } from './provider-floor.js';
import { fromsRuntimeImage } from './astro-runtime.js';

export interface ProjectFile {
  /** Relative to the project, '/'-separated (also the key in the hash store). */
  path: string;
  content: string;
}

export const DAG_FILES = ['remote_kpo.py', 'test_eks_connectivity.py'] as const;

/** Lines a DAG has beyond the shared defaults: the test DAG names the role (for the command it
 * prints when the connection is missing) and the requirements.txt lines it tells the user to add,
 * the very lines provider-floor.ts writes there, so the two cannot drift. */
/** The inputs the files are filled with. */
export type ProjectFileInputs = Pick<
  Inputs,
  'clusterName' | 'region' | 'namespace' | 'k8sRole' | 'k8sUser' | 'workloadIdentities' | 'permissions' | 'connId' | 'iamRole' | 'podPolicyArns' | 'podServiceAccount' | 'podRole'
>;

const DAG_EXTRA: Partial<Record<(typeof DAG_FILES)[number], (inputs: ProjectFileInputs, accountId: string) => Record<string, string>>> = {
  'test_eks_connectivity.py': (inputs, accountId) => ({
    ROLE_ARN: guessRoleArn(inputs.region, inputs.iamRole, accountId),
    AMAZON_REQUIREMENT,
    AMAZON_FLOOR_AIRFLOW,
    CNCF_REQUIREMENT,
  }),
};

/** The defaults block at the top of each DAG: NAME = "value" lines, rewritten one by one. The
 * pods' ServiceAccount and role name are "" while the feature is off (no --pod-policy-arn): then
 * remote_kpo runs its pod as the namespace's default ServiceAccount, as before. */
export function dagDefaults(inputs: Pick<Inputs, 'clusterName' | 'region' | 'namespace' | 'connId' | 'podPolicyArns' | 'podServiceAccount' | 'podRole'>): Record<string, string> {
  const pods = inputs.podPolicyArns.length > 0;
  return {
    CLUSTER_NAME: inputs.clusterName,
    REGION: inputs.region,
    NAMESPACE: inputs.namespace,
    CONN_ID: inputs.connId,
    POD_SERVICE_ACCOUNT: pods ? inputs.podServiceAccount : '',
    POD_ROLE_NAME: pods ? inputs.podRole : '',
  };
}

/** Replaces exactly the defaults lines; every other byte of the template stays as it is. */
export function renderDag(template: string, defaults: Record<string, string>, name: string): string {
  let out = template;
  for (const [key, value] of Object.entries(defaults)) {
    const line = new RegExp(`^${key} = .*$`, 'gm');
    const hits = template.match(line)?.length ?? 0;
    if (hits !== 1) throw new Error(`internal: dags/${name} has ${hits} "${key} = ..." lines, expected 1`);
    // A JSON string is a valid Python string literal (the values are validated names anyway).
    out = out.replace(line, () => `${key} = ${JSON.stringify(value)}`);
  }
  return out;
}

export async function readDagTemplate(name: string): Promise<string> {
  return readFile(packageFile(`dags/${name}`), 'utf8');
}

function manifest(what: string, file: string, obj: object): string {
  return `# ${what}, exactly as astro-remote-kpo applies it: \`kubectl apply -f k8s/${file}\` reproduces it.\n${stringify(obj, { lineWidth: 0 })}`;
}

const json = (obj: object) => `${JSON.stringify(obj, null, 2)}\n`;

/** Every file, filled with the chosen names. `accountId` is needed for the permissions policy. */
export async function desiredProjectFiles(inputs: ProjectFileInputs, accountId: string, clusterConfig: string): Promise<ProjectFile[]> {
  const files: ProjectFile[] = [
    { path: 'k8s/cluster.yaml', content: clusterConfig },
    { path: 'k8s/namespace.yaml', content: manifest('The namespace the pods run in', 'namespace.yaml', namespaceObject(inputs)) },
    { path: 'k8s/role.yaml', content: manifest('The Role EksPodOperator needs in its namespace', 'role.yaml', roleObject(inputs)) },
    {
      path: 'k8s/role-binding.yaml',
      content: manifest(`The RoleBinding of that Role to the user ${inputs.k8sUser} the IAM role maps to`, 'role-binding.yaml', roleBindingObject(inputs)),
    },
    { path: 'k8s/iam-assume-role-policy.json', content: json(trustPolicy(inputs.workloadIdentities)) },
  ];
  // --permissions seed attaches the seed's managed policies instead of this inline one.
  if (inputs.permissions === 'scoped') files.push({ path: 'k8s/iam-permissions-policy.json', content: json(permissionsPolicy(inputs, accountId)) });
  for (const name of DAG_FILES) {
    files.push({ path: `dags/${name}`, content: renderDag(await readDagTemplate(name), { ...dagDefaults(inputs), ...DAG_EXTRA[name]?.(inputs, accountId) }, name) });
  }
  return files;
}

/** A Dockerfile FROM an Astro Runtime image, or an .astro/ folder (what `astro dev init` makes).
 * `dockerfile`: the Dockerfile's text as the caller read it (undefined: there is none). */
export async function isAstroProject(dir: string, dockerfile: string | undefined): Promise<boolean> {
  if (dockerfile && fromsRuntimeImage(dockerfile)) return true;
  return stat(path.join(dir, '.astro')).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export const STATE_IGNORE = '.astro-remote-kpo/';

/** An ignore file with our state dir appended (once), or undefined when it is already there.
 * Only appends: every existing byte stays, and the file's own line ending (CRLF) is used. */
function ignoreWithState(text: string | undefined, comment: string): string | undefined {
  const present = (text ?? '').split(/\r?\n/).some((l) => ['.astro-remote-kpo', '.astro-remote-kpo/', '/.astro-remote-kpo', '/.astro-remote-kpo/', '.astro-remote-kpo/**'].includes(l.trim()));
  if (present) return undefined;
  const base = text ?? '';
  const eol = base.includes('\r\n') ? '\r\n' : '\n';
  return `${base}${base && !base.endsWith('\n') ? eol : ''}# ${comment}${eol}${STATE_IGNORE}${eol}`;
}

/** .dockerignore with our state dir added (once), or undefined when it is already there. */
export function dockerignoreWithState(text: string | undefined): string | undefined {
  return ignoreWithState(text, 'astro-remote-kpo state (never ship it in the image)');
}

/** .gitignore likewise: state, logs and aws-auth backups are local to this machine. */
export function gitignoreWithState(text: string | undefined): string | undefined {
  return ignoreWithState(text, 'astro-remote-kpo state, logs and backups (local to this machine)');
}

export type FileStatus = 'create' | 'update' | 'same' | 'changed';

/** create: absent; same: already the desired text; update: ours (last written) and stale;
 * changed: differs from both what we would write and what we last wrote — the user's edit. */
export function classify(current: string | undefined, desired: string, lastHash: string | undefined): FileStatus {
  if (current === undefined) return 'create';
  if (current === desired) return 'same';
  return lastHash !== undefined && sha256(current) === lastHash ? 'update' : 'changed';
}

/** Hashes of what we last wrote, kept beside state.json so they survive a stage re-run whose
 * inputs changed (the engine drops that stage's recorded outputs then). */
export function hashStoreFile(stateDir: string): string {
  return path.join(stateDir, 'project-files.json');
}

export async function readHashStore(stateDir: string): Promise<Record<string, string>> {
  const text = await readTextIfExists(hashStoreFile(stateDir)).catch(() => undefined);
  try {
    const parsed = text ? (JSON.parse(text) as { files?: unknown }) : undefined;
    const files = parsed?.files;
    if (files && typeof files === 'object' && !Array.isArray(files)) {
      return Object.fromEntries(Object.entries(files).filter((e): e is [string, string] => typeof e[1] === 'string'));
    }
  } catch {
    // a damaged store only means we treat differing files as the user's: the safe side
  }
  return {};
}

export async function writeHashStore(stateDir: string, files: Record<string, string>): Promise<void> {
  await writeFileAtomic(hashStoreFile(stateDir), `${JSON.stringify({ files }, null, 2)}\n`, { private: true });
}
