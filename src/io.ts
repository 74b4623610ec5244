// Every question the tool asks goes through Io, and every question has a default
// (aws-cdk's IoHost): interactive mode asks, non-interactive answers the default or fails clearly.

export interface AskText {
  /** Names the flag that answers this question non-interactively, for the error message. */
  flag: string;
  message: string;
  default?: string;
  validate?: (value: string) => string | undefined;
}

export interface AskSelect<T extends string> {
  flag: string;
  message: string;
  choices: ReadonlyArray<{ value: T; name: string }>;
  default: T;
}

export interface AskConfirm {
  /** Flag that answers "yes" non-interactively (usually --yes). */
  flag: string;
  message: string;
  default: boolean;
}

export interface Io {
  readonly interactive: boolean;
  text(q: AskText): Promise<string>;
  select<T extends string>(q: AskSelect<T>): Promise<T>;
  confirm(q: AskConfirm): Promise<boolean>;
  /** Human-facing lines; silent on stdout under --json (they go to stderr instead). */
  info(line: string): void;
  warn(line: string): void;
}
