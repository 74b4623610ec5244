// What `demo` runs in: the simulation (src/sim/cloud.ts) started in this process, a throwaway
// Astro project as `astro dev init` writes it, the stand-in eksctl behind a shim, and the
// environment the real CLI runs with as a child. All of it inside one temp folder; the
// environment is built from scratch, never copied from the user's, so no AWS or kube setting of
// theirs (credentials, profile, AWS_ENDPOINT_URL*, KUBECONFIG) can reach a child.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ASTRO_HEADER, ASTRO_PLACEHOLDERS } from '../airflow/settings-file.js';
import { packageFile } from '../package-file.js';
import { shellQuote } from '../shell-quote.js';
import { startSimCloud, type SimCloud } from './cloud.js';
import { SYSTEM_NAMESPACES } from './kube/fake-kube.js';

/** The Astro Deployment's workload identity: a role the simulation makes up front, as Astro would. */
export const DEMO_IDENTITY_ROLE = 'astro-demo-deployment';
/** eksctl's create shortened from ~15 minutes to a few seconds. */
export const DEMO_EKSCTL_MS = 2500;

// The files of a Runtime 3 project as `astro dev init` writes them (astro-cli's
// airflow/include/airflow3/dockerfile and settingsyml.yml), trimmed to what init reads.
const DOCKERFILE = 'FROM air.astronomer.io/runtime:3.1-3\n';
const AIRFLOW_SETTINGS = `${ASTRO_HEADER}airflow:
  connections:
    - conn_id:
      conn_type:
      conn_host:
      conn_schema:
      conn_login:
      conn_password:
      conn_port:
      conn_extra:
        example_extra_field: example-value
${ASTRO_PLACEHOLDERS}`;

/** Variables a child may take from the demo's own environment: the terminal and the locale. */
const PASS_THROUGH = /^(TERM|COLUMNS|LINES|NO_COLOR|FORCE_COLOR|LANG|LC_[A-Z_]+)$/;

export interface DemoWorld {
  cloud: SimCloud;
  projectDir: string;
  workloadIdentity: string;
  /** The environment of every child: nothing of the user's but PASS_THROUGH. */
  env: Record<string, string>;
  /** What the simulation holds that it did not hold before init: [] when destroy left nothing. */
  leftovers(): string[];
  stop(): Promise<void>;
}

export async function startDemoWorld(root: string, own: Readonly<Record<string, string | undefined>>): Promise<DemoWorld> {
  const binDir = path.join(root, 'bin');
  const projectDir = path.join(root, 'project');
  await mkdir(binDir, { recursive: true });
  await mkdir(path.join(projectDir, 'dags'), { recursive: true });
  await mkdir(path.join(projectDir, '.astro'), { recursive: true });
  await writeFile(path.join(projectDir, 'Dockerfile'), DOCKERFILE);
  await writeFile(path.join(projectDir, 'requirements.txt'), '');
  await writeFile(path.join(projectDir, 'airflow_settings.yaml'), AIRFLOW_SETTINGS);
  await writeFile(path.join(projectDir, '.astro', 'config.yaml'), 'project:\n  name: project\n');
  // The stand-in eksctl, on the children's PATH only: a shim here, never anywhere else.
  const eksctl = fileURLToPath(packageFile('dist/sim-eksctl.js'));
  await writeFile(path.join(binDir, 'eksctl'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(eksctl)} "$@"\n`);
  await chmod(path.join(binDir, 'eksctl'), 0o755);

  const cloud = await startSimCloud({ dir: path.join(root, 'sim'), pathDirs: [binDir], eksctlDurationMs: DEMO_EKSCTL_MS, adminUserName: 'demo-admin' });
  const identity = cloud.aws.createRole({
    name: DEMO_IDENTITY_ROLE,
    trustPolicy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${cloud.accountId}:root` }, Action: 'sts:AssumeRole' }] },
    description: 'The simulated Astro Deployment workload identity',
  });

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(own)) if (v !== undefined && PASS_THROUGH.test(k)) env[k] = v;
  Object.assign(env, cloud.env, {
    // The SDK's shared files, inside the temp folder (they do not exist: no profile to find).
    AWS_CONFIG_FILE: path.join(cloud.home, '.aws', 'config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(cloud.home, '.aws', 'credentials'),
  });

  const snapshot = () => ({
    roles: new Set(cloud.aws.roles.keys()),
    clusters: new Set(cloud.aws.eks.clusters.keys()),
    oidc: new Set(cloud.aws.oidcProviders().map((p) => p.arn)),
  });
  const before = snapshot();
  return {
    cloud,
    projectDir,
    workloadIdentity: identity.arn,
    env,
    leftovers() {
      const now = snapshot();
      const left: string[] = [];
      for (const r of now.roles) if (!before.roles.has(r)) left.push(`IAM role ${r}`);
      for (const p of now.oidc) if (!before.oidc.has(p)) left.push(`IAM OIDC provider ${p}`);
      for (const c of now.clusters) {
        left.push(`EKS cluster ${c}`);
        for (const e of cloud.aws.accessEntries(c)) left.push(`  access entry ${e.principalArn}`);
        for (const ns of cloud.kubeOf(c).list('Namespace')) {
          const name = ns.metadata?.name ?? '';
          if (!SYSTEM_NAMESPACES.includes(name)) left.push(`  namespace ${name}`);
        }
      }
      return left;
    },
    stop: () => cloud.stop(),
  };
}
