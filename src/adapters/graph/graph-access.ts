/**
 * Microsoft Graph access for the configured directory: the base URL and a token source from
 * @azure/identity (managed identity, client secret or certificate). The simulator's access is issued by
 * the local host instead; both feed the same Graph client.
 */
import {
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

/** Access to real Microsoft Graph with the configured credential. */
export function graphAccessFor(directory: Extract<DirectoryConfig, { mode: 'graph' }>): GraphAccess {
  const c = directory.credential;
  const credential: TokenCredential =
    c.kind === 'managed-identity'
      ? new ManagedIdentityCredential(c.clientId ? { clientId: c.clientId } : {})
      : c.kind === 'client-secret'
        ? new ClientSecretCredential(directory.tenantId, directory.clientId, c.secret)
        : new ClientCertificateCredential(directory.tenantId, directory.clientId, {
            certificatePath: c.certificatePath,
          });
  return { baseUrl: GRAPH_V1, getToken: tokenFromCredential(credential) };
}
