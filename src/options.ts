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
  /** The flag's help in verify's and destroy's own words (they check or remove; they never create). */
  otherCommands?: Partial<Record<'verify' | 'destroy', string>>;
}

const FROM_STATE = '(default: what init recorded in state.json)';

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
  podIdentity: 'auto',
  podRole: 'AstroRemoteKPOPods',
  podServiceAccount: 'astro-remote-kpo-pods',
} as const;

export const INPUT_FLAGS: FlagSpec[] = [
  { flags: '--workload-identity <arn>', otherCommands: { verify: `the Astro Deployment's workload identity role ARN; repeat for several ${FROM_STATE}`, destroy: `the workload identities init added to the role's trust policy ${FROM_STATE}` }, input: 'workloadIdentities', env: 'ASTRO_WORKLOAD_IDENTITY', repeatable: true, description: "an Astro Deployment's workload identity role ARN; repeat for several (default: read from each --astro-deployment-id with the astro CLI)" },
  { flags: '--cluster-name <name>', otherCommands: { verify: `EKS cluster to check ${FROM_STATE}`, destroy: `EKS cluster to remove the setup from ${FROM_STATE}` }, input: 'clusterName', defaultText: DEFAULTS.clusterName, description: 'EKS cluster to use, created with eksctl if it does not exist' },
  { flags: '--region <region>', otherCommands: { verify: `AWS region of the cluster ${FROM_STATE}`, destroy: `AWS region of the cluster ${FROM_STATE}` }, input: 'region', defaultText: 'AWS_REGION, the profile\'s region, or us-east-1', description: 'AWS region of the cluster' },
  { flags: '--profile <name>', input: 'profile', env: 'AWS_PROFILE', description: 'AWS profile for credentials' },
  { flags: '--kube-context <name>', input: 'kubeContext', description: 'kubeconfig context to use (default: the one whose server is the cluster endpoint)' },
  { flags: '--namespace <name>', otherCommands: { verify: `namespace to check ${FROM_STATE}`, destroy: `namespace init set up ${FROM_STATE}` }, input: 'namespace', defaultText: DEFAULTS.namespace, description: 'namespace the pods run in' },
  { flags: '--k8s-role <name>', otherCommands: { verify: `Kubernetes Role to check ${FROM_STATE}`, destroy: `Kubernetes Role to delete ${FROM_STATE}` }, input: 'k8sRole', defaultText: DEFAULTS.k8sRole, description: 'Kubernetes Role granting the pod permissions' },
  { flags: '--k8s-user <name>', otherCommands: { verify: `Kubernetes user the IAM role should map to ${FROM_STATE}`, destroy: `Kubernetes user of the mapping to remove ${FROM_STATE}` }, input: 'k8sUser', defaultText: DEFAULTS.k8sUser, description: 'Kubernetes user the IAM role maps to' },
  { flags: '--iam-role <name>', otherCommands: { verify: `IAM role Airflow assumes ${FROM_STATE}`, destroy: `IAM role to delete (only if init created it) ${FROM_STATE}` }, input: 'iamRole', defaultText: DEFAULTS.iamRole, description: 'IAM role Airflow assumes' },
  { flags: '--auth-mode <mode>', otherCommands: { verify: `identity mapping to check: auto | access-entry | aws-auth ${FROM_STATE}`, destroy: `identity mapping to remove: auto | access-entry | aws-auth ${FROM_STATE}` }, input: 'authMode', defaultText: DEFAULTS.authMode, description: 'identity mapping: auto | access-entry | aws-auth' },
  { flags: '--permissions <set>', otherCommands: { verify: `IAM role permissions to expect: scoped | seed ${FROM_STATE}`, destroy: `IAM role permissions init attached: scoped | seed ${FROM_STATE}` }, input: 'permissions', defaultText: DEFAULTS.permissions, description: "IAM role permissions: scoped (eks:DescribeCluster on this cluster) | seed (the seed README's three managed policies)" },
  { flags: '--conn-id <id>', otherCommands: { verify: `Airflow connection id to check ${FROM_STATE}`, destroy: `Airflow connection id ${FROM_STATE}` }, input: 'connId', defaultText: DEFAULTS.connId, description: 'Airflow connection id' },
  { flags: '--cluster-config <file>', input: 'clusterConfig', description: 'eksctl ClusterConfig to create the cluster with (default: rendered into k8s/cluster.yaml)' },
  { flags: '--astro-deployment-id <id>', otherCommands: { verify: `Astro Deployment whose connection to check; repeat for several ${FROM_STATE}`, destroy: `Astro Deployment ${FROM_STATE}` }, input: 'astroDeploymentIds', repeatable: true, description: 'an Astro Deployment to trust and to create the connection on with the astro CLI; repeat for several' },
  { flags: '--local-dev', input: 'localDev', description: 'also trust your own AWS identity and give `astro dev` containers your ~/.aws (read-only), to test locally' },
  { flags: '--pod-policy-arn <arn>', otherCommands: { verify: `an IAM policy the task pods' role should have; repeat for several ${FROM_STATE}`, destroy: `an IAM policy init attached to the task pods' role; given, destroy also looks for what init set up for the pods ${FROM_STATE}` }, input: 'podPolicyArns', repeatable: true, description: "an IAM policy (AWS or customer managed) for the task pods' own IAM role; repeat for several. Giving one turns on an AWS identity for the pods (docs/pod-identity.md)" },
  { flags: '--pod-identity <mode>', otherCommands: { verify: `how the pods get their role: auto | pod-identity | irsa ${FROM_STATE}`, destroy: `how the pods got their role: auto | pod-identity | irsa ${FROM_STATE}` }, input: 'podIdentity', defaultText: DEFAULTS.podIdentity, description: 'how the pods\' ServiceAccount gets the role: pod-identity (EKS Pod Identity) | irsa (IAM roles for service accounts) | auto (Pod Identity when the cluster has the eks-pod-identity-agent add-on, else IRSA)' },
  { flags: '--pod-role <name>', otherCommands: { verify: `the task pods' IAM role ${FROM_STATE}`, destroy: `the task pods' IAM role (deleted only if init created it) ${FROM_STATE}` }, input: 'podRole', defaultText: DEFAULTS.podRole, description: "the task pods' IAM role" },
  { flags: '--pod-service-account <name>', otherCommands: { verify: `the ServiceAccount the task pods run as ${FROM_STATE}`, destroy: `the ServiceAccount the task pods run as (deleted only if init created it) ${FROM_STATE}` }, input: 'podServiceAccount', defaultText: DEFAULTS.podServiceAccount, description: 'the ServiceAccount (in --namespace) the task pods run as' },
  { flags: '--allow-extra-access', otherCommands: { verify: `accept that the Kubernetes user may do more than EksPodOperator needs (report it, do not fail) ${FROM_STATE}` }, input: 'allowExtraAccess', description: 'accept that the Kubernetes user may do more than EksPodOperator needs through other RoleBindings or ClusterRoleBindings (recorded; by default that fails the access check)' },
];

/** The input flags verify takes: init's, less what only creating needs. */
export const CHECK_FLAGS = INPUT_FLAGS.filter((f) => f.input !== 'clusterConfig');
/** destroy's: verify's, less what only judges the access check. */
export const DESTROY_FLAGS = CHECK_FLAGS.filter((f) => f.input !== 'allowExtraAccess');

export const RUN_FLAGS: FlagSpec[] = [
  { flags: '--project-dir <dir>', otherCommands: { verify: 'Astro project whose .astro-remote-kpo/state.json to read (default: .)', destroy: 'Astro project whose .astro-remote-kpo/state.json says what init created (default: .)' }, defaultText: DEFAULTS.projectDir, description: 'Astro project to write state, manifests, DAGs and the connection into' },
  { flags: '--from <stage>', description: 're-run this stage (id or number) and every stage after it' },
  { flags: '--only <stage>', description: 're-run just this stage (id or number); the ones it needs must be done' },
  { flags: '--dry-run', otherCommands: { destroy: 'list what would be deleted and kept; delete nothing' }, description: 'make no change anywhere; print the full plan' },
  { flags: '-y, --yes', otherCommands: { destroy: 'delete without asking (implies --non-interactive)' }, description: 'answer yes to confirmations (implies --non-interactive)' },
  { flags: '--non-interactive', description: 'never prompt: take values from flags, environment and defaults (implied by CI or no TTY)' },
  { flags: '--switch-context', description: "make the chosen context the kubeconfig's current-context" },
  { flags: '--force', description: 'overwrite project files you changed (non-interactive)' },
  { flags: '--verbose', description: 'show every row of the access check, not just its one-line result' },
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
  allowExtraAccess?: boolean;
  podPolicyArn?: string[];
  podIdentity?: string;
  podRole?: string;
  podServiceAccount?: string;
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
  verbose?: boolean;
}
