// Which Airflow, and which providers, the Astro Runtime image of a project's Dockerfile brings.
// Read from the image reference alone (no registry call): the tag names the Runtime version and
// the repository the flavour. docs/provider-floor.md has the sources of each fact here.

/** What the Dockerfile says about Airflow. */
export interface RuntimeInfo {
  /** The image reference after FROM, as written. */
  image: string;
  /** The Astro Runtime tag, e.g. "3.1-2" or "12.8.0". */
  tag: string;
  airflowMajor: 2 | 3;
  /** "3.1", "2.11", ... when the tag tells; undefined for an Airflow 2 Runtime older than our table. */
  airflowMinor?: string;
  /** slim: Astronomer's Airflow 2 image without the bundled providers (`astro-runtime-slim`, or a
   * `-slim` tag). Runtime 3.x has one flavour as far as providers go: neither of ours. */
  flavor: 'standard' | 'slim';
}

export type RuntimeRead = RuntimeInfo | { image: string; unknown: string } | undefined;

// Airflow 2 Runtimes use major.minor.patch, one major per Airflow minor: 4-11 are 2.2-2.9 in
// Astronomer's runtime-image-architecture table, 12 is 2.10 (astro-cli: "Runtime 12.0.0 (Airflow
// 2.10.0)"), 13 is 2.11.
const RUNTIME2_AIRFLOW: Record<number, string> = { 4: '2.2', 5: '2.3', 6: '2.4', 7: '2.5', 8: '2.6', 9: '2.7', 10: '2.8', 11: '2.9', 12: '2.10', 13: '2.11' };

// Airflow 3 Runtimes use major.minor-patch, whose major.minor *is* the Airflow version (astro-cli
// airflow_versions/runtime_versions.go), with optional suffixes: -python-3.12, -base, -ubi9, ...
const NEW_FORMAT = /^(\d+)\.(\d+)-(\d+)(?:[-.].*)?$/;
const OLD_FORMAT = /^(\d+)\.(\d+)\.(\d+)(?:-.*)?$/;

/** Repositories of Astro Runtime images: quay's astro-runtime(-slim), and for Airflow 3 the
 * Azure registry's runtime and air.astronomer.io/runtime, the host in front of it that newer
 * astro-cli writes into `astro dev init`'s Dockerfile (airflow/include/airflow3/dockerfile). */
const RUNTIME_REPO = /(?:^|\/)(astro-runtime(-slim)?)$|^(?:astrocrpublic\.azurecr\.io|air\.astronomer\.io)\/runtime(-slim)?$/;

/** The images of the Dockerfile's FROM lines, in order. */
function fromImages(text: string): string[] {
  return [...text.matchAll(/^[ \t]*FROM[ \t]+(?:--\S+[ \t]+)*(\S+)/gim)].map((m) => m[1]!);
}

/** An image reference as repository and tag (no digest); the tag '' when there is none. */
function splitImage(image: string): { repo: string; tag: string } {
  const ref = image.replace(/@.*$/, '');
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref, tag: '' };
}

/** Whether a FROM of the Dockerfile names an Astro Runtime repository (what `astro dev init` writes). */
export function fromsRuntimeImage(text: string): boolean {
  return fromImages(text).some((image) => RUNTIME_REPO.test(splitImage(image).repo));
}

/** The Astro Runtime image in a Dockerfile: undefined without one, `unknown` with the reason when
 * the image is not a Runtime image or its tag names no version we can read. */
export function runtimeFromDockerfile(text: string | undefined): RuntimeRead {
  if (text === undefined) return undefined;
  // The last FROM: the stage that builds the image.
  const image = fromImages(text).at(-1);
  if (!image) return undefined;
  const { repo, tag } = splitImage(image);
  const repoMatch = RUNTIME_REPO.exec(repo);
  if (!repoMatch) return { image, unknown: `the image ${image} is not an Astro Runtime image` };
  if (!tag) return { image, unknown: `the Astro Runtime image ${image} has no tag that names a version` };
  const slimRepo = Boolean(repoMatch[2] ?? repoMatch[3]);
  const fresh = NEW_FORMAT.exec(tag);
  if (fresh) {
    const major = Number(fresh[1]);
    if (major !== 3) return { image, unknown: `Astro Runtime ${tag} is not a version this tool knows` };
    return { image, tag, airflowMajor: 3, airflowMinor: `3.${fresh[2]}`, flavor: slimRepo ? 'slim' : 'standard' };
  }
  const old = OLD_FORMAT.exec(tag);
  if (!old) return { image, unknown: `the Astro Runtime tag ${tag} does not name a version` };
  const major = Number(old[1]);
  // Runtime 3.0.x (major.minor.patch) predates the table: Airflow 2, minor unknown here.
  if (major < 3 || major > 13) return { image, unknown: `Astro Runtime ${tag} is not a version this tool knows` };
  // astro-cli knows the flavour as a tag suffix too: "13.7.0-slim", "13.7.0-slim-python-3.12".
  const slim = slimRepo || /-slim(?:-|$)/.test(tag);
  return { image, tag, airflowMajor: 2, airflowMinor: RUNTIME2_AIRFLOW[major], flavor: slim ? 'slim' : 'standard' };
}

/** Does the image ship apache-airflow-providers-amazon and -cncf-kubernetes? Standard Airflow 2
 * images do (Astronomer's provider tables: 11.8.0 amazon 8.27.0 / cncf 8.3.4, 12.8.0 amazon 8.29.0 /
 * cncf 8.4.2); slim images and every Runtime 3.x image ship neither (3.1-12, 3.3-2 list only
 * celery, common-*, elasticsearch, openlineage, smtp, standard and astronomer-providers-logging). */
export function shipsDagProviders(rt: RuntimeInfo): boolean {
  return rt.airflowMajor === 2 && rt.flavor === 'standard';
}

/** "Airflow 3.1 (Astro Runtime 3.1-2)", "Airflow 2.11 (Astro Runtime slim 13.1.0)". */
export function describeRuntime(rt: RuntimeInfo): string {
  return `Airflow ${rt.airflowMinor ?? rt.airflowMajor} (Astro Runtime ${rt.flavor === 'slim' ? 'slim ' : ''}${rt.tag})`;
}

/** Compares dotted versions numerically ("2.10" > "2.9"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}
