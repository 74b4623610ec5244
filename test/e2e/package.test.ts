// The package as published: `npm pack`, `npm install <tarball>` into an empty folder, then the
// installed bin run the way npx runs it, with no credentials and an empty HOME. Catches a file
// missing from `files`, a runtime dependency the bundle still needs, a path into src/ or the
// repository, and things that must not ship (tests, bench, Python caches).
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuild } from './aws-helpers.js';
import { installTarball, installedPackages, packRepo, run, type Packed } from '../support/pack-install.js';
import { REPO_ROOT } from '../support/run-cli.js';

const WI = 'arn:aws:iam::123456789012:role/x';
let tmp: string;
let packed: Packed;
let installDir: string;
let install: Awaited<ReturnType<typeof installTarball>>;

beforeAll(async () => {
  requireBuild();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'kpo-package-'));
  packed = await packRepo(tmp);
  installDir = path.join(tmp, 'app');
  install = await installTarball(packed.tarball, installDir);
}, 240_000);
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The installed bin as npx runs it: through node_modules/.bin, node from PATH, nothing else. */
async function installedCli(args: string[], home: string, cwd: string) {
  const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: home, CI: 'true', AWS_EC2_METADATA_DISABLED: 'true' };
  return run(path.join(installDir, 'node_modules', '.bin', 'astro-remote-kpo'), args, { cwd, env, timeoutMs: 60_000 });
}

describe('the published package (npm pack + npm install)', () => {
  it('ships the bundle, templates and DAGs, and no tests, bench, sources or Python caches', async () => {
    const f = packed.files;
    for (const must of ['package.json', 'bin/astro-remote-kpo.js', 'bin/node-floor.js', 'dist/cli.js', 'dist/THIRD-PARTY-LICENSES.md', 'templates/cluster.yaml', 'dags/remote_kpo.py', 'dags/test_eks_connectivity.py']) {
      expect(f).toContain(must);
    }
    expect(f.filter((p) => /\.pyc$|__pycache__|^(test|bench|src|scripts)\/|\.map$|^dist\/meta\.json$|\.ts$/.test(p))).toEqual([]);
    // Every chunk the bundle can load is in the package (a lost chunk would fail only on the path that needs it).
    const built = (await readdir(path.join(REPO_ROOT, 'dist'))).filter((x) => x.endsWith('.js')).map((x) => `dist/${x}`);
    expect(f.filter((p) => p.startsWith('dist/') && p.endsWith('.js'))).toEqual(built.sort());
  });

  it('installs without dependencies or install scripts', async () => {
    expect(install.code, install.stderr).toBe(0);
    expect(`${install.stdout}${install.stderr}`).not.toMatch(/install-scripts|prepare|postinstall/i);
    expect(await installedPackages(installDir)).toEqual(['astro-remote-kpo']);
    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; dependencies?: object };
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(Object.keys(pkg.scripts).filter((s) => /^(pre|post)?(install|prepare)$/.test(s))).toEqual([]);
    expect(pkg.scripts.prepack).toContain('build');
  });

  it('runs --help and init --dry-run from the install with no credentials', async () => {
    const home = await mkdtemp(path.join(tmp, 'home-'));
    const help = await installedCli(['--help'], home, tmp);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain('Usage: astro-remote-kpo');

    const project = await mkdtemp(path.join(tmp, 'project-'));
    const dry = await installedCli(['init', '--dry-run', '--workload-identity', WI, '--project-dir', project, '--no-color'], home, project);
    const out = `${dry.stdout}\n${dry.stderr}`;
    expect(dry.code, out).toBe(0);
    // The SDKs load from the bundle and say what is missing, instead of failing to load.
    expect(out).toContain('No AWS credentials found');
    expect(out).not.toMatch(/is not a constructor|is not a function|Cannot find (module|package)|ERR_MODULE_NOT_FOUND/);
    // templates/ and dags/ are read from the installed package.
    expect(out).toContain('name: remote-kpo-demo');
    expect(out).toContain('create dags/test_eks_connectivity.py');
    expect(await readdir(project)).toEqual([]); // a dry run writes nothing
  });

  it('keeps Python caches out of git', async () => {
    const r = await run('git', ['ls-files', '*.pyc', '*__pycache__*'], { cwd: REPO_ROOT });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
  });
});
