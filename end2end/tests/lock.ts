// A lock the test workers share, for hub-wide settings that tests change (the
// notification URL, the marketplace's secret): the two projects take turns.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Runs `fn` while holding the lock called `name`; waits up to `waitMs` for it. */
export async function withLock<T>(name: string, fn: () => Promise<T>, waitMs = 60_000): Promise<T> {
  const dir = path.join(os.tmpdir(), `hub-e2e-lock-${name}-${process.env.HUB_E2E_DATA_DIR?.replace(/\W/g, '')}`);
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`lock ${name} was never free`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
