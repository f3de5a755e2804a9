// Waits until the hub answers /healthz, so no test starts against a server that is
// still opening its database.
import { BASE_URL } from './tests/env';

export default async function globalSetup(): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${BASE_URL}/healthz`);
      if (res.ok) return;
      last = `status ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the hub did not become healthy at ${BASE_URL}/healthz: ${last}`);
}
