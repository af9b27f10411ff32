/**
 * Microsoft Graph access for the configured directory: the base URL and a token source from
 * @azure/identity (federated through the managed identity, managed identity, client secret or certificate).
 * The simulator's access is issued by the local host instead; both feed the same Graph client.
 */
import {
  ClientAssertionCredential,
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import type { DirectoryConfig } from '../../config/config';
import { tokenFromCredential } from './graph-client';

/** How to reach the directory: Microsoft Graph's base URL and a bearer-token source (simulator or real). */
export interface GraphAccess {
  baseUrl: string;
  getToken: () => Promise<string>;
}

/** Microsoft Graph v1.0, the only Graph version Attest calls. */
export const GRAPH_V1 = 'https://graph.microsoft.com/v1.0';

/**
 * The audience of the token a managed identity presents as a federated credential (Entra's token exchange).
 * NB. Public cloud; sovereign clouds use their own (e.g. api://AzureADTokenExchangeUSGov).
 */
export const TOKEN_EXCHANGE_SCOPE = 'api://AzureADTokenExchange/.default';

/**
 * The client assertion of a federated credential: a token the managed identity gets for the token-exchange
 * audience, asked for each time Entra needs one (ClientAssertionCredential caches the app's own token).
 */
export function managedIdentityAssertion(managedIdentity: TokenCredential): () => Promise<string> {
  return async () => {
    const token = await managedIdentity.getToken(TOKEN_EXCHANGE_SCOPE);
    if (!token) {
      throw new Error(
        `The managed identity returned no token for ${TOKEN_EXCHANGE_SCOPE}: is it enabled on the Function App?`,
      );
    }
    return token.token;
  };
}

/** How credentials are made; tests replace the managed identity to stay off the network. */
export interface CredentialFactories {
  managedIdentity: (clientId?: string) => TokenCredential;
}

const DEFAULT_FACTORIES: CredentialFactories = {
  managedIdentity: (clientId) => new ManagedIdentityCredential(clientId ? { clientId } : {}),
};

/**
 * The credential Attest signs in to Graph with. `federated`: the Function App's managed identity (AZURE_CLIENT_ID
 * when user-assigned) vouches, through a federated identity credential on the Entra app ATTEST_GRAPH_CLIENT_ID,
 * so Attest calls Graph as that app (the tab's SSO app, the Teams manifest's webApplicationInfo.id) with no secret.
 */
export function graphCredentialFor(
  directory: Extract<DirectoryConfig, { mode: 'graph' }>,
  factories: CredentialFactories = DEFAULT_FACTORIES,
): TokenCredential {
  const c = directory.credential;
  switch (c.kind) {
    case 'federated':
      return new ClientAssertionCredential(
        directory.tenantId,
        directory.clientId,
        managedIdentityAssertion(factories.managedIdentity(c.managedIdentityClientId)),
      );
    case 'managed-identity':
      return factories.managedIdentity(c.clientId);
    case 'client-secret':
      return new ClientSecretCredential(directory.tenantId, directory.clientId, c.secret);
    case 'certificate':
      return new ClientCertificateCredential(directory.tenantId, directory.clientId, {
        certificatePath: c.certificatePath,
      });
  }
}

/** Access to real Microsoft Graph with the configured credential. */
export function graphAccessFor(directory: Extract<DirectoryConfig, { mode: 'graph' }>): GraphAccess {
  return { baseUrl: GRAPH_V1, getToken: tokenFromCredential(graphCredentialFor(directory)) };
}
