/**
 * The federated Graph credential, without the network: the managed identity is asked for a token for Entra's
 * token-exchange audience, and that token is what the Entra app presents as its client assertion.
 */
import { ClientAssertionCredential, type AccessToken, type TokenCredential } from '@azure/identity';
import {
  TOKEN_EXCHANGE_SCOPE,
  graphCredentialFor,
  managedIdentityAssertion,
} from '../../../../src/adapters/graph/graph-access';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const APP = '5b7e2d1c-3f4a-4b8c-9d0e-1f2a3b4c5d6e';

/** A managed identity that records what it was asked for and answers with a fixed token. */
function fakeManagedIdentity(asked: (string | string[])[]): TokenCredential {
  return {
    getToken: async (scopes): Promise<AccessToken> => {
      asked.push(scopes);
      return { token: 'mi-assertion-jwt', expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

test('the assertion is the managed identity token for api://AzureADTokenExchange', async () => {
  const asked: (string | string[])[] = [];
  const assertion = managedIdentityAssertion(fakeManagedIdentity(asked));
  expect(await assertion()).toBe('mi-assertion-jwt');
  expect(asked).toEqual([TOKEN_EXCHANGE_SCOPE]);
  expect(TOKEN_EXCHANGE_SCOPE).toBe('api://AzureADTokenExchange/.default');
});

test('a managed identity that returns no token fails with a message saying where to look', async () => {
  const none: TokenCredential = { getToken: async () => null };
  await expect(managedIdentityAssertion(none)()).rejects.toThrow(/managed identity returned no token/);
});

test('federated signs in as the Entra app with the user-assigned identity of AZURE_CLIENT_ID', async () => {
  const made: (string | undefined)[] = [];
  const asked: (string | string[])[] = [];
  const credential = graphCredentialFor(
    {
      mode: 'graph',
      tenantId: TENANT,
      clientId: APP,
      credential: { kind: 'federated', managedIdentityClientId: '9a8b7c6d-0000-4000-8000-0000000000aa' },
    },
    {
      managedIdentity: (clientId) => {
        made.push(clientId);
        return fakeManagedIdentity(asked);
      },
    },
  );
  expect(credential).toBeInstanceOf(ClientAssertionCredential);
  expect(made).toEqual(['9a8b7c6d-0000-4000-8000-0000000000aa']);
  // NB. The credential keeps the callback it will call when Entra needs an assertion: call it as MSAL would.
  const getAssertion = (credential as unknown as { getAssertion: () => Promise<string> }).getAssertion;
  expect(await getAssertion()).toBe('mi-assertion-jwt');
  expect(asked).toEqual([TOKEN_EXCHANGE_SCOPE]);
  expect((credential as unknown as { tenantId: string }).tenantId).toBe(TENANT);
});

test('managed-identity still uses the identity itself, and system-assigned when AZURE_CLIENT_ID is unset', () => {
  const made: (string | undefined)[] = [];
  const mi = fakeManagedIdentity([]);
  const credential = graphCredentialFor(
    { mode: 'graph', tenantId: TENANT, clientId: APP, credential: { kind: 'managed-identity' } },
    { managedIdentity: (clientId) => (made.push(clientId), mi) },
  );
  expect(credential).toBe(mi);
  expect(made).toEqual([undefined]);
});
