/**
 * Writes a long output (a query's rows, every held record as JSON) to a stream piece by piece:
 * each piece waits while the stream's buffer is full (a slow reader, a pipe into `less`), so
 * the output is never held whole. A reader that went away (`verite query … | head`: EPIPE)
 * ends the writing: {@link OutputWriter.closed} turns true, and the writer drops what follows.
 */
export class OutputWriter {
  private failure: Error | undefined;
  private readonly onError = (error: Error) => {
    this.failure = error;
  };

  private readonly out: NodeJS.WritableStream;
  constructor(out: NodeJS.WritableStream = process.stdout) {
    this.out = out;
    out.on('error', this.onError);
  }

  /** Whether the reader went away: nothing more can be written. */
  get closed(): boolean {
    return this.failure !== undefined;
  }

  /** Writes `text`, and waits until the stream takes more when its buffer is full. */
  async write(text: string): Promise<void> {
    if (this.failure || text === '') return;
    if (this.out.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('error', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('error', done);
      this.out.on('close', done);
    });
  }

  /**
   * Throws an error of the stream that was not its reader going away. It goes on listening: a
   * reader that goes away after the last piece is no crash either.
   */
  end(): void {
    const code = (this.failure as { code?: string } | undefined)?.code;
    if (this.failure && code !== 'EPIPE') throw this.failure;
  }
}
