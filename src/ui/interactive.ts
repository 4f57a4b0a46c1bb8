// Whether a command may ask a person: both ends must be a terminal, and never in
// --json mode, so scripts and pipes fail fast instead of hanging.
export function canPrompt(json: boolean): boolean {
  return !json && process.stdin.isTTY === true && process.stderr.isTTY === true
}
