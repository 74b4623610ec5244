// `destroy`: arrives with issue 7. Until then it says so and exits 2 (usage), as --help states.
import { UsageError } from '../errors.js';
import type { RawOptions } from '../options.js';

export async function destroyCommand(_raw: RawOptions): Promise<number> {
  throw new UsageError('`astro-remote-kpo destroy` is not yet implemented.', 'Use `astro-remote-kpo status` to see what was set up.');
}
