// The licences of the npm packages bundled into dist/: their MIT/Apache/ISC/BSD terms ask that the
// copyright and licence text travel with copies of the code, and the bundle is such a copy.
// Listed from esbuild's metafile, so exactly the packages that have code in a chunk appear.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** node_modules/a/node_modules/@b/c/x.js → node_modules/a/node_modules/@b/c */
export function packageDirOf(input) {
  const m = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
  return m?.[1];
}

async function licenceText(dir) {
  const files = (await readdir(dir)).filter((f) => /^(licen[cs]e|copying|notice)(\.|-|$)/i.test(f)).sort();
  const texts = await Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')));
  return texts.map((t) => t.trim()).join('\n\n');
}

export async function thirdPartyLicenses(root, metafile) {
  const dirs = new Set();
  for (const out of Object.values(metafile.outputs)) for (const input of Object.keys(out.inputs)) {
    const dir = packageDirOf(input);
    if (dir) dirs.add(dir);
  }
  const entries = await Promise.all([...dirs].map(async (dir) => {
    const abs = path.join(root, dir);
    const pkg = JSON.parse(await readFile(path.join(abs, 'package.json'), 'utf8'));
    const licence = typeof pkg.license === 'string' ? pkg.license : (pkg.license?.type ?? 'see text');
    return { id: `${pkg.name}@${pkg.version}`, licence, text: await licenceText(abs) };
  }));
  const unique = [...new Map(entries.map((e) => [e.id, e])).values()].sort((a, b) => a.id.localeCompare(b.id));
  // Many packages (the AWS SDK's) carry the same text: print each text once, after its packages.
  const byText = new Map();
  for (const e of unique) byText.set(e.text, [...(byText.get(e.text) ?? []), e]);
  const out = ['# Third-party licences', '', `dist/ bundles code from these ${unique.length} npm packages.`, ''];
  for (const [text, group] of byText) {
    out.push(...group.map((e) => `- ${e.id} (${e.licence})`), '');
    out.push(text ? ['```', text, '```'].join('\n') : 'No licence file in these packages; the licence named in their package.json applies.', '');
  }
  return out.join('\n');
}
