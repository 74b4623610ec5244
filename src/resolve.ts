// Flags + environment + prompts → validated Inputs and RunFlags, in one place. Every value is
// validated before anything runs; in non-interactive mode all missing required values are
// reported together, naming their flags.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KpoError } from './errors.js';
import type { Io } from './io.js';
import { DEFAULTS, INPUT_FLAGS, type RawOptions } from './options.js';
import type { AuthModeFlag, Inputs, PermissionsFlag, PodIdentityFlag, RunFlags } from './types.js';
import { parseChoice, parseStageRef, partitionProblem, validateValue, workloadIdentityValues, type RuleName } from './validate.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Interactive only on a TTY and when nothing says otherwise (CI, --yes, --non-interactive, --json). */
export function isInteractive(raw: RawOptions, env: Env, stdinIsTTY: boolean): boolean {
  if (raw.nonInteractive || raw.yes || raw.json) return false;
  if (env.CI && env.CI !== 'false' && env.CI !== '0') return false;
  return stdinIsTTY;
}

/** The region of a profile in the shared config file, if any (tiny INI reader: no SDK load). */
export async function profileRegion(env: Env, profile: string | undefined): Promise<string | undefined> {
  const file = env.AWS_CONFIG_FILE ?? path.join(env.HOME ?? os.homedir(), '.aws', 'config');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const want = profile && profile !== 'default' ? [`profile ${profile}`, profile] : ['default', 'profile default'];
  let section: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const head = /^\s*\[\s*([^\]]+?)\s*\]\s*$/.exec(line);
    if (head) {
      section = head[1];
      continue;
    }
    const kv = /^\s*region\s*=\s*(\S+)\s*$/.exec(line);
    if (kv && section && want.includes(section)) return kv[1];
  }
  return undefined;
}

const RULE_OF: Partial<Record<keyof Inputs, RuleName>> = {
  clusterName: 'clusterName',
  region: 'region',
  profile: 'profile',
  kubeContext: 'kubeContext',
  namespace: 'namespace',
  k8sRole: 'k8sRole',
  k8sUser: 'k8sUser',
  iamRole: 'iamRole',
  connId: 'connId',
  workloadIdentities: 'workloadIdentity',
  astroDeploymentIds: 'astroDeploymentId',
  podRole: 'iamRole',
  podServiceAccount: 'podServiceAccount',
  podPolicyArns: 'podPolicyArn',
};

function flagOf(key: keyof Inputs): string {
  const spec = INPUT_FLAGS.find((f) => f.input === key);
  return spec ? spec.flags.split(' ')[0]! : key;
}

export interface Resolved {
  inputs: Inputs;
  flags: RunFlags;
}

/** Reads each Deployment's workload identity (the astro CLI); throws (ASTRO_* codes, exit 3) when it cannot. */
export type IdentityLookup = (deploymentIds: readonly string[]) => Promise<string[]>;
/** Interactive only: the Deployments the astro CLI can list, to pick from ([] when it cannot). */
export type DeploymentLister = () => Promise<ReadonlyArray<{ id: string; name: string }>>;

/** Asks for Deployments one at a time from the list until the user is done; [] to type an ARN. */
async function pickDeployments(io: Io, listed: ReadonlyArray<{ id: string; name: string }>): Promise<string[]> {
  const picked: string[] = [];
  for (;;) {
    const left = listed.filter((d) => !picked.includes(d.id));
    if (!left.length) return picked;
    const done = picked.length ? 'done' : 'type';
    const choice = await io.select({
      flag: '--astro-deployment-id',
      message: picked.length ? `Another Deployment? (picked: ${picked.join(', ')})` : 'Which Astro Deployment should launch pods on this cluster?',
      choices: [
        ...left.map((d) => ({ value: d.id, name: `${d.name} (${d.id})` })),
        { value: done, name: picked.length ? 'done' : "none of these: I'll type a workload identity ARN" },
      ],
      default: left[0]!.id,
    });
    if (choice === done) return picked;
    picked.push(choice);
  }
}

const unique = (list: readonly string[]) => [...new Set(list)];

export interface ResolveContext {
  /** Inputs recorded by an earlier init in this project: offered for resuming (interactive only). */
  recorded?: Inputs;
  /** Whose prompts these are: verify and destroy never create a cluster. */
  command?: 'init' | 'verify' | 'destroy';
}

export async function resolveOptions(
  raw: RawOptions,
  env: Env,
  io: Io,
  cwd: string,
  rctx: ResolveContext = {},
  lookup?: IdentityLookup,
  lister?: DeploymentLister,
): Promise<Resolved> {
  const problems: string[] = [];
  const check = (key: keyof Inputs, value: string | undefined) => {
    if (value === undefined) return;
    const rule = RULE_OF[key];
    const problem = rule ? validateValue(rule, flagOf(key), value) : undefined;
    if (problem) problems.push(problem);
  };

  const profile = raw.profile ?? (env.AWS_PROFILE || undefined);
  const regionDefault = env.AWS_REGION || env.AWS_DEFAULT_REGION || (await profileRegion(env, profile)) || DEFAULTS.region;
  const authMode =
    tryParse(() => parseChoice<AuthModeFlag>('--auth-mode', raw.authMode ?? DEFAULTS.authMode, ['auto', 'access-entry', 'aws-auth']), problems) ??
    DEFAULTS.authMode;
  const permissions =
    tryParse(() => parseChoice<PermissionsFlag>('--permissions', raw.permissions ?? DEFAULTS.permissions, ['scoped', 'seed']), problems) ??
    DEFAULTS.permissions;
  const podIdentity =
    tryParse(() => parseChoice<PodIdentityFlag>('--pod-identity', raw.podIdentity ?? DEFAULTS.podIdentity, ['auto', 'pod-identity', 'irsa']), problems) ??
    DEFAULTS.podIdentity;

  // Flags given on the command line are validated before any prompt, so a typo fails fast.
  // Repeatable flags: every value is validated whole (`--workload-identity "…:role/a b"` is one
  // bad value, quoted as given, never read as two).
  const identitiesGiven = workloadIdentityValues(raw.workloadIdentity, env.ASTRO_WORKLOAD_IDENTITY, problems);
  let deploymentIds = unique(raw.astroDeploymentId ?? []);
  for (const v of deploymentIds) check('astroDeploymentIds', v);
  const podPoliciesGiven = raw.podPolicyArn === undefined ? undefined : unique(raw.podPolicyArn);
  for (const v of podPoliciesGiven ?? []) check('podPolicyArns', v);
  const given: Partial<Record<keyof Inputs, string | undefined>> = {
    clusterName: raw.clusterName,
    region: raw.region,
    profile,
    kubeContext: raw.kubeContext,
    namespace: raw.namespace,
    k8sRole: raw.k8sRole,
    k8sUser: raw.k8sUser,
    iamRole: raw.iamRole,
    connId: raw.connId,
    podRole: raw.podRole,
    podServiceAccount: raw.podServiceAccount,
  };
  for (const [k, v] of Object.entries(given)) check(k as keyof Inputs, v);
  // An empty path would silently mean "the current folder" (path.resolve ignores it).
  for (const [flag, v] of [['--project-dir', raw.projectDir], ['--cluster-config', raw.clusterConfig]] as const) {
    if (v !== undefined && !v.trim()) problems.push(`${flag} ${JSON.stringify(v)} is not valid: expected a path (use ${flag === '--project-dir' ? '"." for the current folder' : 'a ClusterConfig file, or leave the flag out'}).`);
  }
  if (raw.from !== undefined && raw.only !== undefined) problems.push('--from and --only cannot be used together: pick one.');
  const from = raw.from !== undefined ? tryParse(() => parseStageRef('--from', raw.from!), problems) : undefined;
  const only = raw.only !== undefined ? tryParse(() => parseStageRef('--only', raw.only!), problems) : undefined;
  if (problems.length) throw new KpoError('INPUT_INVALID', problems.join('\n'));

  // Resume remembers: a project with recorded inputs offers to carry on with them, and then every
  // prompt defaults to what was answered last time (Enter through them resumes the same setup).
  let recorded: Inputs | undefined;
  if (rctx.recorded && io.interactive && !raw.dryRun && (rctx.command ?? 'init') === 'init') {
    const r = rctx.recorded;
    const resume = await io.confirm({
      flag: '--yes',
      message: `Resume the setup of cluster ${r.clusterName} (${r.region}) for ${r.workloadIdentities.join(', ')}? (no: start from the defaults)`,
      default: true,
    });
    if (resume) recorded = r;
  }
  const fallback = <K extends keyof Inputs>(key: K): Inputs[K] | undefined => recorded?.[key];

  // Required: at least one workload identity. Given ones win; else each Deployment's is read with
  // the astro CLI (after every other value is known good); else prompt, or name the flags.
  let workloadIdentities = identitiesGiven;
  // A resumed setup with several identities (or Deployments) keeps them all: one prompt cannot.
  if (!workloadIdentities.length && !deploymentIds.length && recorded && (recorded.workloadIdentities.length > 1 || recorded.astroDeploymentIds.length)) {
    workloadIdentities = [...recorded.workloadIdentities];
    deploymentIds = [...recorded.astroDeploymentIds];
  }
  // Interactive, nothing given, astro logged in: offer its Deployments (their identities are read next).
  if (!workloadIdentities.length && !deploymentIds.length && io.interactive && lister && !recorded) {
    const listed = await lister();
    if (listed.length) deploymentIds = await pickDeployments(io, listed);
  }
  if (!workloadIdentities.length && deploymentIds.length && lookup) workloadIdentities = unique(await lookup(deploymentIds));
  if (!workloadIdentities.length) {
    if (!io.interactive) {
      throw new KpoError(
        'INPUT_MISSING',
        'Missing required value: --workload-identity <arn> (or ASTRO_WORKLOAD_IDENTITY), or --astro-deployment-id <id> to read it with the astro CLI.',
        "Find it in the Astro UI: Deployment → Details → Workload Identity. Example: --workload-identity arn:aws:iam::123456789012:role/astro-dep-abc123",
      );
    }
    const answer = await io.text({
      flag: '--workload-identity',
      message: "Astro Deployment's workload identity (IAM role ARN)",
      ...(fallback('workloadIdentities')?.[0] ? { default: fallback('workloadIdentities')![0]! } : {}),
      validate: (v) => validateValue('workloadIdentity', '--workload-identity', v.trim()),
    });
    workloadIdentities = [answer.trim()];
  }
  const ask = async (key: 'clusterName' | 'region', message: string, def: string) => {
    // A dry run only shows the plan: it asks for nothing that has a default.
    if (given[key] !== undefined || !io.interactive || raw.dryRun) return given[key] ?? def;
    const rule = RULE_OF[key]!;
    return (await io.text({ flag: flagOf(key), message, default: def, validate: (v) => validateValue(rule, flagOf(key), v) })).trim();
  };
  const clusterQuestion = { init: 'EKS cluster name (created if it does not exist)', verify: 'EKS cluster name to check', destroy: 'EKS cluster name' }[rctx.command ?? 'init'];
  const clusterName = await ask('clusterName', clusterQuestion, fallback('clusterName') ?? DEFAULTS.clusterName);
  const region = await ask('region', 'AWS region', fallback('region') ?? regionDefault);
  check('region', region);
  // Only init asks: verify and destroy take what init recorded (the question would mean nothing there).
  const asksPods = io.interactive && !raw.dryRun && (rctx.command ?? 'init') === 'init';
  const podPolicyArns = podPoliciesGiven ?? (asksPods ? await askPodPolicies(io, fallback('podPolicyArns') ?? []) : (fallback('podPolicyArns') ?? []));
  // Partitions only once both values are well-formed (else the shape message says it all).
  if (!problems.length) {
    for (const wi of workloadIdentities) {
      const p = partitionProblem('--workload-identity', wi, region);
      if (p) problems.push(p);
    }
    for (const arn of podPolicyArns) {
      const p = partitionProblem('--pod-policy-arn', arn, region);
      if (p) problems.push(p);
    }
  }
  const iamRole = given.iamRole ?? fallback('iamRole') ?? DEFAULTS.iamRole;
  const podRole = given.podRole ?? fallback('podRole') ?? DEFAULTS.podRole;
  // One role cannot be both: the pods' trust names only their ServiceAccount, Airflow's only the Deployments.
  if (podPolicyArns.length && podRole === iamRole) {
    problems.push(`--pod-role ${JSON.stringify(podRole)} is also the --iam-role: the task pods need an IAM role of their own (its trust names only their ServiceAccount); pick another --pod-role.`);
  }
  if (problems.length) throw new KpoError('INPUT_INVALID', problems.join('\n'));
  if (!podPolicyArns.length && (rctx.command ?? 'init') === 'init') {
    const idle = (['podIdentity', 'podRole', 'podServiceAccount'] as const).filter((k) => raw[k] !== undefined).map(flagOf);
    if (idle.length) io.warn(`${idle.join(', ')} ${idle.length > 1 ? 'have' : 'has'} no effect without --pod-policy-arn: the task pods get no AWS identity of their own.`);
  }
  if ((given.namespace ?? DEFAULTS.namespace) === 'default') {
    io.warn('--namespace default: the pods, Role and RoleBinding share the namespace every workload lands in by default; a dedicated namespace keeps the grant narrow.');
  }

  const inputs: Inputs = {
    clusterName,
    region,
    namespace: given.namespace ?? fallback('namespace') ?? DEFAULTS.namespace,
    k8sRole: given.k8sRole ?? fallback('k8sRole') ?? DEFAULTS.k8sRole,
    k8sUser: given.k8sUser ?? fallback('k8sUser') ?? DEFAULTS.k8sUser,
    iamRole,
    workloadIdentities,
    authMode: raw.authMode === undefined ? (fallback('authMode') ?? authMode) : authMode,
    permissions: raw.permissions === undefined ? (fallback('permissions') ?? permissions) : permissions,
    connId: given.connId ?? fallback('connId') ?? DEFAULTS.connId,
    ...((profile ?? fallback('profile')) ? { profile: profile ?? fallback('profile') } : {}),
    ...((raw.kubeContext ?? fallback('kubeContext')) ? { kubeContext: raw.kubeContext ?? fallback('kubeContext') } : {}),
    ...(raw.clusterConfig ? { clusterConfig: path.resolve(cwd, raw.clusterConfig) } : fallback('clusterConfig') ? { clusterConfig: fallback('clusterConfig') } : {}),
    astroDeploymentIds: deploymentIds,
    localDev: raw.localDev === undefined ? (fallback('localDev') ?? false) : Boolean(raw.localDev),
    ...((raw.allowExtraAccess ?? fallback('allowExtraAccess')) ? { allowExtraAccess: true } : {}),
    podPolicyArns,
    podIdentity: raw.podIdentity === undefined ? (fallback('podIdentity') ?? podIdentity) : podIdentity,
    podRole,
    podServiceAccount: given.podServiceAccount ?? fallback('podServiceAccount') ?? DEFAULTS.podServiceAccount,
  };
  const flags: RunFlags = {
    projectDir: path.resolve(cwd, raw.projectDir ?? DEFAULTS.projectDir),
    ...(from ? { from } : {}),
    ...(only ? { only } : {}),
    dryRun: Boolean(raw.dryRun),
    yes: Boolean(raw.yes),
    interactive: io.interactive,
    json: Boolean(raw.json),
    color: raw.color !== false && !env.NO_COLOR,
    verbose: Boolean(raw.verbose),
    force: Boolean(raw.force),
    switchContext: Boolean(raw.switchContext),
  };
  return { inputs, flags };
}

const NO_POD_IDENTITY = 'none';

/** The wizard's question about the task pods (issue #20). The default is no AWS identity for them:
 * nothing is created for the pods unless policies are named. */
async function askPodPolicies(io: Io, recorded: readonly string[]): Promise<string[]> {
  const choice = await io.select({
    flag: '--pod-policy-arn',
    message: 'Should the task pods get an AWS identity of their own (an IAM role with policies you name)?',
    choices: [
      { value: NO_POD_IDENTITY, name: 'no AWS identity for the pods' },
      { value: 'policies', name: 'yes: an IAM role for the pods with these managed policies (IRSA or EKS Pod Identity)' },
    ],
    default: recorded.length ? 'policies' : NO_POD_IDENTITY,
  });
  if (choice === NO_POD_IDENTITY) return [];
  const answer = await io.text({
    flag: '--pod-policy-arn',
    message: 'IAM policy ARNs for the pods (separated by spaces), e.g. arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
    ...(recorded.length ? { default: recorded.join(' ') } : {}),
    validate: (v) => {
      const arns = v.split(/\s+/).filter(Boolean);
      if (!arns.length) return 'name at least one policy ARN (or go back and pick "no AWS identity for the pods")';
      return arns.map((a) => validateValue('podPolicyArn', '--pod-policy-arn', a)).find(Boolean);
    },
  });
  return unique(answer.split(/\s+/).filter(Boolean));
}

function tryParse<T>(fn: () => T, problems: string[]): T | undefined {
  try {
    return fn();
  } catch (err) {
    problems.push((err as Error).message);
    return undefined;
  }
}
