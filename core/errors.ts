/**
 * An error the CLI reports as one line (`mlops: <message>`) and exit code 1, without a stack trace.
 * Throw it for bad usage or bad input; anything else is a bug and keeps its stack. On the ground floor so
 * that every part's command module (environments/, policies/, stacks/, runtime/*) throws it without
 * importing the command frame in cli/.
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
