// The Io implementations. Interactive: @inquirer/prompts, loaded on first question, with the
// spinner paused while it owns the terminal. Non-interactive: every question is answered by its
// default or fails naming the flag that answers it — never a hanging prompt.
import { interrupted, KpoError } from '../errors.js';
import type { AskConfirm, AskSelect, AskText, Io } from '../io.js';

export interface IoSink {
  line(text: string): void;
  warn(text: string): void;
  pause(): void;
  resume(): void;
}

export function nonInteractiveIo(sink: IoSink): Io {
  return {
    interactive: false,
    async text(q: AskText) {
      if (q.default === undefined) {
        throw new KpoError('INPUT_MISSING', `${q.message}: no value given and not running interactively.`, `Pass ${q.flag}.`);
      }
      return q.default;
    },
    async select<T extends string>(q: AskSelect<T>) {
      return q.default;
    },
    async confirm(q: AskConfirm) {
      return q.default;
    },
    info: (l) => sink.line(l),
    warn: (l) => sink.warn(l),
  };
}

export function interactiveIo(sink: IoSink): Io {
  const withPrompt = async <T>(fn: (p: typeof import('@inquirer/prompts')) => Promise<T>): Promise<T> => {
    // The prompt library loads when a question is actually asked (never in CI or with --yes).
    const prompts = await import('@inquirer/prompts');
    sink.pause();
    try {
      return await fn(prompts);
    } catch (err) {
      // inquirer throws ExitPromptError on Ctrl-C: that is an interrupt, not a crash.
      if (err instanceof Error && err.name === 'ExitPromptError') {
        throw interrupted();
      }
      throw err;
    } finally {
      sink.resume();
    }
  };
  return {
    interactive: true,
    text: (q) =>
      withPrompt((p) =>
        p.input({
          message: q.message,
          ...(q.default !== undefined ? { default: q.default } : {}),
          validate: (v: string) => {
            if (!v.trim() && q.default === undefined) return 'A value is required.';
            return q.validate?.(v.trim() || (q.default ?? '')) ?? true;
          },
        }),
      ).then((v) => v.trim() || q.default || ''),
    select: <T extends string>(q: AskSelect<T>) =>
      withPrompt((p) => p.select<T>({ message: q.message, choices: q.choices.map((c) => ({ value: c.value, name: c.name })), default: q.default })),
    confirm: (q) => withPrompt((p) => p.confirm({ message: q.message, default: q.default })),
    info: (l) => sink.line(l),
    warn: (l) => sink.warn(l),
  };
}
