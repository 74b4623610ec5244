// together(): independent reads in one round trip; which error wins never depends on timing.
import { describe, expect, it } from 'vitest';
import { together } from '../../src/together.js';

const later = <T>(ms: number, v: T) => new Promise<T>((r) => setTimeout(() => r(v), ms));
const failLater = (ms: number, message: string) => new Promise<never>((_, rej) => setTimeout(() => rej(new Error(message)), ms));

describe('together', () => {
  it('the values in order, all asked at once', async () => {
    const started: string[] = [];
    const read = (name: string, ms: number) => (started.push(name), later(ms, name));
    expect(await together([read('role', 20), read('policy', 5), Promise.resolve(3)])).toEqual(['role', 'policy', 3]);
    expect(started).toEqual(['role', 'policy']);
  });

  it('the first failure in argument order, not the first to arrive, once every read has settled', async () => {
    let slowDone = false;
    const slow = later(30, 'x').then((v) => ((slowDone = true), v));
    await expect(together([failLater(20, 'GetRole denied'), failLater(1, 'GetRolePolicy denied'), slow])).rejects.toThrow('GetRole denied');
    expect(slowDone).toBe(true);
  });
});
