import { generate } from 'otplib';
import type { CreatedAccount } from '../../gateway/auth/accounts.ts';

/**
 * An access token for an account, the way a client gets one: client credentials with the API token
 * followed by the current TOTP code. Codes are single-use per account, so callers use a fresh account
 * for each token they need within 30 seconds.
 */
export async function accessToken(baseUrl: string, account: CreatedAccount): Promise<string> {
  const code = await generate({ secret: account.totpSecret });
  const answer = await fetch(`${baseUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: account.clientId,
      client_secret: `${account.apiToken}${code}`,
    }),
  });
  const text = await answer.text();
  if (answer.status !== 200) throw new Error(`token request failed: ${answer.status} ${text}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}
