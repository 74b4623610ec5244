// Who answers Ctrl-C. init and destroy claim it while they run (they save state and return 130);
// src/cli.ts answers it the rest of the time (before a command is ready, verify, status).
let owners = 0;

/** Claims Ctrl-C for the caller; returns the release. */
export function claimInterrupts(): () => void {
  owners += 1;
  let released = false;
  return () => {
    if (!released) owners -= 1;
    released = true;
  };
}

export function interruptsClaimed(): boolean {
  return owners > 0;
}
