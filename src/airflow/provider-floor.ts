// The lowest apache-airflow-providers-amazon under which EksPodOperator works for this setup, and
// the one requirements.txt line that ensures it. The floors come from the provider's changelog
// (providers/amazon/docs/changelog.rst) and the upstream issues; docs/provider-floor.md has the
// evidence. Everything here is pure: the stage reads the files and writes the result.

export const AMAZON_PROVIDER = 'apache-airflow-providers-amazon';

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

/** What the Dockerfile says about Airflow. */
export interface RuntimeInfo {
  /** The image reference after FROM, as written. */
  image: string;
  /** The Astro Runtime tag, e.g. "3.1-2" or "12.8.0". */
  tag: string;
  airflowMajor: 2 | 3;
  /** "3.1", "2.11", ... when the tag tells; undefined for an Airflow 2 tag we have no table entry for. */
  airflowMinor?: string;
}

// Astro Runtime majors 9-13 are Airflow 2.7-2.11 (Astronomer's runtime release notes); Runtime
// 3.x is Airflow 3.x with the same minor.
const RUNTIME2_AIRFLOW: Record<number, string> = { 9: '2.7', 10: '2.8', 11: '2.9', 12: '2.10', 13: '2.11' };

/** The Astro Runtime image in a Dockerfile (the last FROM, which builds the image), or undefined. */
export function runtimeFromDockerfile(text: string | undefined): RuntimeInfo | { image: string; unknown: string } | undefined {
  if (text === undefined) return undefined;
  const froms = [...text.matchAll(/^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*(\S+)/gim)].map((m) => m[1]!);
  const image = froms.at(-1);
  if (!image) return undefined;
  const m = /(?:astro-runtime|\/runtime):([^\s@]+)/.exec(image);
  if (!m) return { image, unknown: `the image ${image} is not an Astro Runtime image` };
  const tag = m[1]!;
  const v = /^(\d+)\.(\d+)/.exec(tag);
  if (!v) return { image, unknown: `the Astro Runtime tag ${tag} does not name a version` };
  const major = Number(v[1]);
  if (major === 3) return { image, tag, airflowMajor: 3, airflowMinor: `3.${v[2]}` };
  if (major >= 4 && major <= 13) return { image, tag, airflowMajor: 2, airflowMinor: RUNTIME2_AIRFLOW[major] };
  return { image, unknown: `Astro Runtime ${tag} is not a version this tool knows` };
}

/** The floor for an Airflow version, or why there is none. */
export type Floor = { version: string; fixes: ProviderFix[] } | { none: string };

export function floorFor(rt: RuntimeInfo): Floor {
  if (rt.airflowMajor === 3) return { version: CROSS_ACCOUNT_401.fixedIn, fixes: [TASK_SDK_ORM, METADATA_DB_CONN, CROSS_ACCOUNT_401] };
  // On Airflow 2 the token helper reads the connection itself (no Task SDK), so #50771 and
  // #53578 do not apply. Since 9.13.0 the exec plugin sources a credentials file on every Airflow
  // version, and that template is what #65335 fixed (9.30.0): needed on 2.11, which can install it.
  if (rt.airflowMinor === '2.11') return { version: CROSS_ACCOUNT_401.fixedIn, fixes: [CROSS_ACCOUNT_401] };
  return {
    none: `Airflow ${rt.airflowMinor ?? '2'} (Astro Runtime ${rt.tag}) cannot install ${AMAZON_PROVIDER} ${CROSS_ACCOUNT_401.fixedIn} (it needs Airflow 2.11+), and the token bugs fixed in 9.9.0 and 9.13.0 affect Airflow 3 only; if your image has ${AMAZON_PROVIDER} 9.13-9.29, EksPodOperator may get 401 cross-account (${CROSS_ACCOUNT_401.issue}): Astro Runtime 13 or 3.x fixes that`,
  };
}

/** PEP 503 normalised name. */
const norm = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

function cmp(a: string, b: string): number {
  const pa = a.split('.').map((x) => parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** One requirements.txt line that names the Amazon provider. */
interface ProviderLine {
  index: number;
  text: string;
  /** The version specifier as written ("==9.5.0,<10"), "" for none. */
  spec: string;
  /** Set when the line is a URL or something else we cannot read versions from. */
  opaque?: boolean;
}

function providerLines(lines: string[]): ProviderLine[] {
  const out: ProviderLine[] = [];
  lines.forEach((raw, index) => {
    const text = raw.replace(/\r$/, '');
    const body = text.replace(/(^|\s)#.*$/, '').trim();
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$/.exec(body);
    if (!m || norm(m[1]!) !== AMAZON_PROVIDER) return;
    const rest = m[3]!.split(';')[0]!.trim();
    if (rest.startsWith('@')) out.push({ index, text, spec: rest, opaque: true });
    else out.push({ index, text, spec: rest.replace(/\s+/g, '') });
  });
  return out;
}

/** Does this specifier set guarantee at least `floor`? (A lower bound at or above it, and no
 * clause that caps it below.) Anything we cannot read guarantees nothing. */
function guarantees(spec: string, floor: string): boolean {
  let guaranteed = false;
  for (const c of spec.split(',').filter(Boolean)) {
    const m = /^(===|==|~=|>=|<=|!=|>|<)([0-9][0-9.]*)$/.exec(c);
    if (!m) {
      if (!/^!=/.test(c)) return false;
      continue;
    }
    const op = m[1]!;
    const below = cmp(m[2]!, floor) < 0;
    if (op === '<' || op === '<=') {
      if (cmp(m[2]!, floor) < 0 || (op === '<' && cmp(m[2]!, floor) === 0)) return false;
    } else if (op !== '!=') {
      if (below) return false;
      guaranteed = true;
    }
  }
  return guaranteed;
}

export type FloorPlan =
  | { action: 'add'; floor: string; line: string; text: string; reason: string }
  | { action: 'satisfied'; floor: string; line: string; reason: string }
  | { action: 'kept-pin'; floor: string; line: string; warning: string }
  | { action: 'none'; reason: string; warning?: string };

function fixesAbove(fixes: ProviderFix[], version: string | undefined): ProviderFix[] {
  return fixes.filter((f) => version === undefined || cmp(version, f.fixedIn) < 0);
}

const explain = (fixes: ProviderFix[]) => fixes.map((f) => `before ${f.fixedIn} ${f.what} (${f.issue})`).join('; ');

/**
 * What to do with requirements.txt. `text` is the file (undefined: none); the result's `text` is
 * the whole new file, every other byte as it was: same line ending, a missing final newline
 * supplied only where our line goes.
 */
export function planProviderFloor(dockerfile: string | undefined, requirements: string | undefined): FloorPlan {
  const rt = runtimeFromDockerfile(dockerfile);
  if (rt === undefined) return { action: 'none', reason: 'no Dockerfile FROM line: cannot tell the Airflow version, so no provider floor was set', warning: `no Dockerfile with an Astro Runtime image: cannot tell Airflow 2 from 3, so requirements.txt was left alone. On Airflow 3 or 2.11, EksPodOperator needs ${AMAZON_PROVIDER}>=${CROSS_ACCOUNT_401.fixedIn} (see docs/provider-floor.md).` };
  if ('unknown' in rt) return { action: 'none', reason: `${rt.unknown}: no provider floor set`, warning: `${rt.unknown}, so requirements.txt was left alone. On Airflow 3 or 2.11, EksPodOperator needs ${AMAZON_PROVIDER}>=${CROSS_ACCOUNT_401.fixedIn} (see docs/provider-floor.md).` };
  const floor = floorFor(rt);
  const where = `Airflow ${rt.airflowMinor ?? rt.airflowMajor} (Astro Runtime ${rt.tag})`;
  if ('none' in floor) return { action: 'none', reason: `no provider floor for ${where}`, warning: floor.none };
  const want = `${AMAZON_PROVIDER}>=${floor.version}`;
  const lines = (requirements ?? '').split('\n');
  const found = providerLines(lines);
  const satisfied = found.find((l) => !l.opaque && l.spec && guarantees(l.spec, floor.version));
  if (satisfied) return { action: 'satisfied', floor: floor.version, line: satisfied.text.trim(), reason: `requirements.txt already asks for ${AMAZON_PROVIDER} >= ${floor.version} (${where})` };
  const pinned = found.find((l) => l.opaque || l.spec !== '');
  if (pinned) {
    const m = /(?:==|~=|>=|>|===)\s*([0-9][0-9.]*)/.exec(pinned.spec);
    const lowest = pinned.opaque ? undefined : m?.[1];
    const why = pinned.opaque ? 'is a direct reference whose version this tool cannot read' : `allows versions below ${floor.version}`;
    return {
      action: 'kept-pin',
      floor: floor.version,
      line: pinned.text.trim(),
      warning: `requirements.txt line ${pinned.index + 1} \`${pinned.text.trim()}\` ${why}. On ${where} with this cross-account setup, EksPodOperator needs ${floor.version}: ${explain(fixesAbove(floor.fixes, lowest))}. Kept your pin; change it to \`${want}\` unless you pinned for a reason.`,
    };
  }
  const reason = `${where}: EksPodOperator needs ${AMAZON_PROVIDER} ${floor.version} or newer (${floor.fixes.map((f) => `${f.issue} fixed in ${f.fixedIn}`).join(', ')})`;
  const bare = found[0];
  const eol = (requirements ?? '').includes('\r\n') ? '\r\n' : '\n';
  if (bare) {
    // The name without a version: give that line the floor rather than a second requirement.
    const text = bare.text.replace(/^(\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?)/, `$1>=${floor.version}`);
    const next = [...lines];
    next[bare.index] = lines[bare.index]!.endsWith('\r') ? `${text}\r` : text;
    return { action: 'add', floor: floor.version, line: text.trim(), text: next.join('\n'), reason };
  }
  const base = requirements ?? '';
  const sep = base === '' || base.endsWith('\n') ? '' : eol;
  return { action: 'add', floor: floor.version, line: want, text: `${base}${sep}${want}${eol}`, reason };
}
