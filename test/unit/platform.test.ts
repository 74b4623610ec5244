// The platform rule in one place (src/platform.ts): POSIX only, said plainly on native Windows;
// programs found on PATH as a POSIX shell finds them; program names as kubeconfig exec blocks give them.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/errors.js';
import { expectCode } from '../support/failure.js';
import { createExec } from '../../src/exec.js';
import { awsTokenExec } from '../../src/kube/kubeconfig.js';
import { assertSupportedPlatform, findOnPath, programName } from '../../src/platform.js';

describe('assertSupportedPlatform', () => {
  it('lets Linux and macOS (and the other POSIX systems) through', () => {
    for (const p of ['linux', 'darwin', 'freebsd'] as const) expect(() => assertSupportedPlatform(p)).not.toThrow();
  });

  it('stops native Windows with exit 3 and the way that works (WSL)', async () => {
    const err = await expectCode(() => assertSupportedPlatform('win32'), 'PLATFORM_UNSUPPORTED');
    expect(err.exitCode).toBe(EXIT.prerequisite);
    expect(err.hint).toMatch(/WSL/);
  });
});

describe('findOnPath (the POSIX rule)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kpo-path-'));
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  for (const d of [a, b]) mkdirSync(d);
  const file = (p: string, mode: number) => {
    writeFileSync(p, '#!/bin/sh\n');
    chmodSync(p, mode);
  };
  file(path.join(a, 'eksctl'), 0o644); // not executable: passed over
  mkdirSync(path.join(a, 'astro')); // a directory: passed over
  file(path.join(b, 'eksctl'), 0o755);
  file(path.join(b, 'astro'), 0o755);
  file(path.join(b, 'tool.exe'), 0o755);
  const PATH = ['', a, b].join(path.delimiter);

  it('finds the first executable file, passing over non-executable files, directories and empty entries', async () => {
    expect(await findOnPath('eksctl', PATH)).toBe(path.join(b, 'eksctl'));
    expect(await findOnPath('astro', PATH)).toBe(path.join(b, 'astro'));
    expect(await findOnPath('missing', PATH)).toBeUndefined();
    expect(await findOnPath('eksctl', undefined)).toBeUndefined();
  });

  it('appends no extension (no PATHEXT): tool.exe is found only by that name', async () => {
    expect(await findOnPath('tool', PATH)).toBeUndefined();
    expect(await findOnPath('tool.exe', PATH)).toBe(path.join(b, 'tool.exe'));
  });

  it('is what Exec.which does', async () => {
    expect(await createExec({ PATH }).which('eksctl')).toBe(path.join(b, 'eksctl'));
  });
});

describe('programName', () => {
  it('is the base name without its directory or .exe, so a Windows kubeconfig read in WSL names the same tool', () => {
    expect(programName('aws')).toBe('aws');
    expect(programName('/usr/local/bin/aws')).toBe('aws');
    expect(programName('C:\\Program Files\\Amazon\\AWSCLIV2\\aws.exe')).toBe('aws');
    expect(programName('/mnt/c/tools/eksctl.EXE')).toBe('eksctl');
    expect(awsTokenExec({ exec: { command: 'C:\\Program Files\\Amazon\\AWSCLIV2\\aws.exe', args: ['eks', 'get-token', '--cluster-name', 'c'] } })?.tool).toBe('aws eks get-token');
  });
});
