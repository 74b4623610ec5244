// The Node floor, checked at build time against what is really in the bundle. package.json's
// engines.node is the range the launcher accepts (bin/node-floor.js); every package with code in a
// chunk brings its own engines.node. The build fails when
//   - the range is not in the shape the launcher reads (`>=X.Y.Z` / `^X.Y.Z`, joined by `||`);
//   - a bundled package refuses a version the range accepts (that Node would start the CLI and
//     die loading the chunk, e.g. undici's zstd decompressor is undefined before Node 22.19);
//   - a lower bound of the range is higher than any bundled package needs (the floor must equal
//     the highest floor in the bundle, not drift above it).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { engineRange, parseRange } from '../bin/node-floor.js';
import { packageDirOf } from './third-party-licenses.mjs';

/** Every bundled package (code in some chunk) with an engines.node: [{ id, range }]. */
async function bundledEngines(root, metafile) {
  const dirs = new Set();
  for (const out of Object.values(metafile.outputs)) for (const input of Object.keys(out.inputs)) {
    const dir = packageDirOf(input);
    if (dir) dirs.add(dir);
  }
  const found = await Promise.all([...dirs].map(async (dir) => {
    const pkg = JSON.parse(await readFile(path.join(root, dir, 'package.json'), 'utf8'));
    return pkg.engines?.node ? { id: `${pkg.name}@${pkg.version}`, range: pkg.engines.node } : undefined;
  }));
  return found.filter(Boolean).sort((a, b) => a.id.localeCompare(b.id));
}

/** The version just below `v` ('22.19.0' → '22.18.999'): refused by whoever sets that bound. */
function below(v) {
  const [a, b, c] = v.split('.').map(Number);
  if (c > 0) return `${a}.${b}.${c - 1}`;
  return b > 0 ? `${a}.${b - 1}.999` : `${a - 1}.999.999`;
}

/** A version `ours` accepts and `theirs` refuses, from the bounds either names (for the message). */
function outside(ours, theirs) {
  const named = `${ours} ${theirs}`.match(/\d+\.\d+\.\d+/g) ?? [];
  const candidates = named.flatMap((v) => [v, below(v), `${v.split('.')[0]}.0.0`]).sort(semver.compare);
  return candidates.find((v) => semver.satisfies(v, ours) && !semver.satisfies(v, theirs));
}

/** Problems (empty: the floor holds) and, per lower bound of the range, the packages that set it. */
export async function checkNodeFloor(root, metafile) {
  const ours = engineRange();
  const alts = parseRange(ours);
  const where = `package.json engines.node "${ours}"`;
  if (!alts) return { problems: [`${where} must be ">=X.Y.Z" or "^X.Y.Z" alternatives joined by "||" (the launcher, bin/node-floor.js, reads no other shape)`], setBy: {} };
  const engines = await bundledEngines(root, metafile);
  const problems = [];
  for (const e of engines) {
    if (semver.subset(ours, e.range)) continue;
    const example = outside(ours, e.range);
    problems.push(`${e.id} is bundled and needs Node ${e.range}, but ${where} also accepts ${example ? `e.g. ${example}` : 'versions outside it'}, where the launcher would start the CLI and that chunk may fail to load: raise engines.node so every version it accepts satisfies ${e.range} (the launcher, README and .ci/node-env.sh follow it)`);
  }
  const setBy = {};
  for (const a of alts) {
    const bound = a.from.join('.');
    const prev = below(bound);
    // A bound is needed when some bundled package refuses the version just below it.
    const setters = engines.filter((e) => !semver.satisfies(prev, e.range)).map((e) => e.id);
    if (setters.length) setBy[bound] = setters;
    else if (semver.satisfies(prev, ours) === false) problems.push(`${where}: its lower bound ${bound} is higher than any bundled package needs (none refuses ${prev}); lower it to the highest floor in the bundle`);
  }
  return { problems, setBy };
}
