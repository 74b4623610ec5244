// `npm run build` (and `npm pack`/`npm publish` through prepack): bundles src/cli.ts (and the
// simulation's stand-in eksctl, src/sim/eksctl-cli.ts) and
// everything it imports, our code and the npm packages, into dist/ with esbuild, so the published
// package installs no runtime dependencies (docs/packaging.md says why). Code splitting keeps
// what the dynamic import() boundaries load on demand (the commands, the AWS SDK clients,
// @kubernetes/client-node, prompts, the spinner) in chunks read only when a run reaches them.
// The build also checks the Node floor against the bundled packages' engines (node-floor-check.mjs).
// Also written: dist/meta.json (which source file went into which chunk; the tests read it, the
// package leaves it out) and dist/THIRD-PARTY-LICENSES.md (the bundled packages' licences).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { checkNodeFloor } from './node-floor-check.mjs';
import { sdkPartitionAlias } from './sdk-partition.mjs';
import { thirdPartyLicenses } from './third-party-licenses.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist`;

/** A bundle that would break at run time is not left in dist/ for the tests or `npm pack`. */
async function fail(problems) {
  for (const p of problems) console.error(`build: ${p}`);
  await rm(outdir, { recursive: true, force: true });
  process.exit(1);
}

/**
 * node:http without undici. Importing node:http as an ES module (our `import http from
 * 'node:http'`, the AWS SDK's `await import('node:http')`) builds its module face, which reads
 * every export once; three of them (WebSocket, CloseEvent, MessageEvent) are getters that load
 * Node's bundled undici, about 60 ms of CPU on every run for web APIs nothing here uses. Every
 * `http` import in the bundle gets the module through process.getBuiltinModule (Node 22.3+)
 * instead: the same object, its other exports named.
 */
const UNDICI_GETTERS = ['WebSocket', 'CloseEvent', 'MessageEvent'];
const httpNames = Object.keys(createRequire(import.meta.url)('node:http')).filter((k) => !UNDICI_GETTERS.includes(k));
const httpWithoutUndici = {
  name: 'http-without-undici',
  setup(b) {
    b.onResolve({ filter: /^(node:)?http$/ }, () => ({ path: 'node:http', namespace: 'http-without-undici' }));
    b.onLoad({ filter: /.*/, namespace: 'http-without-undici' }, () => ({
      contents: `const http = process.getBuiltinModule('node:http');\nexport default http;\nexport const { ${httpNames.join(', ')} } = http;\n`,
      loader: 'js',
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
const { metafile } = await build({
  plugins: [httpWithoutUndici],
  absWorkingDir: root,
  // dist/cli.js, and dist/sim-eksctl.js: the simulation's stand-in eksctl, which `demo` puts on its
  // children's PATH through a shim in its temp folder (and the test suite's test/support/bin/eksctl runs).
  entryPoints: { cli: 'src/cli.ts', 'sim-eksctl': 'src/sim/eksctl-cli.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // The AWS SDK and Smithy packages ship an ES module build next to the CommonJS one: take it, so
  // the chunks that import() loads have real named exports (and tree shaking works).
  mainFields: ['module', 'main'],
  // Flat dist/: every chunk sits one level below the package root, which src/package-file.ts
  // relies on to find package.json, templates/ and dags/.
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  // Not minified: a stack trace in debug.log stays readable without source maps, and the
  // installed size is well under its budget without it.
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  // The SDK's partition table without the rest of @aws-sdk/core/client (scripts/sdk-partition.mjs).
  alias: sdkPartitionAlias,
  // The AWS SDK and some of client-node's dependencies are CommonJS and require() Node built-ins;
  // an ES module has no require, so each chunk gets one (esbuild's shim calls it).
  banner: { js: "import { createRequire as __kpoCreateRequire } from 'node:module';\nconst require = __kpoCreateRequire(import.meta.url);" },
});
// With splitting, a chunk that import() loads for a CommonJS package only has a default export,
// so `(await import('pkg')).name` would be undefined at run time (evanw/esbuild#3245). Refuse to
// ship that: import such a package statically (in a module that is itself loaded on demand).
const cjsOnDemand = Object.entries(metafile.outputs).filter(
  ([, o]) => o.entryPoint?.includes('node_modules/') && o.exports.length === 1 && o.exports[0] === 'default' && Object.keys(o.inputs).some((i) => metafile.inputs[i]?.format === 'cjs'),
);
if (cjsOnDemand.length) await fail(cjsOnDemand.map(([file, o]) => `${o.entryPoint} (CommonJS) is loaded with import(); in ${file} it would only have a default export`));
// dist/ is flat, so a path relative to a source file's place in src/ (`new URL('../../x',
// import.meta.url)`) points elsewhere once bundled. Files of the package go through packageFile().
const fileRelative = [];
for (const input of Object.keys(metafile.inputs)) {
  if (!input.startsWith('src/') || input === 'src/package-file.ts') continue;
  if (/import\.meta\.(url|dirname|filename)|__dirname|__filename/.test(await readFile(`${root}${input}`, 'utf8'))) fileRelative.push(input);
}
if (fileRelative.length) await fail(fileRelative.map((f) => `${f} uses a path relative to its own file; read package files with packageFile() from src/package-file.ts`));
// The Node floor: package.json engines.node (what the launcher accepts) inside every bundled
// package's own engines range, and no higher than the highest of them (scripts/node-floor-check.mjs).
const floor = await checkNodeFloor(root, metafile);
if (floor.problems.length) await fail(floor.problems);
await writeFile(`${outdir}/meta.json`, JSON.stringify(metafile));
await writeFile(`${outdir}/THIRD-PARTY-LICENSES.md`, await thirdPartyLicenses(root, metafile));

// The help table: `--help`, `<command> --help` and `--version` printed by the built CLI itself
// (commander, 80 columns as off a terminal), so the launcher can answer exactly those from
// dist/help.json without loading the CLI (bin/astro-remote-kpo.js). Being the CLI's own output, it
// cannot drift from it; test/e2e/cli-basics.test.ts compares the two.
const help = {};
for (const args of [['--help'], ['--version'], ...['init', 'status', 'verify', 'destroy', 'demo'].map((c) => [c, '--help'])]) {
  const env = { ...process.env, ASTRO_KPO_HELP_TABLE: 'off', NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  delete env.COLUMNS;
  help[args.join(' ')] = execFileSync(process.execPath, [`${root}bin/astro-remote-kpo.js`, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}
await writeFile(`${outdir}/help.json`, `${JSON.stringify(help, null, 2)}\n`);
