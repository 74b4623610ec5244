// The Node.js versions astro-remote-kpo runs on. The one source of truth is `engines.node` in
// package.json; this module reads it for the launcher (bin/astro-remote-kpo.js, before anything
// else loads), .ci/node-env.sh, the build (scripts/node-floor-check.mjs, which fails when a bundled
// package's own `engines` refuses a version this range accepts) and the tests. The range is kept
// to the two shapes npm and this file agree on: `>=X.Y.Z` and `^X.Y.Z`, joined by `||`.
// Written for old Node (no `?.` or `??`), so that an old Node gets the sentence, not a SyntaxError.
import { readFileSync } from 'node:fs';

/** package.json's engines.node, as written. */
export function engineRange() {
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).engines.node;
}

const compare = (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** `^22.19.0 || >=23.5.0` → its alternatives, lowest first; undefined for any other shape. */
export function parseRange(range) {
  const alts = [];
  for (const part of String(range).split('||')) {
    const m = /^\s*(\^|>=)\s*(\d+)\.(\d+)\.(\d+)\s*$/.exec(part);
    if (!m) return undefined;
    alts.push({ op: m[1], from: [Number(m[2]), Number(m[3]), Number(m[4])] });
  }
  return alts.sort((a, b) => compare(a.from, b.from));
}

/** Whether a Node version ('v22.19.0' or '22.19.0') is in the range. */
export function accepts(alts, version) {
  const v = String(version).replace(/^v/, '').split('-')[0].split('.').map(Number);
  return alts.some((a) => compare(v, a.from) >= 0 && (a.op === '>=' || v[0] === a.from[0]));
}

/** The lowest version accepted: the floor ('22.19.0'). */
export function floorOf(alts) {
  return alts[0].from.join('.');
}

const short = (v) => (v[2] ? v.join('.') : `${v[0]}.${v[1]}`);

/** "22.19 or newer (on Node 23: 23.5 or newer)": the range in words. */
export function describeRange(alts) {
  const extra = [];
  for (let i = 1; i < alts.length; i += 1) {
    const prev = alts[i - 1];
    const gapFrom = prev.op === '^' ? [prev.from[0] + 1, 0, 0] : undefined;
    const next = alts[i].from;
    if (!gapFrom || compare(gapFrom, next) >= 0) continue;
    const skipped = [];
    for (let major = gapFrom[0]; major < next[0]; major += 1) skipped.push(major);
    if (skipped.length) extra.push(`not Node ${skipped.join(', ')}`);
    if (next[1] || next[2]) extra.push(`on Node ${next[0]}: ${short(next)} or newer`);
  }
  const last = alts[alts.length - 1];
  if (last.op === '^') extra.push(`not Node ${last.from[0] + 1} or newer`);
  return `${short(alts[0].from)} or newer${extra.length ? ` (${extra.join('; ')})` : ''}`;
}
