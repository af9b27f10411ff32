import type { AccessToken, TokenCredential } from '@azure/identity';
import { GRAPH_DEFAULT_SCOPE, tokenFromCredential } from '../../src/adapters/graph/graph-client';

/** A credential that hands out numbered tokens and remembers the scopes it was asked for. */
function countingCredential(lifetimeMs: number, clock: () => number) {
  const scopes: (string | string[])[] = [];
  const credential: TokenCredential = {
    async getToken(scope): Promise<AccessToken> {
      scopes.push(scope);
      return { token: `token-${scopes.length}`, expiresOnTimestamp: clock() + lifetimeMs };
    },
  };
  return { credential, scopes };
}

describe('tokenFromCredential', () => {
  afterEach(() => jest.useRealTimers());

  test('asks for the Graph .default scope and reuses the token until five minutes before it expires', async () => {
    jest.useFakeTimers({ now: Date.parse('2025-06-02T09:00:00Z') });
    const { credential, scopes } = countingCredential(60 * 60 * 1000, () => Date.now());
    const getToken = tokenFromCredential(credential);

    expect(await getToken()).toBe('token-1');
    jest.setSystemTime(Date.now() + 54 * 60 * 1000);
    expect(await getToken()).toBe('token-1');
    jest.setSystemTime(Date.now() + 2 * 60 * 1000);
    expect(await getToken()).toBe('token-2');
    expect(scopes).toEqual([GRAPH_DEFAULT_SCOPE, GRAPH_DEFAULT_SCOPE]);
  });

  test('a burst of callers shares one token request', async () => {
    const { credential, scopes } = countingCredential(60 * 60 * 1000, () => Date.now());
    const getToken = tokenFromCredential(credential);
    const tokens = await Promise.all([getToken(), getToken(), getToken()]);
    expect(tokens).toEqual(['token-1', 'token-1', 'token-1']);
    expect(scopes).toHaveLength(1);
  });
});
