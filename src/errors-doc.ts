// docs/errors.md, rendered from ERROR_CODES: `npm run errors-doc` writes it, and
// test/unit/errors-doc.test.ts fails when the file and the table differ (a code added, removed or
// reworded without the doc). Not part of the CLI bundle: nothing the CLI runs imports it.
import { ERROR_CODES, EXIT, type ErrorCode, type ExitKind } from './errors.js';

const SECTIONS: ReadonlyArray<{ exit: ExitKind; title: string; intro: string }> = [
  { exit: 'usage', title: 'bad usage or input', intro: 'Nothing was written anywhere: no file, state entry or cloud resource.' },
  { exit: 'prerequisite', title: 'a prerequisite is missing', intro: 'Nothing was changed by this error; fix the prerequisite and run the same command again.' },
  { exit: 'stageFailed', title: 'a stage (or a destroy step) failed', intro: 'State is saved: run the same command again to resume; finished stages are checked cheaply and skipped.' },
  { exit: 'interrupted', title: 'interrupted', intro: 'The running stage is marked interrupted and state is saved.' },
];

/** A table cell: pipes escaped, and <placeholders> outside `code` shown as text, not taken for HTML. */
const cell = (text: string) =>
  text
    .split('`')
    .map((part, i) => (i % 2 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('`')
    .replace(/\|/g, '\\|');

export function renderErrorsDoc(): string {
  const lines = [
    '# Error codes',
    '',
    '<!-- Generated from ERROR_CODES in src/errors.ts by `npm run errors-doc`; test/unit/errors-doc.test.ts checks it. Edit the table there, not this file. -->',
    '',
    'Every error astro-remote-kpo reports has a stable code. Scripts should match on the code, never',
    'on the wording of the message: messages and hints are reworded to be clearer, codes are not',
    'renamed or reused. The exit code follows from the code (the tables below).',
    '',
    'Where the code appears:',
    '',
    '- `--json`: every failure document carries `error.code` beside `error.message` and `error.hint`',
    '  (`{"ok": false, "exitCode": 2, "error": {"code": "INPUT_INVALID", "message": "…", "hint": "…"}}`).',
    '  When an AWS call failed, `error.awsCode` is AWS\'s own error name (e.g. `AccessDenied`,',
    '  `ThrottlingException`). `init --json` names its first failure in `error` (with `error.stage`)',
    '  and each failed stage in `stages[].error.code`; `destroy --json` in `error`; a `verify --json`',
    '  check that fails because of an error (the same refusal init makes, a failed call) in',
    '  `checks[].code`.',
    '- `.astro-remote-kpo/state.json`: `stages.<id>.error.code`, shown by `status` and `status --json`.',
    '- The terminal: the last line of an error block, e.g. `code: MAPPING_GRANTS_MORE`.',
    '',
  ];
  for (const s of SECTIONS) {
    const codes = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c].exit === s.exit);
    lines.push(`## Exit ${EXIT[s.exit]}: ${s.title}`, '', s.intro, '', '| code | meaning | fix |', '|---|---|---|');
    for (const c of codes) lines.push(`| \`${c}\` | ${cell(ERROR_CODES[c].meaning)} | ${cell(ERROR_CODES[c].fix)} |`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
