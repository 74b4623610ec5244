// The one POSIX shell quoting of the commands the tool prints or writes (resume commands, astro
// commands, the demo's lines and its eksctl shim): bare when safe, else single-quoted.

export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
