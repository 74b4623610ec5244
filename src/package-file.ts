// Files shipped next to the code: package.json, templates/, dags/. This module sits one level
// below the package root both as source (src/package-file.ts) and once bundled: esbuild inlines it
// into a chunk in the flat dist/ directory and leaves import.meta.url as that chunk's URL
// (scripts/build.mjs keeps dist/ flat for this). So '../' is the package root in both cases.
export function packageFile(relative: string): URL {
  return new URL(`../${relative}`, import.meta.url);
}
