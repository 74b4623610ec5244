// The contracts every stage, client wrapper and the engine share. Kept free of SDK imports so
// that `--help` (which loads the option table) never pulls an AWS or Kubernetes SDK in.

export const STAGE_IDS = [
  'preflight',
  'cluster',
  'context',
  'namespace',
  'k8s-role',
  'iam-role',
  'role-arn',
  'identity-mapping',
  'verify-mapping',
  'role-binding',
  'access-check',
  'connection',
  'project-files',
  'deployment-connection',
  // Issue #20, appended so the numbers above stay: the task pods' own AWS identity.
  'pod-identity',
  'pod-role',
  'pod-service-account',
] as const;
export type StageId = (typeof STAGE_IDS)[number];

export type AuthModeFlag = 'auto' | 'access-entry' | 'aws-auth';
export type PermissionsFlag = 'scoped' | 'seed';
/** --pod-identity: how the pods' ServiceAccount gets its IAM role. */
export type PodIdentityFlag = 'auto' | 'pod-identity' | 'irsa';
/** What --pod-identity resolves to for the cluster at hand. */
export type PodIdentityMode = 'pod-identity' | 'irsa';
/** EKS cluster authentication mode as DescribeCluster reports it. */
export type ClusterAuthMode = 'API' | 'API_AND_CONFIG_MAP' | 'CONFIG_MAP';

/** Everything that decides WHAT gets built. A change here invalidates the stages that read it. */
export interface Inputs {
  clusterName: string;
  region: string;
  profile?: string;
  kubeContext?: string;
  namespace: string;
  k8sRole: string;
  k8sUser: string;
  iamRole: string;
  /** Every principal the role trusts for Airflow: given with --workload-identity, or read from
   * each --astro-deployment-id with the astro CLI. At least one. */
  workloadIdentities: string[];
  authMode: AuthModeFlag;
  permissions: PermissionsFlag;
  connId: string;
  clusterConfig?: string;
  /** Astro Deployments that get the connection (stage 13). Possibly empty. */
  astroDeploymentIds: string[];
  /** --local-dev: also trust the caller's own identity so `astro dev` containers can assume the role. */
  localDev: boolean;
  /** --allow-extra-access: the Kubernetes user may do more than EksPodOperator needs (through
   * other bindings) and the user accepts that; access-check and verify report it instead of
   * failing. Absent (never false) unless given, so older state reads the same. */
  allowExtraAccess?: boolean;
  /** --pod-policy-arn (repeatable): IAM policies the task pods' role gets. Empty: the feature is off. */
  podPolicyArns: string[];
  /** --pod-identity: how the pods' ServiceAccount gets the role. */
  podIdentity: PodIdentityFlag;
  /** --pod-role (default AstroRemoteKPOPods) */
  podRole: string;
  /** --pod-service-account (default astro-remote-kpo-pods) */
  podServiceAccount: string;
}
export type InputKey = keyof Inputs;

/** What the user answered in init's question phase (after preflight's reads, together with the
 * confirmation, before the first change): the questions a stage would otherwise ask while other
 * stages run. Never persisted. A stage that finds no answer (a run without the question phase:
 * --json; or a choice that appeared only after a change) uses the non-interactive default. */
export interface Answers {
  /** context: the kubeconfig context to use when several point at the cluster's endpoint. */
  kubeContext?: string;
  /** project-files: per project-relative path of a file of ours the user changed, overwrite it? */
  overwrite?: Readonly<Record<string, boolean>>;
}
export type AnswerKey = keyof Answers;

/** HOW this run behaves; never persisted as an input. */
export interface RunFlags {
  projectDir: string;
  from?: StageId;
  only?: StageId;
  dryRun: boolean;
  yes: boolean;
  interactive: boolean;
  json: boolean;
  color: boolean;
  force: boolean;
  switchContext: boolean;
  /** Show the full access table even when every row matches. */
  verbose?: boolean;
}
export type FlagKey = keyof RunFlags;

/** Outputs each stage records in state.json. JSON only, never a secret. */
export interface StageOutputs {
  preflight: { accountId: string; callerArn: string; partition: string; eksctlVersion?: string };
  cluster: {
    clusterArn: string;
    endpoint: string;
    certificateAuthority: string;
    authenticationMode: ClusterAuthMode;
    createdByUs: boolean;
    /** How the API server can be reached (resourcesVpcConfig). Absent in state written before
     * the tool read it: then nothing is said until the cluster stage runs or checks again. */
    endpointAccess?: EndpointAccess;
    /** DescribeCluster's identity.oidc.issuer (https://oidc.eks.<region>.amazonaws.com/id/<id>), the
     * issuer IRSA trusts; absent when the cluster reports none (or state from before it was read). */
    oidcIssuer?: string;
    /** computeConfig.enabled: an EKS Auto Mode cluster, whose nodes run the Pod Identity agent
     * without the add-on. Absent: not Auto Mode (or not reported). */
    autoMode?: boolean;
  };
  context: { source: 'kubeconfig' | 'in-memory'; contextName?: string; server: string; tokenSource: string };
  namespace: { created: boolean };
  'k8s-role': { created: boolean; changed: string[] };
  'iam-role': {
    roleArn: string;
    createdByUs: boolean;
    inlinePolicy?: string;
    attachedPolicies: string[];
    /** Principals init put into the trust policy (added to a found role, or the role was created
     * with them): a destroy that keeps the role because others use it takes out exactly these.
     * Absent when none. State from before this was recorded for created roles: destroy counts the
     * recorded workload identities as this project's. */
    trustPrincipalsAdded?: string[];
    /** --local-dev: the caller's own principal (IAM role or user) the trust policy names. */
    localDevPrincipal?: string;
  };
  'role-arn': { roleArn: string; mappingArn: string };
  'identity-mapping': {
    kind: 'access-entry' | 'aws-auth';
    principalArn: string;
    username: string;
    createdByUs: boolean;
    backupFile?: string;
    /** aws-auth, when this project's init wrote our entry: sha256 of mapRoles as it found it (null:
     * no mapRoles key) and as it wrote it. destroy gives back the very bytes it found (from
     * `backupFile`) when mapRoles is still what init wrote, and deletes a ConfigMap init created. */
    awsAuthEdit?: { before: string | null; written: string; createdConfigMap: boolean };
  };
  'verify-mapping': { kind: 'access-entry' | 'aws-auth'; username: string };
  'role-binding': { created: boolean; name: string; changed: string[] };
  'access-check': {
    method: 'SubjectAccessReview' | 'SelfSubjectAccessReview';
    allowed: number;
    denied: number;
    warnings: string[];
    /** What gives the user more than the needed set (bindings, allowed questions), accepted with
     * --allow-extra-access; absent when there is nothing more. */
    acceptedExtra?: string[];
    /** With --pod-policy-arn: the user may run a pod as the pods' ServiceAccount, proven by a
     * server-side dry-run create through the admission chain, as the user (impersonated) or, when
     * we may not impersonate, as the caller (RBAC for the user is the access matrix's). */
    serviceAccountCheck?: { serviceAccount: string; as: 'user' | 'caller'; note?: string };
  };
  connection: { file: string; connId: string; created: boolean };
  'project-files': {
    written: string[];
    kept: string[];
    astroProject: boolean;
    /** sha256 of what we last wrote per project-relative path: tells our files from the user's edits. */
    hashes?: Record<string, string>;
    /** Per provider the DAGs import, what requirements.txt got (src/airflow/provider-floor.ts).
     * State from before one object for the Amazon provider: engine/state.ts reads it as a list. */
    providerFloor?: ProviderFloorOutput[];
  };
  /** How the pods get AWS credentials: the mode --pod-identity resolved to, and for IRSA the IAM
   * OIDC provider of the cluster's issuer (created, or found: eksctl's, a person's, another project's). */
  'pod-identity': {
    /** false: no --pod-policy-arn, nothing for the pods (the later pod stages are skipped too). */
    enabled: boolean;
    mode?: PodIdentityMode;
    /** Why this mode (auto: what the cluster has). */
    why?: string;
    issuer?: string;
    oidcProviderArn?: string;
    /** This project created the OIDC provider (so its destroy may delete it, by the usual rules). */
    oidcProviderCreatedByUs?: boolean;
  };
  /** The task pods' IAM role: its trust names only the pods' ServiceAccount (IRSA) or EKS Pod
   * Identity for it; the given managed policies attached. */
  'pod-role': {
    enabled: boolean;
    roleArn?: string;
    createdByUs?: boolean;
    /** Policies this project attached (over all runs): the only ones it ever detaches (when no
     * longer given, when the feature is turned off, and on destroy of a role it keeps). */
    attachedByUs: string[];
    /** The policies given (--pod-policy-arn), attached now. */
    policies?: string[];
  };
  /** The ServiceAccount the pods run as, and its link to the role: the eks.amazonaws.com/role-arn
   * annotation (IRSA) or an EKS Pod Identity association. */
  'pod-service-account': {
    enabled: boolean;
    namespace?: string;
    serviceAccount?: string;
    created?: boolean;
    mode?: PodIdentityMode;
    roleArn?: string;
    association?: { id: string; arn: string; createdByUs: boolean };
  };
  'deployment-connection': {
    ran: boolean;
    /** The create command as printed (paste-safe). */
    command: string;
    /** Deployments the connection was created or updated on by this tool. */
    deployments?: string[];
  };
}

/** The cluster's API endpoint access, as DescribeCluster's resourcesVpcConfig reports it (a field
 * EKS or an emulator left out stays out). Astro Hosted reaches the API server over the public
 * endpoint unless a network connection to the VPC exists (src/aws/endpoint-access.ts). */
export interface EndpointAccess {
  /** public: open to 0.0.0.0/0; limited: public, only from publicAccessCidrs; private: no public
   * endpoint; unknown: DescribeCluster did not say. */
  reach: 'public' | 'limited' | 'private' | 'unknown';
  publicAccess?: boolean;
  privateAccess?: boolean;
  publicAccessCidrs?: string[];
  vpcId?: string;
}

export interface ProviderFloorOutput {
  /** The distribution, e.g. apache-airflow-providers-cncf-kubernetes. */
  provider: string;
  /** added: this run wrote the line; satisfied: already there; kept-pin: the user's lower pin, warned; none: the image ships it, no line applies or the Airflow version is unknown. */
  action: 'added' | 'satisfied' | 'kept-pin' | 'none';
  floor?: string;
  /** The requirements.txt line that decides it. */
  line?: string;
  note: string;
}

export type StageStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped' | 'interrupted';

/** What a stage hands back after `run`. */
export interface StageResult<O, H = never> {
  outputs: O;
  /** One line for the checklist, e.g. "created role AstroRemoteKPO". */
  summary?: string;
  warnings?: string[];
  /** Lookups made on the way that a later stage would repeat, by the stage they are for (see
   * `StageHandoffs`): kept in memory by the runner for this run only, never written to state. */
  handoff?: H;
}

/** `check` answers "already done?" cheaply and read-only. When not done, `seen` is what it read
 * (e.g. "not found", or the object as it is): the runner hands it to `run(ctx, seen)` so run()
 * starts from it instead of asking again. A forced run (--from, --only) gets none. When done, what
 * it read may be handed on (`handoff`, as from run()) to a later stage that would read it again. */
export type CheckResult<O, S = unknown, H = never> =
  | { done: true; reason: string; outputs: O; warnings?: string[]; handoff?: H }
  | { done: false; reason?: string; seen?: S };

/** What `plan` returns: the items to print, and best-effort outputs later plans may read
 * (kept in memory only, never written to state). */
export interface PlanResult<O> {
  items: PlanItem[];
  outputs?: O;
}

/** One block of the dry-run plan. */
export interface PlanItem {
  /** e.g. "create IAM role AstroRemoteKPO" or "exists: cluster remote-kpo-demo (skip)". */
  action: string;
  /** Rendered documents (policy JSON, YAML), printed indented under the action. */
  details?: string;
  /** Set when a lookup failed (e.g. no credentials) and the plan assumes the worst case. */
  unknown?: string;
}
