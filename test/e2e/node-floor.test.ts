// The bundle on the oldest Node the launcher accepts. That floor is package.json's engines.node
// (bin/node-floor.js); the build keeps it inside every bundled package's own engines range. This
// proves it where it matters: that exact Node (fetched from the npm registry, test/support/
// floor-node.ts) imports every chunk in dist/ (a chunk is loaded only on the path that needs it,
// e.g. the client-node transport only for a kubeconfig with a non-AWS exec plugin, so a run
// would not notice), and runs the CLI through the launcher.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireBuild } from './aws-helpers.js';
import { floorNode, type FloorNode } from '../support/floor-node.js';
import { run } from '../support/pack-install.js';
import { CLI_BIN, REPO_ROOT } from '../support/run-cli.js';

let floor: FloorNode;

beforeAll(async () => {
  requireBuild();
  // A first run downloads about 30 MB (once; later runs find it in ~/.cache/astro-remote-kpo).
  floor = await floorNode();
  if ('skip' in floor) console.warn(`node-floor.test.ts: not run: ${floor.skip}`);
}, 300_000);

const env = () => ({ PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NODE_DISABLE_COMPILE_CACHE: '1' });

/** Imports each file in turn (in a fresh process: a chunk's load errors are what we look for) and
 * prints one JSON line: the files that threw, with the first line of the error. */
const IMPORT_ALL = `
const failures = [];
for (const f of process.argv.slice(1)) {
  try { await import(f); } catch (e) { failures.push({ file: f, error: String(e && e.stack || e).split('\\n').slice(0, 3).join(' | ') }); }
}
process.stdout.write(JSON.stringify(failures) + '\\n');
process.exit(0);
`;

describe('the Node version the launcher names as its floor', () => {
  it('is the Node this test runs the bundle on', async (ctx) => {
    if ('skip' in floor) return ctx.skip(floor.skip);
    const r = await run(floor.node, ['--version'], { cwd: REPO_ROOT, env: env() });
    expect(r.stdout.trim()).toBe(`v${floor.version}`);
  });

  it('imports every chunk in dist/', async (ctx) => {
    if ('skip' in floor) return ctx.skip(floor.skip);
    // cli.js and sim-eksctl.js are entry points: importing one runs it (the next test runs the CLI
    // properly; the stand-in eksctl runs in the demo's and the e2e tests' children).
    const chunks = (await readdir(path.join(REPO_ROOT, 'dist'))).filter((f) => f.endsWith('.js') && f !== 'cli.js' && f !== 'sim-eksctl.js').sort();
    expect(chunks.length).toBeGreaterThan(10);
    expect(chunks.some((f) => f.startsWith('client-node-transport-'))).toBe(true);
    const r = await run(floor.node, ['--input-type=module', '-e', IMPORT_ALL, ...chunks.map((f) => `./dist/${f}`)], { cwd: REPO_ROOT, env: env(), timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual([]);
  }, 150_000);

  it('runs the CLI through the launcher (dist/cli.js loaded, not the help table)', async (ctx) => {
    if ('skip' in floor) return ctx.skip(floor.skip);
    const cwd = REPO_ROOT;
    const version = await run(floor.node, [CLI_BIN, '--version'], { cwd, env: { ...env(), ASTRO_KPO_HELP_TABLE: 'off' } });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await run(floor.node, [CLI_BIN, 'verify', '--help'], { cwd, env: { ...env(), ASTRO_KPO_HELP_TABLE: 'off' } });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: astro-remote-kpo verify');
  });
});
