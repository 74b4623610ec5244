// The error codes are an interface: every one documented in docs/errors.md with its exit code,
// meaning and fix (generated from ERROR_CODES; this fails when a code is added, removed or
// changed without `npm run errors-doc`), every one raised somewhere, and each KpoError's exit code
// and name following from its code.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderErrorsDoc } from '../../src/errors-doc.js';
import { asKpoError, codeLine, ERROR_CODES, EXIT, KpoError, type ErrorCode } from '../../src/errors.js';
import { REPO_ROOT } from '../support/run-cli.js';

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('docs/errors.md', () => {
  it('documents every code, its exit code, meaning and fix: exactly what ERROR_CODES says', async () => {
    const doc = await readFile(path.join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
    // Each code's row, under the heading of its exit code.
    const documented = new Map<string, number>();
    let exit: number | undefined;
    for (const line of doc.split('\n')) {
      const heading = /^## Exit (\d+):/.exec(line);
      if (heading) exit = Number(heading[1]);
      const row = /^\| `([A-Z][A-Z0-9_]*)` \| (.+) \| (.+) \|$/.exec(line);
      if (row) {
        expect(documented.has(row[1]!), `${row[1]} documented twice`).toBe(false);
        documented.set(row[1]!, exit!);
      }
    }
    for (const code of CODES) expect(documented.get(code), `${code} is not in docs/errors.md under its exit code: run npm run errors-doc`).toBe(EXIT[ERROR_CODES[code].exit]);
    for (const code of documented.keys()) expect(CODES, `docs/errors.md lists ${code}, which src/errors.ts does not have`).toContain(code);
    expect(doc, 'docs/errors.md is out of date: run npm run errors-doc').toBe(renderErrorsDoc());
  });

  it('the README links it and tells scripts to match on error.code', async () => {
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('](docs/errors.md)');
    expect(readme).toContain('error.code');
  });
});

describe('ERROR_CODES', () => {
  it('every code is raised somewhere in src (none documented but dead)', async () => {
    const files = (await sourceFiles(path.join(REPO_ROOT, 'src'))).filter((f) => !/src\/errors(-doc)?\.ts$/.test(f));
    const text = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('\n');
    const unused = CODES.filter((c) => !text.includes(`'${c}'`));
    expect(unused).toEqual([]);
  });

  it('codes are UPPER_SNAKE; every meaning and fix is one line; the indented code line fits 60 columns', () => {
    for (const code of CODES) {
      expect(`    ${codeLine(code)}`.length).toBeLessThanOrEqual(60);
      expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
      expect(ERROR_CODES[code].meaning).not.toContain('\n');
      expect(ERROR_CODES[code].fix).not.toContain('\n');
    }
  });

  it('a KpoError takes its exit code from its code, and its name is the code', () => {
    for (const code of CODES) {
      const e = new KpoError(code, 'm');
      expect(e.exitCode).toBe(EXIT[ERROR_CODES[code].exit]);
      expect(e.name).toBe(code);
    }
    // The five exit codes stay exactly as they were.
    expect(new KpoError('INPUT_INVALID', 'm').exitCode).toBe(2);
    expect(new KpoError('CREDENTIALS_MISSING', 'm').exitCode).toBe(3);
    expect(new KpoError('MAPPING_GRANTS_MORE', 'm').exitCode).toBe(1);
    expect(new KpoError('INTERRUPTED', 'm').exitCode).toBe(130);
  });

  it('anything that is not ours is UNEXPECTED (exit 1) and keeps its message and cause', () => {
    const cause = new RangeError('boom');
    const e = asKpoError(cause);
    expect(e).toMatchObject({ code: 'UNEXPECTED', exitCode: 1, message: 'boom', cause });
    const ours = new KpoError('LOCK_HELD', 'x');
    expect(asKpoError(ours)).toBe(ours);
  });
});
