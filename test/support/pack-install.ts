// The package as npm publishes and installs it: `npm pack` of the repository, then
// `npm install <tarball>` into an empty folder, as `npx astro-remote-kpo` would from the registry.
// Shared by test/e2e/package.test.ts and the bench's package figures (bench/run.mjs).
import { spawn } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from './run-cli.js';

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** npm itself: the one running us (`npm test`, `npm run bench`) if any, else the npm on PATH. */
function npmCommand(args: string[]): [string, string[]] {
  const cli = process.env.npm_execpath;
  return cli && /npm-cli\.js$/.test(cli) ? [process.execPath, [cli, ...args]] : ['npm', args];
}

export function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CmdResult> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - start });
    });
  });
}

export function npm(args: string[], cwd: string): Promise<CmdResult> {
  const [cmd, argv] = npmCommand(args);
  // npm's own chatter (update notices, funding) off; the user's cache stays (warm installs).
  const env = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  return run(cmd, argv, { cwd, env });
}

export interface Packed {
  tarball: string;
  /** Compressed tarball size, bytes. */
  size: number;
  unpackedSize: number;
  files: string[];
}

/**
 * `npm pack` into `dest`. With scripts off: the caller has built dist/ already (prepack would
 * rebuild it under the other test files' running CLIs); `files` decides what goes in either way.
 */
export async function packRepo(dest: string): Promise<Packed> {
  const r = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dest], REPO_ROOT);
  if (r.code !== 0) throw new Error(`npm pack failed (exit ${r.code}): ${r.stderr}`);
  const [info] = JSON.parse(r.stdout) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  if (!info) throw new Error(`npm pack printed no package: ${r.stdout}`);
  return { tarball: path.join(dest, info.filename), size: info.size, unpackedSize: info.unpackedSize, files: info.files.map((f) => f.path).sort() };
}

/** `npm install <tarball>` in a new empty project folder `dir` (from npm's cache when it can). */
export async function installTarball(tarball: string, dir: string): Promise<CmdResult> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'package.json'), '{ "private": true }\n');
  return npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], dir);
}

/** Disk usage of a tree as `du` counts it (allocated blocks), bytes; symlinks count as themselves. */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    total += st.blocks * 512;
    if (st.isDirectory()) for (const e of await readdir(p)) await walk(path.join(p, e));
  };
  await walk(dir);
  return total;
}

/** The packages npm installed in `dir` (ours included), from node_modules/.package-lock.json. */
export async function installedPackages(dir: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(path.join(dir, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
  return Object.keys(lock.packages).filter((k) => k.startsWith('node_modules/')).map((k) => k.slice(k.lastIndexOf('node_modules/') + 13)).sort();
}
