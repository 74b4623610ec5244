// One contender in the lock race (test/e2e/lock-race.test.ts): loads the lock module, waits
// for the shared start time so every contender tries at the same moment, then takes the lock.
// Prints HELD (and keeps it until stdin closes) or BUSY and the error's code (another process holds it).
import { pathToFileURL } from 'node:url';

const [lockModule, stateDir, startAt] = process.argv.slice(2);
const { acquireLock } = await import(pathToFileURL(lockModule).href);
const wait = Number(startAt) - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
let lock;
try {
  lock = await acquireLock(stateDir, 'lock-race');
} catch (err) {
  process.stdout.write(`BUSY ${err?.code ?? (err instanceof Error ? err.name : 'error')}\n`);
  process.exit(0);
}
process.stdout.write('HELD\n');
process.stdin.resume();
process.stdin.on('end', async () => {
  await lock.release();
  process.exit(0);
});
