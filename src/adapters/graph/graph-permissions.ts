/**
 * The Microsoft Graph application permissions Attest needs, in one list: aad.manifest.json's requiredResourceAccess
 * and the admin's docs (docs/deploy.md, docs/permissions.md) are checked against it (test/unit/docs-names.test.ts,
 * test/unit/app-package.test.ts). They are granted to THE Entra app's service principal (ATTEST_GRAPH_CLIENT_ID,
 * the tab's SSO app), which the function app's managed identity signs in as through a federated credential.
 */

/** Microsoft Graph's application (client) id, the same in every tenant: the resource of these app roles. */
export const MICROSOFT_GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** One Graph application permission (an app role of Microsoft Graph). */
export interface GraphApplicationPermission {
  /** The permission's name, e.g. `User.Read.All`. */
  name: string;
  /** The id of Microsoft Graph's app role for it (the same in every tenant). */
  appRoleId: string;
  /**
   * How the admin grants it: `admin-consent` (requiredResourceAccess in aad.manifest.json, then "Grant admin
   * consent") or `exchange-rbac` (Exchange Online RBAC for Applications scoped to one mailbox; never an Entra grant,
   * which would cover every mailbox).
   */
  grantedBy: 'admin-consent' | 'exchange-rbac';
  /** What Attest does with it. */
  why: string;
}

/**
 * Least privilege: each is the smallest permission Graph offers for the calls Attest makes (the app role ids are
 * Microsoft Graph's, as listed in its permissions reference).
 */
export const GRAPH_APPLICATION_PERMISSIONS: readonly GraphApplicationPermission[] = [
  {
    name: 'GroupMember.ReadWrite.All',
    appRoleId: 'dbaae8cf-10b5-4b86-a4a1-f871c94c6695',
    grantedBy: 'admin-consent',
    why: 'add and remove members of the groups behind catalog roles; read members and owners (reviews, reconcile, owner stages)',
  },
  {
    name: 'User.Read.All',
    appRoleId: 'df021288-bdef-4463-88db-98f22de89214',
    grantedBy: 'admin-consent',
    why: 'look up requesters, approvers and reviewers; walk the manager chain; find disabled or deleted accounts (offboarding)',
  },
  {
    name: 'AuditLog.Read.All',
    appRoleId: 'b0afded3-3588-46d8-8b3d-9842eff778da',
    grantedBy: 'admin-consent',
    why: "read users' signInActivity (last sign-in) for access reviews",
  },
  {
    name: 'TeamsAppInstallation.ReadWriteSelfForUser.All',
    appRoleId: '908de74d-f8b2-4d6b-a9ed-2a17b3b78179',
    grantedBy: 'admin-consent',
    why: 'install Attest itself for an approver or reviewer the bot cannot reach yet',
  },
  {
    name: 'Mail.Send',
    appRoleId: 'b633e1c5-b582-4048-a93e-9f11b44c7e96',
    grantedBy: 'exchange-rbac',
    why: 'send the evidence e-mail, and review notices to people the bot cannot reach, from ATTEST_MAIL_SENDER only',
  },
];
