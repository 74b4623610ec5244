// Renders templates/cluster.yaml (an eksctl ClusterConfig) with the chosen cluster name and
// region. The cluster stage feeds the result to `eksctl create cluster -f`, and project-files
// writes the same text to k8s/cluster.yaml, so the file in the user's project is exactly what
// was (or would be) used.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { packageFile } from '../package-file.js';
import type { Inputs } from '../types.js';

const TEMPLATE_URL = packageFile('templates/cluster.yaml');

/** Words YAML (1.1 or 1.2) would read as a boolean or null rather than a string. */
const YAML_KEYWORDS = /^(y|n|yes|no|true|false|on|off|null|~)$/i;

/** A YAML scalar for `value`: plain when unambiguous, JSON-quoted (valid YAML) otherwise. */
export function yamlScalar(value: string): string {
  return /^[A-Za-z][A-Za-z0-9_-]*$/.test(value) && !YAML_KEYWORDS.test(value) ? value : JSON.stringify(value);
}

export function clusterConfigTemplatePath(): string {
  return fileURLToPath(TEMPLATE_URL);
}

/** The eksctl ClusterConfig for these inputs: metadata name/region, OIDC, access entries + aws-auth,
 * one small managed node group. */
export function renderClusterConfig(inputs: Pick<Inputs, 'clusterName' | 'region'>): string {
  const template = readFileSync(TEMPLATE_URL, 'utf8');
  const values: Record<string, string> = {
    clusterName: yamlScalar(inputs.clusterName),
    region: yamlScalar(inputs.region),
  };
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`templates/cluster.yaml: unknown placeholder ${whole}`);
    return v;
  });
}
