// Stage 12: the seed's "Project Contents" — k8s/ manifests and IAM policies (exactly what the
// tool applies), the two DAGs filled with the chosen names, and .astro-remote-kpo/ in
// .dockerignore. A file the user changed is never overwritten without asking: init's question
// phase shows the diff and asks before the first change (answers.overwrite); without an answer it
// is kept with a warning, unless --force.
import path from 'node:path';
import { addedLines, planProviderFloor, type FloorPlan } from '../airflow/provider-floor.js';
import { defineStage, type StageContext } from '../engine/stage.js';
import { KpoError } from '../errors.js';
import type { PlanItem, ProviderFloorOutput, StageOutputs, StageResult } from '../types.js';
import { airflowMajor, airflowServices, awsEnvironment, COMPOSE_OVERRIDE, mergeComposeOverride } from '../airflow/compose-override.js';
import { readTextIfExists, sha256, writeTextAtomic } from '../airflow/files.js';
import { classify, desiredProjectFiles, dockerignoreWithState, gitignoreWithState, isAstroProject, readHashStore, writeHashStore } from '../airflow/project-files.js';
import { unifiedDiff } from '../airflow/diff.js';
import { renderClusterConfig } from '../aws/cluster-config.js';

type Outputs = StageOutputs['project-files'];

const NOT_ASTRO = (dir: string) =>
  `${dir} is not an Astro project (no Dockerfile FROM an astro-runtime image, no .astro/ folder): writing the files anyway. Run \`astro dev init\` there to make it one.`;

/** What the survey reads: the inputs the files are filled with, where they go, what we wrote. */
export type SurveySlice = Pick<
  StageContext<{
    inputs:
      | 'clusterName'
      | 'region'
      | 'namespace'
      | 'k8sRole'
      | 'k8sUser'
      | 'workloadIdentities'
      | 'permissions'
      | 'connId'
      | 'iamRole'
      | 'clusterConfig'
      | 'localDev'
      | 'profile'
      | 'podPolicyArns'
      | 'podServiceAccount'
      | 'podRole';
    services: 'projectDir' | 'stateDir';
    own: 'project-files';
  }>,
  'inputs' | 'projectDir' | 'stateDir' | 'tryOutput'
>;

async function clusterConfigText(ctx: Pick<SurveySlice, 'inputs'>): Promise<string> {
  if (!ctx.inputs.clusterConfig) return renderClusterConfig(ctx.inputs);
  // The user's own ClusterConfig is what eksctl uses, so it is what k8s/cluster.yaml records.
  const text = await readTextIfExists(ctx.inputs.clusterConfig);
  if (text === undefined) throw new KpoError('CLUSTER_CONFIG_UNREADABLE', `--cluster-config ${JSON.stringify(ctx.inputs.clusterConfig)} does not exist.`, 'Pass an existing eksctl ClusterConfig file, or leave the flag out to have k8s/cluster.yaml rendered.');
  return text;
}

/** Where every file stands, read-only (also init's question phase: which files to ask about). */
export async function survey(ctx: SurveySlice, accountId: string) {
  const files = await desiredProjectFiles(ctx.inputs, accountId, await clusterConfigText(ctx));
  const store = { ...(ctx.tryOutput('project-files')?.hashes ?? {}), ...(await readHashStore(ctx.stateDir)) };
  const decisions = await Promise.all(
    files.map(async (f) => {
      const abs = path.join(ctx.projectDir, ...f.path.split('/'));
      const current = await readTextIfExists(abs);
      return { ...f, abs, current, status: classify(current, f.content, store[f.path]) };
    }),
  );
  // .astro-remote-kpo/ in .dockerignore (never in the image) and .gitignore (never committed).
  const ignores = [];
  for (const [name, add] of [['.dockerignore', dockerignoreWithState], ['.gitignore', gitignoreWithState]] as const) {
    const file = path.join(ctx.projectDir, name);
    const text = add(await readTextIfExists(file));
    if (text !== undefined) ignores.push({ name, file, text });
  }
  const requirementsFile = path.join(ctx.projectDir, 'requirements.txt');
  const dockerfile = await readTextIfExists(path.join(ctx.projectDir, 'Dockerfile'));
  const floor = planProviderFloor(dockerfile, await readTextIfExists(requirementsFile));
  // --local-dev: docker-compose.override.yml gives `astro dev` the user's ~/.aws (undefined: nothing to add).
  const composeFile = path.join(ctx.projectDir, COMPOSE_OVERRIDE);
  const compose = ctx.inputs.localDev
    ? mergeComposeOverride(await readTextIfExists(composeFile), airflowServices(airflowMajor(dockerfile)), awsEnvironment(ctx.inputs.profile))
    : undefined;
  return { decisions, store, ignores, requirementsFile, floor, composeFile, compose, astroProject: await isAstroProject(ctx.projectDir, dockerfile) };
}

/** What state records per provider; `added` once run() wrote the line. */
function floorOutput(f: FloorPlan, wrote: boolean): ProviderFloorOutput[] {
  return f.providers.map(({ provider, action, floor, line, note }) => ({
    provider,
    action: action === 'add' ? (wrote ? 'added' : 'none') : action,
    ...(floor ? { floor } : {}),
    ...(line ? { line } : {}),
    note,
  }));
}

export type Survey = Awaited<ReturnType<typeof survey>>;
export type Decision = Survey['decisions'][number];

/** One plan item per provider: the line it adds, the pin it keeps, or why nothing is needed. */
function floorPlanItems(f: FloorPlan): PlanItem[] {
  const items = f.providers.map((p): PlanItem => {
    switch (p.action) {
      case 'add':
        return { action: `add \`${p.line}\` to requirements.txt (every other line kept)`, details: p.note };
      case 'kept-pin':
        return { action: `keep your ${p.provider} pin in requirements.txt, with a warning`, details: p.note };
      default:
        return { action: `${p.provider}: ${p.note}` };
    }
  });
  // Warnings that are not a kept pin's (those are in its item): the fix an old Airflow misses, an unknown image.
  const pinNotes = new Set(f.providers.filter((p) => p.action === 'kept-pin').map((p) => p.note));
  for (const w of f.warnings) if (!pinNotes.has(w)) items.push({ action: 'requirements.txt: a warning', details: w });
  return items;
}

export const projectFilesStage = defineStage({
  id: 'project-files',
  title: 'Project files (k8s/ manifests, IAM policies, DAGs)',
  // preflight: the account id in the permissions policy and the test DAG.
  needs: ['preflight'],
  // iamRole: the test DAG names the role's ARN; profile: the --local-dev compose override;
  // podPolicyArns, podServiceAccount, podRole: the DAGs' POD_SERVICE_ACCOUNT and POD_ROLE_NAME.
  inputs: ['clusterName', 'region', 'namespace', 'k8sRole', 'k8sUser', 'workloadIdentities', 'permissions', 'connId', 'iamRole', 'clusterConfig', 'localDev', 'profile', 'podPolicyArns', 'podServiceAccount', 'podRole'],
  services: ['projectDir', 'stateDir'],
  flags: ['force', 'interactive'],
  // Per file the user changed: overwrite it? (asked before the first change; else --force decides)
  answers: ['overwrite'],

  async check(ctx) {
    // init's confirmation surveyed the same files a moment ago (when nobody was asked anything).
    const s = ctx.handoff('project-files')?.survey ?? (await survey(ctx, ctx.output('preflight').accountId));
    const pending = s.decisions.filter((d) => d.status !== 'same');
    if (pending.length || s.ignores.length || s.floor.text !== undefined || s.compose !== undefined) {
      const what = pending.map((d) => `${d.path} (${d.status === 'changed' ? 'changed by you' : d.status})`);
      what.push(...s.ignores.map((i) => i.name));
      if (s.floor.text !== undefined) what.push(`requirements.txt (${addedLines(s.floor).join(', ')})`);
      if (s.compose !== undefined) what.push(`${COMPOSE_OVERRIDE} (--local-dev)`);
      return { done: false, reason: `to write: ${what.join(', ')}`, seen: s };
    }
    const hashes = Object.fromEntries(s.decisions.map((d) => [d.path, sha256(d.content)]));
    return {
      done: true,
      reason: `all ${s.decisions.length} project files are up to date`,
      outputs: { written: [], kept: [], astroProject: s.astroProject, hashes, providerFloor: floorOutput(s.floor, false) },
      warnings: [...(s.astroProject ? [] : [NOT_ASTRO(ctx.projectDir)]), ...s.floor.warnings],
    };
  },

  async run(ctx, seen?: Survey): Promise<StageResult<Outputs>> {
    // What check() surveyed (--from/--only force run() without a check: it surveys itself).
    const s = seen ?? (await survey(ctx, ctx.output('preflight').accountId));
    const warnings: string[] = [...(s.astroProject ? [] : [NOT_ASTRO(ctx.projectDir)]), ...s.floor.warnings];
    const written: string[] = [];
    const kept: string[] = [];
    const hashes: Record<string, string> = {};
    for (const d of s.decisions) {
      if (d.status === 'changed' && !(ctx.answers.overwrite?.[d.path] ?? ctx.flags.force)) {
        kept.push(d.path);
        if (s.store[d.path]) hashes[d.path] = s.store[d.path]!;
        warnings.push(`kept ${d.path}: it differs from what astro-remote-kpo wrote (your edit?). Rerun with --force to overwrite it, or delete it.`);
        continue;
      }
      if (d.status !== 'same') {
        await writeTextAtomic(d.abs, d.content);
        written.push(d.path);
      }
      hashes[d.path] = sha256(d.content);
    }
    // Keep remembering files we wrote under other inputs (e.g. the permissions policy).
    await writeHashStore(ctx.stateDir, { ...s.store, ...hashes });
    for (const i of s.ignores) {
      await writeTextAtomic(i.file, i.text);
      written.push(i.name);
    }
    // Only our lines change; the file is the user's (their other pins, comments, line endings).
    if (s.floor.text !== undefined) {
      await writeTextAtomic(s.requirementsFile, s.floor.text);
      written.push('requirements.txt');
    }
    if (s.compose !== undefined) {
      await writeTextAtomic(s.composeFile, s.compose);
      written.push(COMPOSE_OVERRIDE);
    }
    const extras = new Set(['.dockerignore', '.gitignore', 'requirements.txt', COMPOSE_OVERRIDE]);
    const same = s.decisions.length - written.filter((p) => !extras.has(p)).length - kept.length;
    const parts = [`wrote ${written.length} file${written.length === 1 ? '' : 's'}`, `${same} up to date`, ...(kept.length ? [`kept ${kept.length} you changed`] : [])];
    if (s.floor.text !== undefined) parts.push(`requirements.txt: ${addedLines(s.floor).join(', ')}`);
    return { outputs: { written, kept, astroProject: s.astroProject, hashes, providerFloor: floorOutput(s.floor, true) }, summary: parts.join(', '), warnings };
  },

  async plan(ctx) {
    const accountId = ctx.tryOutput('preflight')?.accountId;
    const s = await survey(ctx, accountId ?? '<account-id>');
    const items: PlanItem[] = [];
    const same: string[] = [];
    for (const d of s.decisions) {
      const unknown = !accountId && ['k8s/iam-permissions-policy.json', 'dags/test_eks_connectivity.py'].includes(d.path) ? { unknown: 'the AWS account id (no credentials): shown as <account-id>' } : {};
      if (d.status === 'same') same.push(d.path);
      else if (d.status === 'create') items.push({ action: `create ${d.path}`, ...unknown });
      else if (d.status === 'update') items.push({ action: `update ${d.path}`, details: unifiedDiff(d.current ?? '', d.content, d.path).trimEnd(), ...unknown });
      else {
        const verb = ctx.flags.force ? 'overwrite (--force)' : ctx.flags.interactive ? 'ask before any change whether to overwrite' : 'keep (--force overwrites)';
        items.push({ action: `${verb}: ${d.path}, changed by you`, details: unifiedDiff(d.current ?? '', d.content, d.path).trimEnd(), ...unknown });
      }
    }
    if (same.length) items.push({ action: `up to date: ${same.join(', ')}` });
    for (const i of s.ignores) items.push({ action: `add .astro-remote-kpo/ to ${i.name}` });
    items.push(...floorPlanItems(s.floor));
    if (s.compose !== undefined) items.push({ action: `--local-dev: give astro dev your ~/.aws read-only in docker-compose.override.yml (other content kept)`, details: s.compose.trimEnd() });
    if (!s.astroProject) items.push({ action: NOT_ASTRO(ctx.projectDir) });
    return { items, outputs: { written: [], kept: [], astroProject: s.astroProject, hashes: {}, providerFloor: floorOutput(s.floor, false) } };
  },
});
