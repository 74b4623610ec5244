// The stand-in astro CLI's world (test/support/astro-bin/astro.mjs): a JSON file the test writes and
// reads back. The stand-in is on the test cloud's PATH with startTestCloud({ astroCli: true }); without KPO_ASTRO_FILE it is "not logged in".
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface AstroDeployment {
  name: string;
  workloadIdentity: string;
  connections?: Record<string, { conn_type: string; extra: string }>;
  variables?: Record<string, { value: string; is_secret: boolean }>;
}

export interface AstroWorld {
  loggedIn: boolean;
  conflictOnCreate?: boolean;
  deployments: Record<string, AstroDeployment>;
  invocations?: string[][];
}

export function astroWorld(dir: string, world: AstroWorld) {
  const file = path.join(dir, 'astro-world.json');
  writeFileSync(file, JSON.stringify(world, null, 2));
  return {
    env: { KPO_ASTRO_FILE: file },
    read: (): AstroWorld => JSON.parse(readFileSync(file, 'utf8')) as AstroWorld,
  };
}
