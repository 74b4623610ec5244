// Where `#aws-sdk-partition` (src/desired.ts) points, for the bundler (scripts/build.mjs) and the
// tests (vitest.config.ts): the AWS SDK's own partition() and its partition table, the module the
// SDK clients' endpoint rules use (@aws-sdk/core's client/util-endpoints), imported on its own.
// @aws-sdk/core exports it only through `@aws-sdk/core/client`, whose other modules pull ~250 KB
// of SDK chunks into whatever imports it; this one file (with its table, ~9 KB) is all that
// validation and the ARNs need. esbuild puts it in a chunk of its own, which the SDK clients share
// (one copy, one table). docs/packaging.md says more.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const core = path.dirname(require.resolve('@aws-sdk/core/package.json'));

/** The import specifier and the file it stands for. */
export const sdkPartitionAlias = {
  '#aws-sdk-partition': path.join(core, 'dist-es/submodules/client/util-endpoints/lib/aws/partition.js'),
};
