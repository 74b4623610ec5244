// One holder, whatever the timing: many processes started together try to take the project lock
// (the built dist/engine/lock.js); exactly one holds it each round. Every other round starts with a
// stale lock left by a dead process, so the take-over path races too.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/run-cli.js';
import { useTempProjects } from '../support/temp-projects.js';

const PROCESSES = 8;
const ROUNDS = 20;
// The source module, loaded by plain Node through the bench's TypeScript hooks (dist/ is one bundle).
const SRC_LOCK = path.join(REPO_ROOT, 'src', 'engine', 'lock.ts');
const TS_HOOKS = path.join(REPO_ROOT, 'bench', 'ts-hooks.mjs');
const CONTENDER = path.join(REPO_ROOT, 'test', 'support', 'lock-contender.mjs');
const project = useTempProjects('kpo-lock-');

interface Contender {
  line: Promise<string>;
  release(): void;
  exited: Promise<number | null>;
}

function contend(stateDir: string, startAt: number): Contender {
  const child = spawn(process.execPath, ['--import', TS_HOOKS, CONTENDER, SRC_LOCK, stateDir, String(startAt)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const line = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`contender exited (${code}) without a word: ${out}`)));
  });
  line.catch(() => undefined);
  return { line, release: () => child.stdin.end(), exited: new Promise((r) => child.on('exit', r)) };
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

describe('project lock', () => {
  it(`${PROCESSES} processes at once, ${ROUNDS} rounds: exactly one holder every round`, { timeout: 300_000 }, async () => {
    const dir = await project();
    const tally: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const stateDir = await mkdtemp(path.join(dir, `round-${round}-`));
      const stale = round % 2 === 0;
      if (stale) {
        await writeFile(path.join(stateDir, 'lock'), JSON.stringify({ pid: await deadPid(), host: os.hostname(), startedAt: 'earlier', command: 'init', token: 'dead' }));
      }
      // Node needs a moment to start on a busy machine: all try at the same instant after that.
      const startAt = Date.now() + 1500;
      const all = Array.from({ length: PROCESSES }, () => contend(stateDir, startAt));
      const words = await Promise.all(all.map((c) => c.line));
      const held = words.filter((w) => w === 'HELD').length;
      tally.push(`round ${round}${stale ? ' (stale lock)' : ''}: ${held} holder(s), ${words.filter((w) => w.startsWith('BUSY')).length} refused`);
      for (const c of all) c.release();
      await Promise.all(all.map((c) => c.exited));
      expect(held, tally.join('\n')).toBe(1);
      // Every other one is refused with the lock's own code (never a crash, never another error).
      expect(words.filter((w) => w !== 'HELD').every((w) => w === 'BUSY LOCK_HELD'), words.join(', ')).toBe(true);
      // Released, and no temp file of any contender left behind.
      expect(await readdir(stateDir)).toEqual([]);
    }
  });
});
