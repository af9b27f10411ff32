/**
 * Reaches a person who never opened Attest in Teams: installs Attest's Teams app in their personal scope through
 * Microsoft Graph (`POST /users/{id}/teamwork/installedApps` with the app's org-catalog id), finds the chat
 * between them and the bot (`GET .../installedApps/{installationId}/chat`), and stores a conversation reference
 * to that chat, so this send and every later one go straight to them.
 *
 * Permission: TeamsAppInstallation.ReadWriteSelfForUser.All (application), which installs only the Teams app
 * whose manifest `webApplicationInfo.id` is the calling Entra app: Attest calls Graph as the tab's SSO app
 * (docs/deploy.md, "One Entra app"). A 409 means the app is there already (a retried activity, or the person
 * installed it meanwhile): the installation is looked up and used. Throttling and outages (429, 5xx) are retried
 * by the Graph client; what is left of them is thrown, so the caller does not record the notification as done
 * and a retry tries again. A refusal (403: not permitted, or blocked by the tenant's app permission policy; 404:
 * the app is not in the org catalog or the person is gone) is answered with why, audited in the person's
 * `teams:<id>` stream with what an admin can do, and logged; the caller then escalates as before.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import type { ConversationReference } from 'botbuilder';
import {
  teamsAppInstalled,
  teamsAppInstallRefused,
  teamsStream,
  type InstallPurpose,
} from '../../domain/audit/audit-events';
import type { AuditLogPort } from '../../ports/audit-log.port';
import type { ConversationStore } from '../tables/teams.store';
import { logger } from '../telemetry/logger';
import { odataQueryValue, odataString } from './graph-odata';

/** The Teams service URL that routes to every region: used only until a real reference tells the tenant's own. */
export const TEAMS_GLOBAL_SERVICE_URL = 'https://smba.trafficmanager.net/teams/';

/** What came of trying to reach a person by installing the app for them. */
export type ReachResult =
  | { reached: true; reference: Partial<ConversationReference>; installed: 'new' | 'already' }
  | { reached: false; code: ReachRefusal; status?: number; reason: string };

/** Why a person could not be reached this way. */
export type ReachRefusal =
  /** Graph answered 403: the app may not install it (wrong Entra app) or a policy blocks it for the person. */
  | 'INSTALL.REFUSED'
  /** Graph answered 404: the app is not in the org catalog (ATTEST_TEAMS_CATALOG_APP_ID) or the person is gone. */
  | 'INSTALL.NOT_FOUND'
  /** The installation has no chat with the bot (an app without a bot in personal scope). */
  | 'INSTALL.NO_CHAT'
  /** No Teams serviceUrl is known: nobody has written to the bot and none is configured (the local host). */
  | 'INSTALL.NO_SERVICE_URL';

/** Reaches people who have no conversation with the bot. */
export interface TeamsAppInstaller {
  /**
   * Installs the app for `userId` (or finds it installed) and returns the stored reference to their chat with
   * the bot, or why not. Throws when Graph is unavailable after its retries (try again later).
   */
  reach(userId: string, purpose: InstallPurpose): Promise<ReachResult>;
}

/** What a {@link GraphTeamsAppInstaller} needs. */
export interface GraphTeamsAppInstallerDeps {
  client: Client;
  /** The app's id in the org app catalog (Graph `teamsApp.id`): ATTEST_TEAMS_CATALOG_APP_ID. */
  catalogAppId: string;
  conversations: Pick<ConversationStore, 'anyUser' | 'rememberUser'>;
  /** Where refusals and installations are recorded (the person's `teams:<id>` stream); optional in tests. */
  audit?: Pick<AuditLogPort, 'append'>;
  /**
   * The reference's parts when no person's reference is stored yet: the tenant, the bot's account
   * (`28:<bot app id>`) and the serviceUrl (in Teams {@link TEAMS_GLOBAL_SERVICE_URL}; none on the local host,
   * where only a conversation the Playground or a test connector started tells where to post).
   */
  fallback: { tenantId: string; botId?: string; serviceUrl?: string };
  log?: (line: string) => void;
}

interface GraphFailure {
  status?: number;
  code: string;
  message: string;
}

function failureOf(err: unknown): GraphFailure {
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  return {
    status: typeof e?.statusCode === 'number' && e.statusCode > 0 ? e.statusCode : undefined,
    code: typeof e?.code === 'string' && e.code ? e.code : 'unknown',
    message: typeof e?.message === 'string' && e.message ? e.message : String(err),
  };
}

/** What an admin does about a refusal, in words. */
function remedyFor(status: number, catalogAppId: string): string {
  return status === 404
    ? `Check that ATTEST_TEAMS_CATALOG_APP_ID (${catalogAppId}) is the Attest app's id in the org app catalog (Teams admin centre > Manage apps, or GET /appCatalogs/teamsApps), and that the person still exists.`
    : `Allow the Attest app for this person (Teams admin centre > app permission and setup policies), and check that Attest calls Graph as the Entra app named in the manifest's webApplicationInfo.id (ATTEST_GRAPH_CLIENT_ID = ATTEST_TAB_CLIENT_ID) with TeamsAppInstallation.ReadWriteSelfForUser.All granted; or ask the person to open Attest in Teams once.`;
}

/** Where an installation's audit event goes: the person's stream, tied to the request it was for (not a review). */
function installEnvelope(userId: string, purpose: InstallPurpose) {
  return {
    stream: teamsStream(userId),
    actor: { objectId: 'system', channel: 'system' as const },
    subject: userId,
    ...(purpose.about.startsWith('review:') ? {} : { correlation: { requestId: purpose.about } }),
  };
}

/** A {@link TeamsAppInstaller} on Microsoft Graph. */
export class GraphTeamsAppInstaller implements TeamsAppInstaller {
  private readonly log: (line: string) => void;

  constructor(private readonly deps: GraphTeamsAppInstallerDeps) {
    this.log = deps.log ?? logger('teams-installer', 'warn');
  }

  async reach(userId: string, purpose: InstallPurpose): Promise<ReachResult> {
    const { deps } = this;
    // Where the chat would be posted to, known before anything is installed.
    const template = await deps.conversations.anyUser();
    if (!template?.serviceUrl && !deps.fallback.serviceUrl) {
      const reason = `the bot knows no Teams service URL yet (nobody has written to it), so installing the Attest app for ${userId} would not let it post there`;
      this.log(`teams: ${reason}`);
      return { reached: false, code: 'INSTALL.NO_SERVICE_URL', reason };
    }
    const user = encodeURIComponent(userId);
    const apps = `/users/${user}/teamwork/installedApps`;
    let installed: 'new' | 'already' = 'new';
    try {
      await deps.client.api(apps).post({
        'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${encodeURIComponent(deps.catalogAppId)}`,
      });
    } catch (err) {
      const f = failureOf(err);
      if (f.status === 409) installed = 'already';
      else if (f.status === 403 || f.status === 404) return this.refused(userId, purpose, f);
      else throw err;
    }
    let installationId: string | undefined;
    try {
      const found = (await deps.client
        .api(apps)
        .query(
          `$expand=teamsApp&$filter=${odataQueryValue(`teamsApp/id eq ${odataString(deps.catalogAppId)}`)}`,
        )
        .get()) as { value?: { id?: string }[] };
      installationId = found.value?.[0]?.id;
    } catch (err) {
      const f = failureOf(err);
      if (f.status === 403 || f.status === 404) return this.refused(userId, purpose, f);
      throw err;
    }
    if (!installationId) {
      // Installed a moment ago and not listed yet, or removed since: a retry finds it or installs it again.
      throw new Error(
        `Graph installed the Attest app for ${userId} but does not list the installation yet; a retry looks again.`,
      );
    }
    let chatId: string | undefined;
    try {
      const chat = (await deps.client.api(`${apps}/${encodeURIComponent(installationId)}/chat`).get()) as {
        id?: string;
      };
      chatId = chat.id;
    } catch (err) {
      const f = failureOf(err);
      if (f.status === 403 || f.status === 404) return this.refused(userId, purpose, f);
      throw err;
    }
    if (!chatId) {
      return this.refused(userId, purpose, {
        code: 'NoChat',
        message: 'The installation has no chat with the bot.',
      });
    }
    const reference = this.referenceTo(template, userId, chatId);
    await deps.conversations.rememberUser(userId, reference);
    await deps.audit?.append(
      teamsAppInstalled(installEnvelope(userId, purpose), {
        catalogAppId: deps.catalogAppId,
        already: installed === 'already',
        chatId,
        purpose,
      }),
    );
    return { reached: true, reference, installed };
  }

  /**
   * A reference to the person's chat with the bot: the tenant's serviceUrl and the bot's account from any stored
   * reference (every conversation in a tenant shares them), else from the configured fallback.
   */
  private referenceTo(
    template: Partial<ConversationReference> | undefined,
    userId: string,
    chatId: string,
  ): Partial<ConversationReference> {
    const { fallback } = this.deps;
    const tenantId = template?.conversation?.tenantId ?? fallback.tenantId;
    return {
      channelId: 'msteams',
      serviceUrl: template?.serviceUrl ?? fallback.serviceUrl ?? TEAMS_GLOBAL_SERVICE_URL,
      ...(template?.bot
        ? { bot: template.bot }
        : fallback.botId
          ? { bot: { id: fallback.botId, name: 'Attest' } }
          : {}),
      user: { id: userId, name: '', aadObjectId: userId },
      conversation: { id: chatId, conversationType: 'personal', isGroup: false, name: '', tenantId },
    };
  }

  private async refused(userId: string, purpose: InstallPurpose, f: GraphFailure): Promise<ReachResult> {
    const { deps } = this;
    const code: ReachRefusal =
      f.status === 403 ? 'INSTALL.REFUSED' : f.status === 404 ? 'INSTALL.NOT_FOUND' : 'INSTALL.NO_CHAT';
    // NB. Each refusal is audited: a retried activity finds the delivery recorded and does not ask again.
    const remedy = remedyFor(f.status ?? 403, deps.catalogAppId);
    const reason = `Graph refused to install the Attest app for ${userId}${f.status ? ` (${f.status} ${f.code})` : ''}: ${f.message}`;
    this.log(`teams: ${reason.replace(/\.\s*$/, '')}. ${remedy}`);
    await deps.audit?.append(
      teamsAppInstallRefused(installEnvelope(userId, purpose), {
        catalogAppId: deps.catalogAppId,
        status: f.status ?? 0,
        code: f.code,
        error: f.message,
        remedy,
        purpose,
      }),
    );
    return { reached: false, code, ...(f.status ? { status: f.status } : {}), reason };
  }
}
