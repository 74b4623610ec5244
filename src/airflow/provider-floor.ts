// The providers the two DAGs import (apache-airflow-providers-amazon for EksPodOperator and its
// hooks, apache-airflow-providers-cncf-kubernetes that the operator's module imports at its top)
// and the requirements.txt lines that give the Deployment's image every one it lacks or ships too
// old. The floors come from the providers' changelogs, pyproject files and Astronomer's provider
// tables; docs/provider-floor.md has the evidence. Everything here is pure: the stage reads the
// files and writes the result.
import { compareVersions, describeRuntime, runtimeFromDockerfile, shipsDagProviders, type RuntimeInfo } from './astro-runtime.js';
import { guarantees, linesNaming, lowestNamed, withFloor } from './requirement-lines.js';

export const AMAZON_PROVIDER = 'apache-airflow-providers-amazon';
export const CNCF_PROVIDER = 'apache-airflow-providers-cncf-kubernetes';

/** An upstream EksPodOperator bug our chain would hit, and the provider release that fixed it. */
export interface ProviderFix {
  fixedIn: string;
  issue: string;
  what: string;
}

// Known EksPodOperator failures on the token path. All three fail at the exec plugin
// (`eks_get_token`) while describe_cluster still works.
const TASK_SDK_ORM: ProviderFix = { fixedIn: '9.9.0', issue: 'apache/airflow#50771', what: "the token helper initialises Airflow's database layer and fails under the Task SDK" };
const METADATA_DB_CONN: ProviderFix = {
  fixedIn: '9.13.0',
  issue: 'apache/airflow#53578',
  what: 'the token helper cannot read a connection stored in the metadata DB (where `astro deployment connection create` puts it)',
};
/** The newest fix the floor asks for (on Airflow 3 and 2.11): the test DAG warns below it too. */
export const CROSS_ACCOUNT_401: ProviderFix = { fixedIn: '9.30.0', issue: 'apache/airflow#64657', what: 'cross-account AssumeRole through aws_conn_id gets 401 from the cluster' };

/** The Airflow the Amazon floor needs: apache-airflow-providers-amazon 9.18.0 and later (9.30.0
 * too) require apache-airflow>=2.11.0, so Airflow 2.9/2.10 cannot install it. */
export const AMAZON_FLOOR_AIRFLOW = '2.11';
/** The lowest cncf.kubernetes the Amazon provider's own `cncf.kubernetes` extra accepts. */
export const CNCF_FLOOR = '7.2.0';

/** The requirements.txt line for a provider: `name>=floor`, or the bare name (any version). */
export const requirementLine = (provider: string, floor?: string) => (floor ? `${provider}>=${floor}` : provider);
/** The lines init writes where the Airflow can install them; the test DAG prints the same ones. */
export const AMAZON_REQUIREMENT = requirementLine(AMAZON_PROVIDER, CROSS_ACCOUNT_401.fixedIn);
export const CNCF_REQUIREMENT = requirementLine(CNCF_PROVIDER, CNCF_FLOOR);

/** What one provider needs in requirements.txt, and what this project's file does about it. */
export interface ProviderPlan {
  provider: string;
  /** add: a line is added (or a bare name gets the floor); satisfied: requirements.txt already
   * asks for enough; kept-pin: the user's line allows less, kept and warned about; none: nothing to
   * add (the image ships it, or the Airflow version is unknown). */
  action: 'add' | 'satisfied' | 'kept-pin' | 'none';
  /** The version asked for; undefined: any version. */
  floor?: string;
  /** The line added, or the user's line that decides it. */
  line?: string;
  /** Why (add, satisfied, none) or the warning (kept-pin). */
  note: string;
}

export interface FloorPlan {
  providers: ProviderPlan[];
  /** The whole new requirements.txt when a line is added or changed; undefined: left as it is. */
  text?: string;
  warnings: string[];
}

interface Need {
  provider: string;
  floor?: string;
  /** Why the line: shown when it is added. */
  why: string;
  /** Why a lower pin is a problem, given the lowest version it allows. */
  risk(lowest: string | undefined): string;
}

const explain = (fixes: ProviderFix[], lowest: string | undefined) =>
  fixes
    .filter((f) => lowest === undefined || compareVersions(lowest, f.fixedIn) < 0)
    .map((f) => `before ${f.fixedIn} ${f.what} (${f.issue})`)
    .join('; ');

const missesFix = (rt: RuntimeInfo) =>
  `${describeRuntime(rt)} cannot install ${AMAZON_PROVIDER} ${CROSS_ACCOUNT_401.fixedIn} (it needs Airflow ${AMAZON_FLOOR_AIRFLOW}+), so the fix of ${CROSS_ACCOUNT_401.issue} is missing: before ${CROSS_ACCOUNT_401.fixedIn} the exec plugin reads the token from the helper's output with its stderr merged in, and ${CROSS_ACCOUNT_401.what} when that output is not clean. (The token bugs fixed in 9.9.0 and 9.13.0 affect Airflow 3 only.) Astro Runtime 13 (Airflow 2.11) or 3.x brings the fix.`;

/** Every provider line this image needs, what it needs nothing for, and what it cannot have. */
function needsOf(rt: RuntimeInfo): { needs: Need[]; skipped: ProviderPlan[]; warnings: string[] } {
  const where = describeRuntime(rt);
  if (rt.airflowMajor === 2 && (rt.airflowMinor === undefined || compareVersions(rt.airflowMinor, '2.9') < 0)) {
    const note = `no provider lines for ${where}: older than the Airflow 2.9 this tool sets providers up for`;
    return {
      needs: [],
      skipped: [AMAZON_PROVIDER, CNCF_PROVIDER].map((provider) => ({ provider, action: 'none', note })),
      warnings: [`${where} is older than Airflow 2.9: requirements.txt was left alone. The DAGs need ${AMAZON_PROVIDER} and ${CNCF_PROVIDER} (standard Runtime images ship both).`],
    };
  }
  const lacks = !shipsDagProviders(rt);
  const needs: Need[] = [];
  const skipped: ProviderPlan[] = [];
  const warnings: string[] = [];
  if (rt.airflowMajor === 3 || compareVersions(rt.airflowMinor!, AMAZON_FLOOR_AIRFLOW) >= 0) {
    const fixes = rt.airflowMajor === 3 ? [TASK_SDK_ORM, METADATA_DB_CONN, CROSS_ACCOUNT_401] : [CROSS_ACCOUNT_401];
    const fixed = fixes.map((f) => `${f.issue} fixed in ${f.fixedIn}`).join(', ');
    needs.push({
      provider: AMAZON_PROVIDER,
      floor: CROSS_ACCOUNT_401.fixedIn,
      why: `${where}${lacks ? ` has no ${AMAZON_PROVIDER}, and` : ':'} EksPodOperator needs ${CROSS_ACCOUNT_401.fixedIn} or newer for this cross-account setup (${fixed})`,
      risk: (lowest) => `EksPodOperator needs ${CROSS_ACCOUNT_401.fixedIn} with this cross-account setup: ${explain(fixes, lowest)}`,
    });
  } else {
    warnings.push(missesFix(rt));
    if (lacks) {
      needs.push({
        provider: AMAZON_PROVIDER,
        why: `${where} has no ${AMAZON_PROVIDER}; ${CROSS_ACCOUNT_401.fixedIn} needs Airflow ${AMAZON_FLOOR_AIRFLOW}+, so pip installs the newest release for Airflow ${rt.airflowMinor}`,
        risk: () => '',
      });
    } else skipped.push({ provider: AMAZON_PROVIDER, action: 'none', note: `${where} ships ${AMAZON_PROVIDER}; ${CROSS_ACCOUNT_401.fixedIn} needs Airflow ${AMAZON_FLOOR_AIRFLOW}+` });
  }
  if (lacks) {
    needs.push({
      provider: CNCF_PROVIDER,
      floor: CNCF_FLOOR,
      why: `${where} has no ${CNCF_PROVIDER}, which EksPodOperator's module imports (${CNCF_FLOOR}: the lowest the Amazon provider's cncf.kubernetes extra accepts)`,
      risk: () => `the Amazon provider's cncf.kubernetes extra asks for ${CNCF_FLOOR} or newer`,
    });
  } else skipped.push({ provider: CNCF_PROVIDER, action: 'none', note: `${where} ships ${CNCF_PROVIDER}` });
  return { needs, skipped, warnings };
}

type Planned = ProviderPlan & { amend?: { index: number; text: string }; append?: string };

function planOne(need: Need, lines: string[], where: string): Planned {
  const { provider, floor } = need;
  const found = linesNaming(lines, provider);
  const want = requirementLine(provider, floor);
  const fits = found.find((l) => (floor === undefined ? true : !l.opaque && l.spec !== '' && guarantees(l.spec, floor)));
  if (fits) return { provider, action: 'satisfied', floor, line: fits.text.trim(), note: `requirements.txt already asks for ${floor ? `${provider} >= ${floor}` : provider} (${where})` };
  const pinned = found.find((l) => l.opaque || l.spec !== '');
  if (pinned) {
    const why = pinned.opaque ? 'is a direct reference whose version this tool cannot read' : `allows versions below ${floor}`;
    const note = `requirements.txt line ${pinned.index + 1} \`${pinned.text.trim()}\` ${why}. On ${where}, ${need.risk(lowestNamed(pinned))}. Kept your pin; change it to \`${want}\` unless you pinned for a reason.`;
    return { provider, action: 'kept-pin', floor, line: pinned.text.trim(), note };
  }
  const bare = found[0];
  // The name without a version: give that line the floor rather than a second requirement.
  if (bare) return { provider, action: 'add', floor, line: withFloor(bare.text, floor!).trim(), note: need.why, amend: { index: bare.index, text: withFloor(bare.text, floor!) } };
  return { provider, action: 'add', floor, line: want, note: need.why, append: want };
}

/** The new file: amended lines in place, new lines at the end; every other byte as it was (same
 * line ending, a missing final newline supplied only where our lines go). */
function applyEdits(requirements: string | undefined, planned: Planned[]): string | undefined {
  if (!planned.some((p) => p.amend || p.append)) return undefined;
  const base = requirements ?? '';
  const eol = base.includes('\r\n') ? '\r\n' : '\n';
  const lines = base.split('\n');
  for (const { amend } of planned) if (amend) lines[amend.index] = lines[amend.index]!.endsWith('\r') ? `${amend.text}\r` : amend.text;
  const out = lines.join('\n');
  const appends = planned.flatMap((p) => (p.append ? [p.append] : []));
  if (!appends.length) return out;
  return `${out}${out === '' || out.endsWith('\n') ? '' : eol}${appends.join(eol)}${eol}`;
}

const unknownImage = (reason: string, what: string): FloorPlan => ({
  providers: [AMAZON_PROVIDER, CNCF_PROVIDER].map((provider) => ({ provider, action: 'none', note: `${reason}: no provider line set` })),
  warnings: [
    `${what}, so requirements.txt was left alone. On Airflow 3.x and slim images add \`${AMAZON_REQUIREMENT}\` and \`${CNCF_REQUIREMENT}\`; on Airflow 2.11 the first (see docs/provider-floor.md).`,
  ],
});

/** What to do with requirements.txt (`requirements` undefined: no file) for this Dockerfile. */
export function planProviderFloor(dockerfile: string | undefined, requirements: string | undefined): FloorPlan {
  const rt = runtimeFromDockerfile(dockerfile);
  if (rt === undefined) return unknownImage('no Dockerfile FROM line', 'no Dockerfile with an Astro Runtime image: cannot tell which Airflow and providers the image has');
  if ('unknown' in rt) return unknownImage(rt.unknown, rt.unknown);
  const { needs, skipped, warnings } = needsOf(rt);
  const lines = (requirements ?? '').split('\n');
  const planned = needs.map((n) => planOne(n, lines, describeRuntime(rt)));
  const providers = [...planned.map(({ amend: _amend, append: _append, ...p }): ProviderPlan => p), ...skipped].sort((a, b) => (a.provider === AMAZON_PROVIDER ? -1 : b.provider === AMAZON_PROVIDER ? 1 : 0));
  return { providers, text: applyEdits(requirements, planned), warnings: [...planned.filter((p) => p.action === 'kept-pin').map((p) => p.note), ...warnings] };
}

/** The lines a plan adds or changes (for the dry run, the confirmation and the summary). */
export const addedLines = (plan: FloorPlan) => plan.providers.flatMap((p) => (p.action === 'add' && p.line ? [p.line] : []));
