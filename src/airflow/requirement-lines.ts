// Reading requirements.txt the way pip does, as far as the provider floor needs: which lines name
// a distribution, and whether a line's specifiers guarantee a minimum version.
import { compareVersions } from './astro-runtime.js';

/** PEP 503 normalised name. */
export const normName = (name: string) => name.toLowerCase().replace(/[-_.]+/g, '-');

/** One requirements.txt line that names a distribution. */
export interface RequirementLine {
  index: number;
  /** The line without its line ending. */
  text: string;
  /** The version specifier as written ("==9.5.0,<10"), "" for none. */
  spec: string;
  /** Set when the line is a URL or something else we cannot read versions from. */
  opaque?: boolean;
}

/** The lines of `lines` (split on \n, a trailing \r kept in the input) that name `name`. */
export function linesNaming(lines: string[], name: string): RequirementLine[] {
  const out: RequirementLine[] = [];
  const want = normName(name);
  lines.forEach((raw, index) => {
    const text = raw.replace(/\r$/, '');
    const body = text.replace(/(^|\s)#.*$/, '').trim();
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$/.exec(body);
    if (!m || normName(m[1]!) !== want) return;
    const rest = m[3]!.split(';')[0]!.trim();
    if (rest.startsWith('@')) out.push({ index, text, spec: rest, opaque: true });
    else out.push({ index, text, spec: rest.replace(/\s+/g, '') });
  });
  return out;
}

/** Does this specifier set guarantee at least `floor`? (A lower bound at or above it, and no
 * clause that caps it below.) Anything we cannot read guarantees nothing. */
export function guarantees(spec: string, floor: string): boolean {
  let guaranteed = false;
  for (const c of spec.split(',').filter(Boolean)) {
    const m = /^(===|==|~=|>=|<=|!=|>|<)([0-9][0-9.]*)$/.exec(c);
    if (!m) {
      if (!/^!=/.test(c)) return false;
      continue;
    }
    const op = m[1]!;
    const d = compareVersions(m[2]!, floor);
    if (op === '<' || op === '<=') {
      if (d < 0 || (op === '<' && d === 0)) return false;
    } else if (op !== '!=') {
      if (d < 0) return false;
      guaranteed = true;
    }
  }
  return guaranteed;
}

/** The lowest version a specifier names as its bound ("==9.5.0" → 9.5.0), if it names one. */
export function lowestNamed(line: RequirementLine): string | undefined {
  if (line.opaque) return undefined;
  return /(?:===|==|~=|>=|>)\s*([0-9][0-9.]*)/.exec(line.spec)?.[1];
}

/** The same line with `>=floor` after the name (and extras): for a line that names the
 * distribution without a version. The comment and everything else on the line stay. */
export function withFloor(text: string, floor: string): string {
  return text.replace(/^(\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?)/, `$1>=${floor}`);
}
