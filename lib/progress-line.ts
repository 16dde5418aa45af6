/**
 * The progress line drawn on the terminal (lib/progress.ts), shared with the logger: a log line
 * written while it is shown would be appended to it, so the logger clears it first, and the next
 * progress update draws it again.
 */
let drawnOn: Pick<NodeJS.WriteStream, 'write'> | null = null;

/** Draws `text` as the progress line on `out` (a terminal), replacing the one shown. */
export function drawProgressLine(out: Pick<NodeJS.WriteStream, 'write'>, text: string): void {
  out.write(`\r\x1b[2K${text}`);
  drawnOn = out;
}

/** Clears the progress line, if one is shown. */
export function clearProgressLine(): void {
  if (!drawnOn) return;
  const out = drawnOn;
  drawnOn = null;
  out.write('\r\x1b[2K');
}
