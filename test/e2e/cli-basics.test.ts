// The built CLI as a user runs it: help, version, exit codes, and that --help stays light.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectFailure, failureCodes } from '../support/failure.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const bin = path.join(repo, 'bin', 'astro-remote-kpo.js');
const WI = 'arn:aws:iam::123456789012:role/astro-dep-abc123';

interface Result { code: number; stdout: string; stderr: string }

function cli(args: string[], opts: { env?: Record<string, string>; cwd?: string; nodeArgs?: string[] } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    // A clean environment: no credentials, no kubeconfig, nowhere to send traffic.
    const env = { PATH: process.env.PATH ?? '', HOME: opts.env?.HOME ?? os.tmpdir(), CI: 'true', AWS_EC2_METADATA_DISABLED: 'true', ...opts.env };
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), bin, ...args], { cwd: opts.cwd ?? repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

describe('astro-remote-kpo CLI basics', () => {
  it('--help lists the commands; init --help lists every flag with examples', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['init', 'status', 'verify', 'destroy']) expect(top.stdout).toContain(c);
    const init = await cli(['init', '--help']);
    expect(init.code).toBe(0);
    for (const f of ['--cluster-name', '--region', '--profile', '--kube-context', '--namespace', '--k8s-role', '--k8s-user', '--iam-role',
      '--workload-identity', '--auth-mode', '--permissions', '--conn-id', '--project-dir', '--from', '--only', '--dry-run', '--yes',
      '--non-interactive', '--json', '--no-color']) {
      expect(init.stdout).toContain(f);
    }
    expect(init.stdout).toContain('Examples:');
    expect(init.stdout).toContain('7=identity-mapping');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(path.join(repo, 'package.json'), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('the help table (dist/help.json) is the CLI\'s own output, and answers without loading the CLI', async () => {
    const keys: string[][] = [['--help'], ['-h'], ['--version'], ['-V'], ...['init', 'status', 'verify', 'destroy', 'demo'].flatMap((c) => [[c, '--help'], [c, '-h']])];
    for (const args of keys) {
      const fast = await cli(args);
      const full = await cli(args, { env: { ASTRO_KPO_HELP_TABLE: 'off' } });
      expect(fast.code, args.join(' ')).toBe(0);
      expect(full.code, args.join(' ')).toBe(0);
      expect(fast.stdout, args.join(' ')).toBe(full.stdout);
      expect(fast.stdout.length).toBeGreaterThan(4);
    }
    // Answered from the table: no chunk of the bundle is loaded at all.
    const log = path.join(await mkdtemp(path.join(os.tmpdir(), 'kpo-imports-')), 'imports.txt');
    const r = await cli(['init', '--help'], { env: { KPO_IMPORT_LOG: log }, nodeArgs: ['--import', path.join(repo, 'test/fixtures/record-imports.mjs')] });
    expect(r.code).toBe(0);
    const urls = (await readFile(log, 'utf8')).split('\n');
    expect(urls.some((u) => u.includes('/bin/astro-remote-kpo.js'))).toBe(true); // the recorder works
    expect(urls.filter((u) => u.includes('/dist/'))).toEqual([]);
    // Anything else (a flag more, `help init`) takes the full path.
    const other = await cli(['help', 'init']);
    expect(other.stdout).toContain('Usage: astro-remote-kpo init');
  });

  it('--help and --version load no AWS or Kubernetes SDK (the full path, without the help table)', async () => {
    const meta = JSON.parse(await readFile(path.join(repo, 'dist', 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    const bundled = new Map(Object.entries(meta.outputs).map(([file, o]) => [file, Object.keys(o.inputs)]));
    for (const args of [['--help'], ['init', '--help'], ['--version']]) {
      const log = path.join(await mkdtemp(path.join(os.tmpdir(), 'kpo-imports-')), 'imports.txt');
      const r = await cli(args, { env: { KPO_IMPORT_LOG: log, ASTRO_KPO_HELP_TABLE: 'off' }, nodeArgs: ['--import', path.join(repo, 'test/fixtures/record-imports.mjs')] });
      expect(r.code).toBe(0);
      const urls = (await readFile(log, 'utf8')).split('\n');
      expect(urls.some((u) => u.includes('/dist/cli.js'))).toBe(true); // the recorder works
      // dist/ is a bundle: which sources each loaded chunk holds comes from esbuild's metafile.
      const sources = urls.filter((u) => u.includes('/dist/')).flatMap((u) => bundled.get(`dist/${u.slice(u.lastIndexOf('/') + 1)}`) ?? [`unknown chunk ${u}`]);
      expect(sources.some((s) => s.includes('node_modules/commander/'))).toBe(true); // the metafile lookup works
      expect(sources.filter((s) => /@aws-sdk|@smithy|@kubernetes|@inquirer|\/ora\//.test(s))).toEqual([]);
    }
  });

  it('only demo loads the simulation (src/sim): --help, demo --help and the other commands do not', async () => {
    const meta = JSON.parse(await readFile(path.join(repo, 'dist', 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    const bundled = new Map(Object.entries(meta.outputs).map(([file, o]) => [file, Object.keys(o.inputs)]));
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-sim-lazy-'));
    const loaded = async (args: string[]) => {
      const log = path.join(await mkdtemp(path.join(os.tmpdir(), 'kpo-imports-')), 'imports.txt');
      await cli(args, { cwd: dir, env: { KPO_IMPORT_LOG: log, ASTRO_KPO_HELP_TABLE: 'off' }, nodeArgs: ['--import', path.join(repo, 'test/fixtures/record-imports.mjs')] });
      const urls = (await readFile(log, 'utf8')).split('\n');
      return urls.filter((u) => u.includes('/dist/')).flatMap((u) => bundled.get(`dist/${u.slice(u.lastIndexOf('/') + 1)}`) ?? [`unknown chunk ${u}`]);
    };
    const commands = [['--help'], ['demo', '--help'], ['--version'], ['status', '--project-dir', dir], ['init', '--project-dir', dir], ['verify', '--project-dir', path.join(dir, 'none')], ['destroy', '--json', '--workload-identity', WI, '--project-dir', dir]];
    for (const args of commands) {
      const sources = await loaded(args);
      expect(sources.some((s) => s.includes('src/cli.ts')), args.join(' ')).toBe(true); // the lookup works
      expect(sources.filter((s) => s.startsWith('src/sim/')), args.join(' ')).toEqual([]);
    }
    // demo does (it stops at once here: --step off a terminal is bad input), and only through its own chunk.
    const demo = await loaded(['demo', '--step']);
    expect(demo).toEqual(expect.arrayContaining(['src/commands/demo.ts', 'src/sim/cloud.ts', 'src/sim/tls.ts']));
    expect(await readdir(dir)).toEqual([]);
  });

  it('no chunk imports node:http as an ES module (its module face would load Node\'s bundled undici on every run)', async () => {
    const meta = JSON.parse(await readFile(path.join(repo, 'dist', 'meta.json'), 'utf8')) as { outputs: Record<string, { imports: Array<{ path: string; external?: boolean }> }> };
    const external = Object.entries(meta.outputs).flatMap(([file, o]) => o.imports.filter((i) => i.external && /^(node:)?http$/.test(i.path)).map((i) => `${file} → ${i.path}`));
    expect(external).toEqual([]);
    // Every http import went through the build's stand-in (scripts/build.mjs).
    const chunks = (await readdir(path.join(repo, 'dist'))).filter((f) => f.endsWith('.js'));
    const texts = await Promise.all(chunks.map((f) => readFile(path.join(repo, 'dist', f), 'utf8')));
    expect(texts.some((t) => t.includes('process.getBuiltinModule("node:http")'))).toBe(true);
  });

  it('unknown flags and bad values are usage errors (exit 2) that name the value, and write nothing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-bad-'));
    const unknown = await cli(['init', '--bogus'], { cwd: dir });
    expectFailure(unknown, 'BAD_COMMAND_LINE');
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    const bad = await cli(['init', '--workload-identity', WI, '--cluster-name', '-bad-', '--project-dir', dir]);
    expectFailure(bad, 'INPUT_INVALID');
    expect(bad.stderr).toContain('--cluster-name "-bad-" is not valid');
    const missing = await cli(['init', '--project-dir', dir]);
    expectFailure(missing, 'INPUT_MISSING');
    expect(missing.stderr).toContain('--workload-identity');
    expect(await readdir(dir)).toEqual([]);
  });

  it('--json: every failure is one document on stdout with error.code beside message and hint', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-json-fail-'));
    const cases: Array<[string[], string, number]> = [
      [['init', '--json', '--bogus'], 'BAD_COMMAND_LINE', 2],
      [['init', '--json', '--workload-identity', WI, '--cluster-name', '-bad-', '--project-dir', dir], 'INPUT_INVALID', 2],
      [['init', '--json', '--project-dir', dir], 'INPUT_MISSING', 2],
      [['destroy', '--json', '--workload-identity', WI, '--project-dir', dir], 'CONFIRMATION_REQUIRED', 2],
    ];
    for (const [args, code, exitCode] of cases) {
      const r = await cli(args);
      const doc = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; error: { code: string; message: string; hint?: string } };
      expect(doc, args.join(' ')).toMatchObject({ ok: false, exitCode, error: { code, message: expect.any(String) } });
      expect(r.code).toBe(exitCode);
      // The human block on stderr ends with the same code.
      expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`  code: ${code}`);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('verify is read-only: a project folder it cannot use is not probed, created or refused', async () => {
    const missing = path.join(await mkdtemp(path.join(os.tmpdir(), 'kpo-verify-ro-')), 'not-here');
    const r = await cli(['verify', '--workload-identity', WI, '--project-dir', missing]);
    expect(r.code, r.stdout + r.stderr).toBe(1); // rows fail (no credentials here), not a usage error
    expect(failureCodes(r)).toContain('CREDENTIALS_MISSING');
    expect(failureCodes(r)).not.toContain('PROJECT_DIR_MISSING');
    expect(existsSync(missing)).toBe(false);
  });

  it('no arguments prints help and exits 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toContain('Usage: astro-remote-kpo');
  });

  it('status without state says so and exits 0', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kpo-status-'));
    const r = await cli(['status', '--project-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No state in');
    const j = await cli(['status', '--json', '--project-dir', dir]);
    expect(JSON.parse(j.stdout)).toMatchObject({ command: 'status', state: null });
  });
});
