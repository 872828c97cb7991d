/**
 * Suite values are assigned in beforeAll (`let server: TestServer;`) and every test reads them as set. In
 * afterAll they are still undefined when beforeAll failed before assigning them: cleanup reads them through
 * `ifStarted(server)?.stop()` so that it skips what never started, instead of adding a TypeError to the real
 * failure and leaving the resources after it running.
 */
export function ifStarted<T>(value: T): T | undefined {
  return value;
}
