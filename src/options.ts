// The flag table for `init` (and `verify`, which takes the same flags). Names are part of the
// interface: scripts and other commands depend on them.
import type { InputKey } from './types.js';

export interface FlagSpec {
  /** commander flag syntax. */
  flags: string;
  description: string;
  /** Shown in --help; the real default is applied in resolveInputs (it can depend on env). */
  defaultText?: string;
  /** Which Inputs field it feeds, if any. */
  input?: InputKey;
  /** Environment variable consulted when the flag is absent. */
  env?: string;
  /** May be given more than once: commander collects the values into an array. */
  repeatable?: boolean;
}

export const DEFAULTS = {
  clusterName: 'remote-kpo-demo',
  region: 'us-east-1',
  namespace: 'astro-remote-kpo',
  k8sRole: 'astro-remote-kpo-role',
  k8sUser: 'AstroRemoteKPO',
  iamRole: 'AstroRemoteKPO',
  authMode: 'auto',
  permissions: 'scoped',
  connId: 'aws_eks',
  projectDir: '.',
} as const;

export const INPUT_FLAGS: FlagSpec[] = [
  { flags: '--workload-identity <arn>', input: 'workloadIdentities', env: 'ASTRO_WORKLOAD_IDENTITY', repeatable: true, description: "an Astro Deployment's workload identity role ARN; repeat for several (default: read from each --astro-deployment-id with the astro CLI)" },
  { flags: '--cluster-name <name>', input: 'clusterName', defaultText: DEFAULTS.clusterName, description: 'EKS cluster to use, created with eksctl if it does not exist' },
  { flags: '--region <region>', input: 'region', defaultText: 'AWS_REGION, the profile\'s region, or us-east-1', description: 'AWS region of the cluster' },
  { flags: '--profile <name>', input: 'profile', env: 'AWS_PROFILE', description: 'AWS profile for credentials' },
  { flags: '--kube-context <name>', input: 'kubeContext', description: 'kubeconfig context to use (default: the one whose server is the cluster endpoint)' },
  { flags: '--namespace <name>', input: 'namespace', defaultText: DEFAULTS.namespace, description: 'namespace the pods run in' },
  { flags: '--k8s-role <name>', input: 'k8sRole', defaultText: DEFAULTS.k8sRole, description: 'Kubernetes Role granting the pod permissions' },
  { flags: '--k8s-user <name>', input: 'k8sUser', defaultText: DEFAULTS.k8sUser, description: 'Kubernetes user the IAM role maps to' },
  { flags: '--iam-role <name>', input: 'iamRole', defaultText: DEFAULTS.iamRole, description: 'IAM role Airflow assumes' },
  { flags: '--auth-mode <mode>', input: 'authMode', defaultText: DEFAULTS.authMode, description: 'identity mapping: auto | access-entry | aws-auth' },
  { flags: '--permissions <set>', input: 'permissions', defaultText: DEFAULTS.permissions, description: "IAM role permissions: scoped (eks:DescribeCluster on this cluster) | seed (the seed README's three managed policies)" },
  { flags: '--conn-id <id>', input: 'connId', defaultText: DEFAULTS.connId, description: 'Airflow connection id' },
  { flags: '--cluster-config <file>', input: 'clusterConfig', description: 'eksctl ClusterConfig to create the cluster with (default: rendered into k8s/cluster.yaml)' },
  { flags: '--astro-deployment-id <id>', input: 'astroDeploymentIds', repeatable: true, description: 'an Astro Deployment to trust and to create the connection on with the astro CLI; repeat for several' },
  { flags: '--local-dev', input: 'localDev', description: 'also trust your own AWS identity and give `astro dev` containers your ~/.aws (read-only), to test locally' },
];

export const RUN_FLAGS: FlagSpec[] = [
  { flags: '--project-dir <dir>', defaultText: DEFAULTS.projectDir, description: 'Astro project to write state, manifests, DAGs and the connection into' },
  { flags: '--from <stage>', description: 're-run this stage (id or number) and every stage after it' },
  { flags: '--only <stage>', description: 're-run just this stage (id or number); the ones it needs must be done' },
  { flags: '--dry-run', description: 'make no change anywhere; print the full plan' },
  { flags: '-y, --yes', description: 'answer yes to confirmations (implies --non-interactive)' },
  { flags: '--non-interactive', description: 'never prompt: take values from flags, environment and defaults (implied by CI or no TTY)' },
  { flags: '--switch-context', description: "make the chosen context the kubeconfig's current-context" },
  { flags: '--force', description: 'overwrite project files you changed (non-interactive)' },
  { flags: '--json', description: 'print one JSON document on stdout and nothing else there' },
  { flags: '--no-color', description: 'no colors (NO_COLOR is honoured too)' },
];

/** Raw values commander hands back (camelCase of the long flag). */
export interface RawOptions {
  workloadIdentity?: string[];
  clusterName?: string;
  region?: string;
  profile?: string;
  kubeContext?: string;
  namespace?: string;
  k8sRole?: string;
  k8sUser?: string;
  iamRole?: string;
  authMode?: string;
  permissions?: string;
  connId?: string;
  clusterConfig?: string;
  astroDeploymentId?: string[];
  localDev?: boolean;
  projectDir?: string;
  from?: string;
  only?: string;
  dryRun?: boolean;
  yes?: boolean;
  nonInteractive?: boolean;
  switchContext?: boolean;
  force?: boolean;
  /** destroy only */
  deleteNamespace?: boolean;
  deleteCluster?: boolean;
  json?: boolean;
  color?: boolean;
}
