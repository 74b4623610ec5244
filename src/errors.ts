// Typed errors, each with a stable code. ERROR_CODES is the one table of them: a code's exit code,
// meaning and fix live here and nowhere else, so a typo in a code is a compile error, no throw
// site picks an exit code, and docs/errors.md is generated from it (scripts/errors-doc.mjs; a test
// fails when the two differ). Only src/cli.ts turns errors into exit codes (DESIGN.md: one
// top-level catch). Codes are part of the interface: scripts match on `error.code` of the --json
// document, so a code is never renamed or reused for another condition.

export const EXIT = {
  ok: 0,
  stageFailed: 1,
  usage: 2,
  prerequisite: 3,
  interrupted: 130,
} as const;

export type ExitKind = Exclude<keyof typeof EXIT, 'ok'>;

export interface ErrorCodeSpec {
  /** Which exit code the error ends the command with (EXIT). */
  exit: ExitKind;
  /** One line: what happened. */
  meaning: string;
  /** One line: what to do (the error's own hint names the exact values and command). */
  fix: string;
}

export const ERROR_CODES = {
  // Exit 2: bad usage or input. Nothing was written anywhere.
  BAD_COMMAND_LINE: {
    exit: 'usage',
    meaning: 'The command line could not be parsed: an unknown command or option, or an option without its value.',
    fix: 'Check the spelling against `astro-remote-kpo <command> --help`.',
  },
  INPUT_INVALID: {
    exit: 'usage',
    meaning: 'One or more values (flags, environment variables) are not valid; each is named with what is allowed.',
    fix: 'Correct the values the message names and run the same command again.',
  },
  INPUT_MISSING: {
    exit: 'usage',
    meaning: 'A required value was not given, and the run is not interactive, so it cannot be asked for.',
    fix: 'Pass the flag the message names (or run in a terminal to be asked).',
  },
  POD_POLICY_NOT_FOUND: {
    exit: 'usage',
    meaning: 'A --pod-policy-arn names a policy IAM does not have (or one it says cannot be attached); preflight asks before anything is made.',
    fix: 'Correct the ARN (AWS managed: arn:aws:iam::aws:policy/<Name>; customer managed: arn:aws:iam::<account>:policy/<Name>) and run again.',
  },
  CONFIRMATION_REQUIRED: {
    exit: 'usage',
    meaning: 'destroy deletes cloud resources and was run without a terminal to confirm in and without --yes.',
    fix: 'Look at `destroy --dry-run` first, then pass --yes.',
  },
  ONLY_NEEDS_STAGE: {
    exit: 'usage',
    meaning: '--only <stage> needs a stage that is not done yet.',
    fix: 'Run init (or --from the stage named) first.',
  },
  PROJECT_DIR_MISSING: {
    exit: 'usage',
    meaning: 'The --project-dir folder does not exist (and was not to be created).',
    fix: 'Create it (`astro dev init` there), or pass the Astro project folder.',
  },
  PROJECT_DIR_UNUSABLE: {
    exit: 'usage',
    meaning: 'The --project-dir path is not a folder, or cannot be read, written or created.',
    fix: 'Pass a folder you can read and write (your Astro project).',
  },
  STATE_UNUSABLE: {
    exit: 'usage',
    meaning: 'The state file .astro-remote-kpo/state.json cannot be read or is not state this version knows.',
    fix: 'Move it aside to start over, or fix it by hand.',
  },
  LOCK_HELD: {
    exit: 'usage',
    meaning: 'Another run of astro-remote-kpo holds the project lock (.astro-remote-kpo/lock).',
    fix: 'Wait for it to finish; if that process is gone (another machine), delete the lock file.',
  },
  LOCK_UNREADABLE: {
    exit: 'usage',
    meaning: 'The project lock file exists but is not an astro-remote-kpo lock.',
    fix: 'If no other run is going on, delete the lock file and run again.',
  },
  SETTINGS_INVALID: {
    exit: 'usage',
    meaning: 'airflow_settings.yaml is not valid YAML or not shaped as airflow → connections → a list.',
    fix: 'Fix the line the message names; the file was not changed.',
  },
  SETTINGS_DUPLICATE_CONNECTION: {
    exit: 'usage',
    meaning: 'airflow_settings.yaml has more than one connection with the conn_id this tool manages.',
    fix: 'Delete all but one of them, or pass --conn-id for a connection of its own.',
  },
  SETTINGS_UNEDITABLE: {
    exit: 'usage',
    meaning: 'The connection in airflow_settings.yaml cannot be set without rewriting the file.',
    fix: 'Add or correct the entry the hint prints by hand, then run again.',
  },
  FILE_UNREADABLE: {
    exit: 'usage',
    meaning: 'A file in the project the run must read (airflow_settings.yaml, requirements.txt, a DAG, k8s/*.yaml) is there but cannot be read.',
    fix: 'Fix the file or its permissions.',
  },
  COMPOSE_OVERRIDE_INVALID: {
    exit: 'usage',
    meaning: 'docker-compose.override.yml (for --local-dev) is not valid YAML or not shaped as a compose file.',
    fix: 'Fix it by hand or move it aside; it was not changed.',
  },
  CLUSTER_CONFIG_UNREADABLE: {
    exit: 'usage',
    meaning: 'The --cluster-config file does not exist or cannot be read.',
    fix: 'Pass an existing eksctl ClusterConfig file, or leave the flag out to have k8s/cluster.yaml rendered.',
  },
  CLUSTER_CONFIG_INVALID: {
    exit: 'usage',
    meaning: 'The cluster config file is not valid YAML or not an eksctl ClusterConfig.',
    fix: 'Pass an eksctl file with kind: ClusterConfig.',
  },
  CLUSTER_CONFIG_MISMATCH: {
    exit: 'usage',
    meaning: 'The cluster config file describes another cluster name or region than this run.',
    fix: 'Make the file and --cluster-name/--region agree.',
  },
  KUBECONFIG_INVALID: {
    exit: 'usage',
    meaning: 'A kubeconfig file cannot be read or is not a valid kubeconfig.',
    fix: 'Fix or remove the file, or point KUBECONFIG at a valid one.',
  },
  KUBECONFIG_MISSING: {
    exit: 'usage',
    meaning: '--switch-context was asked for, but no kubeconfig file exists to write current-context to.',
    fix: 'Leave out --switch-context, or create the kubeconfig (aws eks update-kubeconfig).',
  },
  KUBE_CONTEXT_NOT_FOUND: {
    exit: 'usage',
    meaning: 'The --kube-context is not a context in the kubeconfig.',
    fix: 'Pass one of the contexts the message lists, or leave the flag out.',
  },
  KUBE_CONTEXT_INVALID: {
    exit: 'usage',
    meaning: 'The kubeconfig context refers to a cluster that no kubeconfig file defines, or one without a server.',
    fix: 'Fix the kubeconfig, or leave out --kube-context.',
  },
  DEPLOYMENT_IDENTITY_INVALID: {
    exit: 'usage',
    meaning: "The workload identity the astro CLI reports for a Deployment is not an IAM role ARN.",
    fix: 'Pass --workload-identity <arn> instead of --astro-deployment-id.',
  },

  // Exit 3: a prerequisite is missing. Nothing was changed by this error.
  CREDENTIALS_MISSING: {
    exit: 'prerequisite',
    meaning: 'No AWS credentials were found (for the profile, or in the default credential chain).',
    fix: 'Pass --profile (or set AWS_PROFILE) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; `aws sso login` for an SSO profile.',
  },
  CREDENTIALS_SSO_EXPIRED: {
    exit: 'prerequisite',
    meaning: 'The AWS SSO session of the profile has expired or is not valid.',
    fix: 'Run `aws sso login --profile <name>`, then the same command again.',
  },
  CREDENTIALS_EXPIRED: {
    exit: 'prerequisite',
    meaning: 'AWS rejected the credentials because the session has expired (ExpiredToken, RequestExpired).',
    fix: 'Refresh the session (`aws sso login`, or new temporary credentials), then run again.',
  },
  CREDENTIALS_REJECTED: {
    exit: 'prerequisite',
    meaning: 'AWS rejected the credentials (an unknown access key, a bad signature or session token).',
    fix: 'Check the credentials in use with `aws sts get-caller-identity`.',
  },
  EKS_TOKEN_FAILED: {
    exit: 'prerequisite',
    meaning: 'The EKS token for the Kubernetes API could not be signed (usually the AWS credentials).',
    fix: 'Check `aws sts get-caller-identity` (or `aws sso login`) with the same profile.',
  },
  EKSCTL_MISSING: {
    exit: 'prerequisite',
    meaning: 'eksctl is needed (to create or delete a cluster or a node group) and is not on PATH.',
    fix: 'Install eksctl (https://eksctl.io/installation/), or use an existing cluster.',
  },
  EKSCTL_BROKEN: {
    exit: 'prerequisite',
    meaning: '`eksctl version` failed: the eksctl on PATH does not run.',
    fix: 'Reinstall eksctl (https://eksctl.io/installation/).',
  },
  PLATFORM_UNSUPPORTED: {
    exit: 'prerequisite',
    meaning: 'The tool runs on Linux and macOS (POSIX); this is native Windows.',
    fix: 'Run it in WSL (Windows Subsystem for Linux), with Node.js installed there.',
  },
  ASTRO_CLI_MISSING: {
    exit: 'prerequisite',
    meaning: 'The astro CLI is needed to read a Deployment (--astro-deployment-id) and is not on PATH.',
    fix: 'Install it and run `astro login`, or pass --workload-identity <arn> instead.',
  },
  ASTRO_NOT_LOGGED_IN: {
    exit: 'prerequisite',
    meaning: 'The astro CLI is not logged in.',
    fix: 'Run `astro login`, then the same command again.',
  },
  ASTRO_INSPECT_FAILED: {
    exit: 'prerequisite',
    meaning: '`astro deployment inspect` failed for a Deployment id.',
    fix: 'Check the Deployment id (`astro deployment list`) and `astro login`.',
  },
  DEPLOYMENT_NO_WORKLOAD_IDENTITY: {
    exit: 'prerequisite',
    meaning: 'The astro CLI reports no AWS workload identity for the Deployment (not an AWS Deployment?).',
    fix: 'Pass --workload-identity <arn> instead.',
  },

  // Exit 1: a stage (or a destroy step) failed. State is saved; the same command resumes.
  AWS_ACCESS_DENIED: {
    exit: 'stageFailed',
    meaning: 'AWS denied a call: the identity in use lacks a permission (the message names the action and resource).',
    fix: 'Grant the identity the action named (docs/aws.md lists what the tool needs), or run as one that has it.',
  },
  AWS_THROTTLED: {
    exit: 'stageFailed',
    meaning: 'AWS kept throttling the calls after the SDK retried them.',
    fix: 'Wait a minute and run the same command again.',
  },
  AWS_QUOTA_EXCEEDED: {
    exit: 'stageFailed',
    meaning: 'An AWS quota or limit was reached (e.g. IAM roles per account, access entries per cluster).',
    fix: 'Free some of the resource or raise the quota (Service Quotas), then run again.',
  },
  AWS_UNUSABLE_ANSWER: {
    exit: 'stageFailed',
    meaning: "An endpoint answered with something that is not an AWS answer (an emulator's HTML 404, a proxy page) or lacked what AWS always sends.",
    fix: 'Check the AWS_ENDPOINT_URL* settings; against an emulator, the step needs an API it may not offer.',
  },
  AWS_REQUEST_FAILED: {
    exit: 'stageFailed',
    meaning: "An AWS call failed for another reason; the message and `awsCode` carry AWS's own error name.",
    fix: "Read AWS's message, fix the cause, and run the same command again.",
  },
  CLUSTER_NOT_ACTIVE: {
    exit: 'stageFailed',
    meaning: 'The EKS cluster exists but is not ACTIVE, or did not become ACTIVE.',
    fix: 'Wait until it settles (or delete a FAILED one, or pick another --cluster-name), then run again.',
  },
  CLUSTER_DISAPPEARED: {
    exit: 'stageFailed',
    meaning: 'The EKS cluster went away while the tool waited for it to become ACTIVE.',
    fix: 'Find out who deleted it, then run again.',
  },
  CLUSTER_NO_CAPACITY: {
    exit: 'stageFailed',
    meaning: 'The EKS cluster is ACTIVE but has no node group or Fargate profile that can run the pods.',
    fix: 'Run the eksctl command the hint prints and look at its output, then run again.',
  },
  NODEGROUP_FAILED: {
    exit: 'stageFailed',
    meaning: 'A node group of the cluster failed or did not become ACTIVE.',
    fix: 'Look at it in the EKS console (Compute tab); the hint has the commands to make it again.',
  },
  EKSCTL_FAILED: {
    exit: 'stageFailed',
    meaning: 'eksctl (create cluster, create nodegroup, delete cluster) exited with an error.',
    fix: 'Read the last lines and the full log named in the message, fix the cause, then run again.',
  },
  AUTH_MODE_MISMATCH: {
    exit: 'stageFailed',
    meaning: "--auth-mode asks for a mapping the cluster's authentication mode ignores.",
    fix: 'Use --auth-mode auto, or change the cluster\'s authentication mode as the hint says.',
  },
  LOCAL_DEV_IDENTITY_UNSUPPORTED: {
    exit: 'stageFailed',
    meaning: '--local-dev: your AWS identity is neither an IAM user nor an assumed role, so no trust policy can name it.',
    fix: 'Run with credentials of an IAM user or role, or leave --local-dev out.',
  },
  KEEPS_CHANGING: {
    exit: 'stageFailed',
    meaning: 'Something else kept rewriting an object (a trust policy, a Kubernetes object) while the tool updated it.',
    fix: 'Stop the other writer (another run, GitOps, an operator) or let it own the object, then run again.',
  },
  MAPPING_GRANTS_MORE: {
    exit: 'stageFailed',
    meaning: 'The identity mapping of the role also grants Kubernetes groups or EKS access policies (e.g. system:masters).',
    fix: 'Remove the groups or policies named (the hint has the command), or pick another --iam-role.',
  },
  MAPPING_OTHER_USER: {
    exit: 'stageFailed',
    meaning: 'The role is already mapped (access entry or aws-auth) to another Kubernetes username.',
    fix: 'Use --k8s-user with that username, change the mapping as the hint says, or pick another --iam-role.',
  },
  MAPPING_MISSING: {
    exit: 'stageFailed',
    meaning: 'The identity mapping (access entry or aws-auth entry) is not there when read back.',
    fix: 'Run again with --from identity-mapping.',
  },
  AWS_AUTH_UNEDITABLE: {
    exit: 'stageFailed',
    meaning: 'kube-system/aws-auth has a mapRoles value the tool cannot prove an edit of to be safe.',
    fix: 'Edit mapRoles by hand (kubectl -n kube-system edit configmap aws-auth), or use access entries.',
  },
  TAKEOVER_REFUSED: {
    exit: 'stageFailed',
    meaning: 'A Kubernetes object this project did not create differs from what init would make; it is not changed.',
    fix: 'Apply the difference the hint names yourself, or choose other names (--k8s-role, --namespace, --pod-service-account).',
  },
  NAMESPACE_TERMINATING: {
    exit: 'stageFailed',
    meaning: 'The namespace is being deleted, so nothing can be created in it.',
    fix: 'Wait for the deletion to finish (finalizers may block it), or choose another --namespace.',
  },
  RBAC_PERMISSIONS_MISSING: {
    exit: 'stageFailed',
    meaning: 'The Kubernetes user lacks permissions EksPodOperator needs in the namespace.',
    fix: 'Add the rules the hint prints to the Role, or run init --from k8s-role.',
  },
  RBAC_EXTRA_ACCESS: {
    exit: 'stageFailed',
    meaning: 'The Kubernetes user may do more than EksPodOperator needs, through other bindings or mappings.',
    fix: 'Remove the bindings named, or accept them with --allow-extra-access.',
  },
  POD_IDENTITY_AGENT_MISSING: {
    exit: 'stageFailed',
    meaning: '--pod-identity pod-identity, but the cluster has no usable eks-pod-identity-agent add-on (and is not an EKS Auto Mode cluster).',
    fix: 'Install the add-on (the hint has the command), or use --pod-identity irsa (or auto, which falls back to IRSA).',
  },
  OIDC_ISSUER_MISSING: {
    exit: 'stageFailed',
    meaning: "IRSA needs the cluster's OIDC issuer, and DescribeCluster reports none (identity.oidc.issuer).",
    fix: 'Use --pod-identity pod-identity with the eks-pod-identity-agent add-on; or check the cluster (an emulator may not report an issuer).',
  },
  OIDC_PROVIDER_UNUSABLE: {
    exit: 'stageFailed',
    meaning: "The IAM OIDC provider of the cluster's issuer exists, was not created by this project, and does not accept the audience sts.amazonaws.com; it is not changed.",
    fix: 'Add the client ID sts.amazonaws.com to it yourself (the hint has the command), or use --pod-identity pod-identity.',
  },
  POD_ROLE_TAKEOVER_REFUSED: {
    exit: 'stageFailed',
    meaning: "The task pods' IAM role exists, was not created by this project, and its trust policy is not exactly the one init would make; it is not changed.",
    fix: 'Pick another --pod-role, or give the role exactly the trust policy the hint shows, then run again.',
  },
  POD_ASSOCIATION_TAKEOVER_REFUSED: {
    exit: 'stageFailed',
    meaning: "An EKS Pod Identity association for the pods' ServiceAccount, not created by this project, names another IAM role; it is not changed.",
    fix: 'Pick another --pod-service-account, or delete or repoint that association yourself (the hint has the command).',
  },
  POD_SERVICE_ACCOUNT_REFUSED: {
    exit: 'stageFailed',
    meaning: "The API server would not let the Kubernetes user run a pod as the pods' ServiceAccount (a server-side dry run through admission refused it).",
    fix: "Read the API server's message; a missing ServiceAccount is put back by `init --from pod-service-account`.",
  },
  ASTRO_CONNECTION_FAILED: {
    exit: 'stageFailed',
    meaning: '`astro deployment connection create/update` failed for a Deployment.',
    fix: 'Check `astro login` and the Deployment id, then resume; or run the printed command yourself.',
  },
  KUBE_UNAUTHORIZED: {
    exit: 'stageFailed',
    meaning: 'The Kubernetes API server rejected our credentials (401).',
    fix: 'Check the AWS identity and that it has an access entry or aws-auth mapping on the cluster.',
  },
  KUBE_FORBIDDEN: {
    exit: 'stageFailed',
    meaning: 'The Kubernetes API server forbade a call (403): the identity in use lacks the RBAC permission.',
    fix: 'Run as an identity with admin rights on the cluster, or pick another --kube-context.',
  },
  KUBE_NOT_FOUND: {
    exit: 'stageFailed',
    meaning: 'The Kubernetes API server answered 404 NotFound for an object the step needed.',
    fix: 'Check that the object (e.g. the namespace) exists, then run again.',
  },
  KUBE_ALREADY_EXISTS: {
    exit: 'stageFailed',
    meaning: 'The Kubernetes API server answered 409 AlreadyExists to a create.',
    fix: 'Run the same command again: the object is read and judged anew.',
  },
  KUBE_CONFLICT: {
    exit: 'stageFailed',
    meaning: 'A Kubernetes object changed between our read and our write (409 Conflict).',
    fix: 'Run the same command again.',
  },
  KUBE_INVALID: {
    exit: 'stageFailed',
    meaning: 'The Kubernetes API server refused an object as invalid (422), e.g. a name it does not accept.',
    fix: "Read the server's message; change the value it names.",
  },
  KUBE_REQUEST_FAILED: {
    exit: 'stageFailed',
    meaning: 'A Kubernetes API call failed with another HTTP status (e.g. 5xx after retries, 429).',
    fix: "Read the server's message, then run again.",
  },
  KUBE_UNREACHABLE: {
    exit: 'stageFailed',
    meaning: 'The Kubernetes API server could not be reached (refused, DNS, timeout).',
    fix: "Check the network/VPN and the cluster's endpoint access (endpointPublicAccess, publicAccessCidrs).",
  },
  KUBE_TLS_FAILED: {
    exit: 'stageFailed',
    meaning: "TLS to the Kubernetes API server failed: its certificate does not match the cluster CA in use.",
    fix: "Check the kubeconfig context's certificate-authority data, or that the endpoint is the cluster's.",
  },
  UNEXPECTED: {
    exit: 'stageFailed',
    meaning: 'An error the tool did not expect (a bug, or a failure of something it does not wrap).',
    fix: 'Please report it with .astro-remote-kpo/logs/debug.log attached.',
  },

  // Exit 130.
  INTERRUPTED: {
    exit: 'interrupted',
    meaning: 'Interrupted (Ctrl-C); the running stage is marked interrupted and state is saved.',
    fix: 'Run the same command again to resume.',
  },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function exitCodeOf(code: ErrorCode): number {
  return EXIT[ERROR_CODES[code].exit];
}

export interface KpoErrorOptions {
  cause?: unknown;
  /** The AWS SDK error's name, when an AWS call failed (e.g. AccessDenied, ThrottlingException). */
  awsCode?: string;
}

export class KpoError extends Error {
  readonly code: ErrorCode;
  /** Follows from the code (ERROR_CODES), never chosen by a throw site. */
  readonly exitCode: number;
  /** What the user should do about it, printed under the message. */
  readonly hint?: string;
  readonly awsCode?: string;
  constructor(code: ErrorCode, message: string, hint?: string, options: KpoErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    // As in aws-cdk's toolkit errors: the name is the code (a stack trace starts with it).
    this.name = code;
    this.code = code;
    this.exitCode = exitCodeOf(code);
    if (hint !== undefined) this.hint = hint;
    if (options.awsCode !== undefined) this.awsCode = options.awsCode;
  }
}

/** Ours, and (when codes are given) one of them. */
export function isKpoError(err: unknown, ...codes: ErrorCode[]): err is KpoError {
  return err instanceof KpoError && (codes.length === 0 || codes.includes(err.code));
}

export function interrupted(): KpoError {
  return new KpoError('INTERRUPTED', 'interrupted');
}

/** Any error as ours: an error that is not gets the one code for the unexpected. */
export function asKpoError(err: unknown): KpoError {
  return err instanceof KpoError ? err : new KpoError('UNEXPECTED', errorMessage(err), undefined, { cause: err });
}

/** What state.json, the --json documents and verify's rows say of an error. */
export interface ErrorRecord {
  /** Absent only in state written before codes existed. */
  code?: ErrorCode;
  message: string;
  hint?: string;
  awsCode?: string;
}

export function errorRecord(err: KpoError): ErrorRecord {
  return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), ...(err.awsCode ? { awsCode: err.awsCode } : {}) };
}

/** The human form of a code, under the message and hint of an error block. */
export function codeLine(code: ErrorCode): string {
  return `code: ${code}`;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
