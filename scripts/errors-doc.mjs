// Writes docs/errors.md from ERROR_CODES (src/errors.ts) through src/errors-doc.ts, bundled on the
// fly by esbuild (the project's own bundler) so the TypeScript table is read as is.
import { build } from 'esbuild';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = await build({ absWorkingDir: root, entryPoints: ['src/errors-doc.ts'], bundle: true, write: false, format: 'esm', platform: 'node', logLevel: 'warning' });
const { renderErrorsDoc } = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
await writeFile(`${root}docs/errors.md`, renderErrorsDoc());
console.log('wrote docs/errors.md');
