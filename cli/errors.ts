/**
 * An error the CLI reports as one line (`mlops: <message>`) and exit code 1, without a stack trace.
 * Throw it for bad usage or bad input; anything else is a bug and keeps its stack.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
