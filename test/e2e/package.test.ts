// The package as published: `npm pack`, `npm install <tarball>` into an empty folder, then the
// installed bin run the way npx runs it, with no credentials and an empty HOME. Catches a file
// missing from `files`, a runtime dependency the bundle still needs, a path into src/ or the
// repository, and things that must not ship (tests, bench, Python caches).
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
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

/** Every path under `dir` with its size and mtime: what a run that writes nothing leaves as it was. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true })) {
    const s = await stat(path.join(dir, e));
    out.push(`${e} ${s.size} ${s.mtimeMs}`);
  }
  return out.sort();
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

  it('ships no private key: no PEM key block in any file, no .key or .pem file (the simulation makes its TLS at start)', async () => {
    expect(packed.files.filter((p) => /\.(key|pem|crt|p12|pfx)$/i.test(p))).toEqual([]);
    const root = path.join(installDir, 'node_modules', 'astro-remote-kpo');
    for (const f of packed.files) expect(await readFile(path.join(root, f), 'utf8'), f).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  });

  it('demo --yes runs from the install with no AWS variables, an empty HOME, and writes nothing outside its temp folder', async () => {
    const home = await mkdtemp(path.join(tmp, 'demo-home-'));
    const temp = await mkdtemp(path.join(tmp, 'demo-tmp-'));
    const kubeconfig = path.join(await mkdtemp(path.join(tmp, 'demo-kube-')), 'config');
    const kubeBytes = 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\ncurrent-context: ""\n';
    await writeFile(kubeconfig, kubeBytes);
    const cwdBefore = await tree(installDir);
    const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: home, TMPDIR: temp, KUBECONFIG: kubeconfig };
    const r = await run(path.join(installDir, 'node_modules', '.bin', 'astro-remote-kpo'), ['demo', '--yes', '--no-color'], { cwd: installDir, env, timeoutMs: 120_000 });
    const lines = r.stdout.trimEnd().split('\n');
    // exit 0: init, status and verify (every row) passed, destroy ran and the simulation holds nothing of init's.
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(lines[0]).toMatch(/SIMULATED AWS account and EKS cluster on this machine \(127\.0\.0\.1\)/);
    expect(lines.at(-1)).toMatch(/simulation: .*simulated AWS account and EKS cluster on this machine \(127\.0\.0\.1\), and nothing left it/);
    for (const cmd of ['init', 'status', 'verify', 'destroy']) expect(r.stdout).toMatch(new RegExp(`^\\$ astro-remote-kpo ${cmd} `, 'm'));
    expect(r.stdout).toMatch(/^ {2}nothing: /m);
    expect(r.stdout).not.toContain('✖');
    // Nothing outside its temp folder, and that is gone: HOME empty, KUBECONFIG byte-identical, TMPDIR empty, cwd as it was.
    expect(await readdir(home)).toEqual([]);
    expect(await readFile(kubeconfig, 'utf8')).toBe(kubeBytes);
    // Not even Node's compile cache (the launcher leaves it off for demo; the children keep theirs
    // in the demo's temp folder, which is gone).
    expect(await readdir(temp)).toEqual([]);
    expect(await tree(installDir)).toEqual(cwdBefore);
  }, 150_000);

  it('keeps Python caches out of git', async () => {
    const r = await run('git', ['ls-files', '*.pyc', '*__pycache__*'], { cwd: REPO_ROOT });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
  });
});
