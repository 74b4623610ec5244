// Lets plain Node load the TypeScript test cloud (test/support/*.ts) without a build step:
//  - resolve: a relative './x.js' that does not exist but './x.ts' does → './x.ts'
//    (the sources import siblings the way tsc's NodeNext resolution wants them written);
//  - load: .ts files are compiled with Node's own `stripTypeScriptTypes` in 'transform' mode,
//    because plain type stripping rejects parameter properties (`constructor(readonly x: T)`),
//    enums and namespaces, which the test cloud is free to use;
//  - `#aws-sdk-partition` (src/desired.ts) → the file the bundler and vitest alias it to
//    (scripts/sdk-partition.mjs), whose own extensionless './partitions' gets its '.js'.
// Registered in-thread (module.registerHooks), so `node bench/run.mjs` needs no --import flag:
// run.mjs imports this module first. `node --import ./bench/ts-hooks.mjs …` works as well.
import { existsSync, readFileSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sdkPartitionAlias } from '../scripts/sdk-partition.mjs';

const aliased = new Map(Object.entries(sdkPartitionAlias).map(([k, file]) => [k, pathToFileURL(file).href]));
const aliasDirs = [...aliased.values()].map((href) => href.slice(0, href.lastIndexOf('/') + 1));

// stripTypeScriptTypes is experimental and says so once per process; that line is noise in the
// benchmark's output. Every other warning still goes through.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const text = typeof warning === 'string' ? warning : warning?.message;
  if (typeof text === 'string' && text.includes('stripTypeScriptTypes')) return;
  emitWarning(warning, ...rest);
};

module.registerHooks({
  resolve(specifier, context, nextResolve) {
    if (aliased.has(specifier)) return nextResolve(aliased.get(specifier), context);
    if (specifier.startsWith('./') && !/\.[cm]?js$/.test(specifier) && aliasDirs.some((d) => context.parentURL?.startsWith(d))) {
      return nextResolve(new URL(`${specifier}.js`, context.parentURL).href, context);
    }
    if ((specifier.startsWith('./') || specifier.startsWith('../')) && specifier.endsWith('.js') && context.parentURL?.startsWith('file:')) {
      const asJs = new URL(specifier, context.parentURL);
      if (!existsSync(fileURLToPath(asJs))) {
        const asTs = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
        if (existsSync(fileURLToPath(asTs))) return nextResolve(asTs.href, context);
      }
    }
    return nextResolve(specifier, context);
  },
  load(url, context, nextLoad) {
    if (url.startsWith('file:') && url.endsWith('.ts') && !url.includes('/node_modules/')) {
      const source = module.stripTypeScriptTypes(readFileSync(fileURLToPath(url), 'utf8'), { mode: 'transform', sourceUrl: url });
      return { format: 'module', source, shortCircuit: true };
    }
    return nextLoad(url, context);
  },
});
