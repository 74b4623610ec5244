// Stand-in astro CLI. Its world is a JSON file named by $KPO_ASTRO_FILE (written by the test with
// test/support/astro.ts): whether the user is logged in, the Deployments with their workload
// identities, connections and environment variables; every invocation is appended to it.
// Flags and output as astro-cli prints them (cmd/cloud/deployment.go, deployment_inspect.go,
// deployment_objects.go; cloud/deployment/inspect/inspect.go). Without $KPO_ASTRO_FILE, or with
// loggedIn false, it answers like astro with no context: config/context.go's ErrGetHomeString.
import { readFileSync, writeFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const file = process.env.KPO_ASTRO_FILE;
const NO_CONTEXT = 'Error: no context set, have you authenticated to Astro or APC? Run astro login and try again';

function load() {
  if (!file) return undefined;
  return JSON.parse(readFileSync(file, 'utf8'));
}
const world = load();
if (world) {
  world.invocations = [...(world.invocations ?? []), argv];
  writeFileSync(file, JSON.stringify(world, null, 2));
}
const save = () => writeFileSync(file, JSON.stringify(world, null, 2));
const die = (msg, code = 1) => {
  process.stderr.write(`${msg}\n`);
  process.exit(code);
};

// Cobra flags: --name value, --name=value, -x value; returns [flags, positionals].
function parse(args, withValue) {
  const flags = {};
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split(/=(.*)/s);
      if (v !== undefined) flags[k] = v;
      else if (withValue.includes(k)) {
        if (i + 1 >= args.length) die(`Error: flag needs an argument: --${k}`);
        flags[k] = args[++i];
      } else flags[k] = true;
    } else pos.push(a);
  }
  return [flags, pos];
}

if (argv[0] === 'version') {
  process.stdout.write('Astro CLI Version: 1.38.1\n');
  process.exit(0);
}
if (!world || !world.loggedIn) die(NO_CONTEXT);
if (argv[0] !== 'deployment') die(`Error: unknown command "${argv[0]}" for "astro"`);

const sub = argv.slice(1);
const deployment = (id) => {
  const d = world.deployments[id];
  if (!d) die('Error: the Deployment specified was not found in this workspace. Your account or API Key may not have access to the deployment specified');
  return d;
};

if (sub[0] === 'list') {
  const rows = Object.entries(world.deployments).map(([id, d]) => [d.name, d.namespace ?? 'N/A', 'N/A', 'AWS', 'us-east-1', id, '3.0-7', 'true', 'false', 'STANDARD', 'false']);
  const header = ['NAME', 'NAMESPACE', 'CLUSTER', 'CLOUD PROVIDER', 'REGION', 'DEPLOYMENT ID', 'RUNTIME VERSION', 'DAG DEPLOY ENABLED', 'CI-CD ENFORCEMENT', 'DEPLOYMENT TYPE', 'REMOTE EXECUTION'];
  // printutil.Table with DynamicPadding: every column as wide as its widest cell, plus padding.
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i].length)) + 5);
  for (const r of [header, ...rows]) process.stdout.write(` ${r.map((c, i) => c.padEnd(widths[i])).join('').trimEnd()}\n`);
  process.exit(0);
}

if (sub[0] === 'inspect') {
  const [flags, pos] = parse(sub.slice(1), ['key', 'output', 'deployment-name']);
  const d = deployment(pos[0]);
  const configuration = { name: d.name, cloud_provider: 'aws', region: 'us-east-1' };
  // inspect.go: workload_identity is in `configuration` only with --show-workload-identity.
  if (flags['show-workload-identity']) configuration.workload_identity = d.workloadIdentity;
  const printable = { metadata: { deployment_id: pos[0], status: 'HEALTHY' }, configuration };
  if (flags.key) {
    const [a, b] = String(flags.key).toLowerCase().split('.');
    for (const section of Object.values(printable)) {
      if (a in section && b === undefined) {
        process.stdout.write(`${JSON.stringify(section[a])}\n`);
        process.exit(0);
      }
    }
    for (const [name, section] of Object.entries(printable)) {
      if (name === a && b in section) {
        process.stdout.write(`${section[b]}\n`);
        process.exit(0);
      }
    }
    die(`Error: requested key ${flags.key} not found in deployment`);
  }
  process.stdout.write(`${JSON.stringify(printable, null, 4)}\n`);
  process.exit(0);
}

if (sub[0] === 'connection') {
  const [flags] = parse(sub.slice(2), ['deployment-id', 'conn-id', 'conn-type', 'extra', 'deployment-name', 'host', 'login', 'password', 'schema', 'port', 'description']);
  const d = deployment(flags['deployment-id']);
  d.connections ??= {};
  if (sub[1] === 'list') {
    process.stdout.write(' CONNECTION ID     CONN TYPE\n');
    for (const [id, c] of Object.entries(d.connections)) process.stdout.write(` ${id}     ${c.conn_type}\n`);
    process.exit(0);
  }
  if (sub[1] === 'create' || sub[1] === 'update') {
    if (!flags['conn-id'] || !flags['conn-type']) die('Error: a connection ID and connection type are required');
    if (flags.extra !== undefined) JSON.parse(flags.extra); // Airflow's API rejects extra that is not JSON
    const exists = flags['conn-id'] in d.connections;
    process.stdout.write(`${sub[1] === 'create' ? 'Creating' : 'updating'} connection ${flags['conn-id']}\n`);
    // Older astro CLIs: create on an existing id is Airflow's 409.
    if (sub[1] === 'create' && exists && world.conflictOnCreate) die(`Error: API error (409): Connection with connection_id: \`${flags['conn-id']}\` already exists`);
    if (sub[1] === 'update' && !exists) die(`Error: API error (404): The Connection with connection_id: \`${flags['conn-id']}\` was not found`);
    d.connections[flags['conn-id']] = { conn_type: flags['conn-type'], extra: flags.extra ?? '' };
    save();
    process.exit(0);
  }
}

if (sub[0] === 'variable' && sub[1] === 'create') {
  const [flags, pos] = parse(sub.slice(2), ['deployment-id', 'deployment-name', 'key', 'value', 'env']);
  const d = deployment(flags['deployment-id']);
  d.variables ??= {};
  for (const kv of pos) {
    const [k, v] = kv.split(/=(.*)/s);
    if (v === undefined) die(`Error: ${kv} is not in the form KEY=VALUE`);
    d.variables[k] = { value: v, is_secret: Boolean(flags.secret) };
  }
  save();
  process.stdout.write('Updated environment variables\n');
  process.exit(0);
}

die(`Error: unknown command ${JSON.stringify(sub.join(' '))} for "astro deployment"`);
