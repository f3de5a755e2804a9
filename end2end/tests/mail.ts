// Reads what the hub delivered to the test SMTP server.
import { expect } from '@playwright/test';
import { MAIL_API_PORT } from './env';

type Mail = { subject: string; text: string; to: Array<{ address: string }> };

/** Waits for the newest mail to `address` and returns its text. */
export async function mailTo(address: string, after = 0): Promise<string> {
  let found: Mail[] = [];
  await expect
    .poll(
      async () => {
        const res = await fetch(`http://127.0.0.1:${MAIL_API_PORT}/api/email`);
        const all = (await res.json()) as Mail[];
        found = all.filter((m) => m.to.some((t) => t.address.toLowerCase() === address.toLowerCase()));
        return found.length;
      },
      { timeout: 20_000, message: `a mail to ${address}` },
    )
    .toBeGreaterThan(after);
  return found[found.length - 1].text;
}

/** The invitation link in a mail's text. */
export function inviteLink(text: string): string {
  const m = text.match(/https?:\/\/\S+\/invite\/\S+/);
  if (!m) throw new Error(`no invitation link in: ${text}`);
  return m[0];
}
