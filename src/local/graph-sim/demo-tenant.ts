/**
 * The demo tenant the Graph simulator is seeded with: Contoso's org chart, the security groups behind each
 * app role, and the people the Agents Playground acts as. Deterministic: ids are name-based UUIDs and
 * sign-in dates are offsets from the `now` passed in, so two seeds at the same instant are identical.
 */
import { createHash } from 'node:crypto';
import { renderPlaygroundConfig, type PlaygroundPerson } from './playground-config';

/** The demo tenant's id (Entra tenant id and the Playground's tenantId). */
export const DEMO_TENANT_ID = '6e1d3f0a-5b2c-4d8e-9f70-a1b2c3d4e5f6';

/** The demo tenant's verified domain; every UPN and mail address ends with it. */
export const DEMO_DOMAIN = 'contoso.example';

/** A user as the simulator stores it (Graph property names; manager kept as an id). */
export interface SimUser extends PlaygroundPerson {
  department: string;
  jobTitle: string;
  accountEnabled: boolean;
  managerId: string | null;
  /** ISO date-time, or null for an account that never signed in. */
  lastSignInDateTime: string | null;
  lastNonInteractiveSignInDateTime: string | null;
}

/**
 * A group as the simulator stores it, with owners as user ids and direct members as user or group ids (a
 * group id there is a nested group). The kind flags are optional so state files from before they existed
 * still load: absent means false / null.
 */
export interface SimGroup {
  id: string;
  displayName: string;
  description: string;
  mailNickname: string;
  securityEnabled: boolean;
  mailEnabled: boolean;
  /** `Unified` (Microsoft 365 group), `DynamicMembership`. */
  groupTypes: string[];
  ownerIds: string[];
  memberIds: string[];
  /** Synced from on-premises AD: Graph refuses membership writes. */
  onPremisesSyncEnabled?: boolean | null;
  /** Role-assignable: membership writes need RoleManagement.ReadWrite.Directory too. */
  isAssignableToRole?: boolean | null;
  /** The rule of a dynamic group (`groupTypes` has `DynamicMembership`). */
  membershipRule?: string | null;
}

/** A Teams app in the tenant's org app catalog (Graph `teamsApp`, distributionMethod `organization`). */
export interface SimTeamsApp {
  /** The catalog id (Graph `teamsApp.id`): what ATTEST_TEAMS_CATALOG_APP_ID names. */
  id: string;
  /** The manifest's id (Graph `teamsApp.externalId`). */
  externalId: string;
  displayName: string;
  /**
   * The manifest's `webApplicationInfo.id`: the one Entra app that may install it with
   * TeamsAppInstallation.ReadWriteSelfForUser.All.
   */
  webApplicationInfoId: string;
}

/** A Teams app installed in a person's personal scope, with the 1:1 chat between them and the app's bot. */
export interface SimAppInstallation {
  /** Graph `teamsAppInstallation.id` (opaque; base64 with `/`, `+` and `=`, as Graph's are). */
  id: string;
  userId: string;
  teamsAppId: string;
  /** The chat between the person and the bot (the bot's conversation id). */
  chatId: string;
}

/** The whole directory the simulator serves. */
export interface SimTenant {
  tenantId: string;
  users: SimUser[];
  groups: SimGroup[];
  /** The org app catalog; absent in state files from before it existed, read as the demo catalog. */
  teamsApps?: SimTeamsApp[];
  /** Personal-scope installations of catalog apps. */
  appInstallations?: SimAppInstallation[];
  /** Users for whom an app permission policy blocks installing catalog apps (`/_sim/users/{id}/block-teams-apps`). */
  teamsAppsBlockedFor?: string[];
}

/** An app in the demo catalog: each role is granted by membership of one security group. */
export interface DemoApp {
  id: string;
  name: string;
  roles: { id: string; name: string; groupId: string }[];
}

/** A name-based (v5-style) UUID, so the seed needs no randomness and ids are stable across runs. */
function nameUuid(name: string): string {
  const h = createHash('sha1').update(`attest-demo/${name}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** The id of the demo user with this UPN alias (the part before @). */
export function demoUserId(alias: string): string {
  return nameUuid(`user/${alias}`);
}

/** The id of the demo group with this mailNickname. */
export function demoGroupId(mailNickname: string): string {
  return nameUuid(`group/${mailNickname}`);
}

// alias, given name, surname, department, job title, manager alias, days since last sign-in (null = never),
// account enabled. Interactive and non-interactive sign-ins are kept a little apart, as in a real tenant.
type PersonRow = [string, string, string, string, string, string | null, number | null, boolean?];

const PEOPLE: PersonRow[] = [
  ['margaret.okafor', 'Margaret', 'Okafor', 'Executive', 'Chief Executive Officer', null, 1],
  ['rahul.mehta', 'Rahul', 'Mehta', 'Engineering', 'VP Engineering', 'margaret.okafor', 0],
  ['sofia.alvarez', 'Sofia', 'Alvarez', 'Sales', 'VP Sales', 'margaret.okafor', 2],
  ['henrik.larsen', 'Henrik', 'Larsen', 'Finance', 'Chief Financial Officer', 'margaret.okafor', 1],
  ['amara.nwosu', 'Amara', 'Nwosu', 'Security', 'Chief Information Security Officer', 'margaret.okafor', 0],
  ['grace.kim', 'Grace', 'Kim', 'HR', 'VP People', 'margaret.okafor', 3],
  ['tomasz.nowak', 'Tomasz', 'Nowak', 'IT', 'Chief Information Officer', 'margaret.okafor', 1],
  ['lucas.moreau', 'Lucas', 'Moreau', 'Support', 'VP Customer Support', 'margaret.okafor', 2],
  ['priya.raman', 'Priya', 'Raman', 'Engineering', 'Engineering Manager, Platform', 'rahul.mehta', 0],
  ['daniel.schmidt', 'Daniel', 'Schmidt', 'Engineering', 'Engineering Manager, Data', 'rahul.mehta', 1],
  ['chloe.dubois', 'Chloe', 'Dubois', 'Sales', 'Sales Manager, EMEA', 'sofia.alvarez', 4],
  ['marcus.johnson', 'Marcus', 'Johnson', 'Sales', 'Sales Manager, Americas', 'sofia.alvarez', 1],
  ['aisha.rahman', 'Aisha', 'Rahman', 'Finance', 'Financial Controller', 'henrik.larsen', 2],
  ['kenji.watanabe', 'Kenji', 'Watanabe', 'Security', 'Security Engineering Manager', 'amara.nwosu', 0],
  ['olivia.bennett', 'Olivia', 'Bennett', 'HR', 'HR Manager', 'grace.kim', 5],
  ['ethan.clarke', 'Ethan', 'Clarke', 'IT', 'IT Operations Manager', 'tomasz.nowak', 1],
  ['isabella.rossi', 'Isabella', 'Rossi', 'Support', 'Support Manager', 'lucas.moreau', 2],
  ['alex.chen', 'Alex', 'Chen', 'Engineering', 'Software Engineer', 'priya.raman', 0],
  ['siobhan.obrien', 'Siobhan', "O'Brien", 'Engineering', 'Senior Software Engineer', 'priya.raman', 1],
  ['mateo.garcia', 'Mateo', 'Garcia', 'Engineering', 'Software Engineer', 'priya.raman', 3],
  ['noah.williams', 'Noah', 'Williams', 'Engineering', 'Site Reliability Engineer', 'priya.raman', 0],
  ['yuki.tanaka', 'Yuki', 'Tanaka', 'Engineering', 'Data Engineer', 'daniel.schmidt', 2],
  ['fatima.zahra', 'Fatima', 'Zahra', 'Engineering', 'Data Engineer', 'daniel.schmidt', 6],
  ['liam.murphy', 'Liam', 'Murphy', 'Engineering', 'Analytics Engineer', 'daniel.schmidt', 120],
  ['emma.laurent', 'Emma', 'Laurent', 'Sales', 'Account Executive', 'chloe.dubois', 1],
  ['jonas.weber', 'Jonas', 'Weber', 'Sales', 'Account Executive', 'chloe.dubois', 9],
  ['ava.thompson', 'Ava', 'Thompson', 'Sales', 'Account Executive', 'marcus.johnson', 2],
  ['carlos.mendes', 'Carlos', 'Mendes', 'Sales', 'Sales Development Representative', 'marcus.johnson', 95],
  ['hannah.lee', 'Hannah', 'Lee', 'Sales', 'Account Executive', 'marcus.johnson', 150, false],
  ['benjamin.cohen', 'Benjamin', 'Cohen', 'Finance', 'Accountant', 'aisha.rahman', 200],
  ['mei.lin', 'Mei', 'Lin', 'Finance', 'Financial Analyst', 'aisha.rahman', 3],
  ['omar.haddad', 'Omar', 'Haddad', 'Security', 'Security Engineer', 'kenji.watanabe', 1],
  ['zoe.martin', 'Zoe', 'Martin', 'Security', 'Security Analyst', 'kenji.watanabe', 0],
  ['lily.evans', 'Lily', 'Evans', 'HR', 'HR Business Partner', 'olivia.bennett', 4],
  ['samuel.osei', 'Samuel', 'Osei', 'HR', 'Recruiter', 'olivia.bennett', null],
  ['ravi.patel', 'Ravi', 'Patel', 'IT', 'Systems Administrator', 'ethan.clarke', 0],
  ['nora.johansson', 'Nora', 'Johansson', 'IT', 'IT Support Specialist', 'ethan.clarke', 2],
  ['jack.wilson', 'Jack', 'Wilson', 'Support', 'Support Engineer', 'isabella.rossi', 1],
  ['maria.silva', 'Maria', 'Silva', 'Support', 'Support Engineer', 'isabella.rossi', 7],
  ['ahmed.khan', 'Ahmed', 'Khan', 'Support', 'Senior Support Engineer', 'isabella.rossi', 130],
  ['ines.duarte', 'Ines', 'Duarte', 'Support', 'Support Engineer', 'isabella.rossi', null],
  // A contractor with no manager in the directory: approval chains that need a manager must cope.
  ['taylor.brooks', 'Taylor', 'Brooks', 'Engineering', 'Contractor', null, 12],
  // The shared mailbox Attest sends e-mail from (ATTEST_MAIL_SENDER): in Entra a shared mailbox is a user whose
  // account is disabled, so nobody signs in to it.
  ['attest', 'Attest', 'Notifications', 'IT', 'Shared mailbox', null, null, false],
];

// mailNickname, display name, description, owner aliases, member aliases.
type GroupRow = [string, string, string, string[], string[]];

const APP_GROUPS: { app: string; name: string; roles: [string, string, GroupRow][] }[] = [
  {
    app: 'salesforce',
    name: 'Salesforce',
    roles: [
      [
        'user',
        'Standard User',
        [
          'sg-salesforce-users',
          'Salesforce - Standard User',
          'Grants the Salesforce Standard User profile.',
          ['sofia.alvarez'],
          [
            'chloe.dubois',
            'marcus.johnson',
            'emma.laurent',
            'jonas.weber',
            'ava.thompson',
            'carlos.mendes',
            'hannah.lee',
          ],
        ],
      ],
      [
        'admin',
        'System Administrator',
        [
          'sg-salesforce-admins',
          'Salesforce - System Administrator',
          'Grants the Salesforce System Administrator profile.',
          ['sofia.alvarez', 'tomasz.nowak'],
          ['marcus.johnson'],
        ],
      ],
    ],
  },
  {
    app: 'github',
    name: 'GitHub Enterprise',
    roles: [
      [
        'member',
        'Member',
        [
          'sg-github-members',
          'GitHub Enterprise - Member',
          'Member of the contoso GitHub Enterprise organisation.',
          ['rahul.mehta', 'priya.raman'],
          [
            'priya.raman',
            'daniel.schmidt',
            'siobhan.obrien',
            'mateo.garcia',
            'noah.williams',
            'yuki.tanaka',
            'fatima.zahra',
            'liam.murphy',
            'taylor.brooks',
            'omar.haddad',
          ],
        ],
      ],
      [
        'owner',
        'Organization Owner',
        [
          'sg-github-owners',
          'GitHub Enterprise - Organization Owner',
          'Owner of the contoso GitHub Enterprise organisation.',
          ['rahul.mehta'],
          ['priya.raman'],
        ],
      ],
    ],
  },
  {
    app: 'aws-production',
    name: 'AWS Production',
    roles: [
      [
        'readonly',
        'ReadOnly',
        [
          'sg-aws-prod-readonly',
          'AWS Production - ReadOnly',
          'ReadOnlyAccess permission set in the production AWS account.',
          ['kenji.watanabe', 'priya.raman'],
          ['siobhan.obrien', 'yuki.tanaka', 'zoe.martin', 'jack.wilson'],
        ],
      ],
      [
        'poweruser',
        'PowerUser',
        [
          'sg-aws-prod-poweruser',
          'AWS Production - PowerUser',
          'PowerUserAccess permission set in the production AWS account.',
          ['kenji.watanabe'],
          ['noah.williams'],
        ],
      ],
      [
        'admin',
        'Administrator',
        [
          'sg-aws-prod-admins',
          'AWS Production - Administrator',
          'AdministratorAccess permission set in the production AWS account (break-glass).',
          ['kenji.watanabe', 'amara.nwosu'],
          ['omar.haddad'],
        ],
      ],
    ],
  },
  {
    app: 'snowflake',
    name: 'Snowflake',
    roles: [
      [
        'analyst',
        'Analyst',
        [
          'sg-snowflake-analysts',
          'Snowflake - Analyst',
          'ANALYST role on the Snowflake account.',
          ['daniel.schmidt'],
          ['yuki.tanaka', 'fatima.zahra', 'liam.murphy', 'mei.lin', 'benjamin.cohen'],
        ],
      ],
      [
        'sysadmin',
        'SysAdmin',
        [
          'sg-snowflake-sysadmins',
          'Snowflake - SysAdmin',
          'SYSADMIN role on the Snowflake account.',
          ['daniel.schmidt', 'kenji.watanabe'],
          ['yuki.tanaka'],
        ],
      ],
    ],
  },
  {
    app: 'workday',
    name: 'Workday',
    roles: [
      [
        'hr-partner',
        'HR Partner',
        [
          'sg-workday-hr-partners',
          'Workday - HR Partner',
          'HR Partner security group in Workday.',
          ['grace.kim'],
          ['olivia.bennett', 'lily.evans', 'samuel.osei'],
        ],
      ],
      [
        'payroll-admin',
        'Payroll Administrator',
        [
          'sg-workday-payroll-admins',
          'Workday - Payroll Administrator',
          'Payroll Administrator security group in Workday.',
          ['grace.kim', 'henrik.larsen'],
          ['aisha.rahman'],
        ],
      ],
    ],
  },
  {
    app: 'servicenow',
    name: 'ServiceNow',
    roles: [
      [
        'itil',
        'ITIL Agent',
        [
          'sg-servicenow-itil',
          'ServiceNow - ITIL Agent',
          'itil role in ServiceNow.',
          ['ethan.clarke'],
          ['ravi.patel', 'nora.johansson', 'jack.wilson', 'maria.silva', 'ahmed.khan', 'ines.duarte'],
        ],
      ],
      [
        'admin',
        'Administrator',
        [
          'sg-servicenow-admins',
          'ServiceNow - Administrator',
          'admin role in ServiceNow.',
          ['ethan.clarke', 'tomasz.nowak'],
          ['ravi.patel'],
        ],
      ],
    ],
  },
  {
    app: 'jira',
    name: 'Jira Admin',
    roles: [
      [
        'project-admin',
        'Project Administrator',
        [
          'sg-jira-project-admins',
          'Jira - Project Administrator',
          'Project administrator permission in Jira Cloud.',
          ['priya.raman'],
          ['daniel.schmidt', 'isabella.rossi'],
        ],
      ],
      [
        'site-admin',
        'Site Administrator',
        [
          'sg-jira-site-admins',
          'Jira - Site Administrator',
          'Site administrator of the Jira Cloud site.',
          ['tomasz.nowak'],
          ['ethan.clarke'],
        ],
      ],
    ],
  },
  {
    app: 'netsuite',
    name: 'NetSuite',
    roles: [
      [
        'ap-clerk',
        'AP Clerk',
        [
          'sg-netsuite-ap-clerks',
          'NetSuite - AP Clerk',
          'Accounts payable clerk role in NetSuite.',
          ['aisha.rahman'],
          ['benjamin.cohen', 'mei.lin'],
        ],
      ],
      [
        'controller',
        'Controller',
        [
          'sg-netsuite-controllers',
          'NetSuite - Controller',
          'Controller role in NetSuite (approves payments).',
          ['henrik.larsen'],
          ['aisha.rahman'],
        ],
      ],
    ],
  },
];

const OTHER_GROUPS: GroupRow[] = [
  [
    'sg-oncall',
    'On-call',
    'Engineers and responders on the production on-call rotation.',
    ['priya.raman', 'kenji.watanabe'],
    [
      'priya.raman',
      'siobhan.obrien',
      'mateo.garcia',
      'noah.williams',
      'yuki.tanaka',
      'omar.haddad',
      'zoe.martin',
      'ravi.patel',
      'jack.wilson',
      'alex.chen',
      'ahmed.khan',
      'fatima.zahra',
    ],
  ],
  [
    'sg-attest-admins',
    'Attest admins',
    'Administrators of Attest: manage the catalog, run reviews, read the audit log.',
    ['amara.nwosu'],
    ['kenji.watanabe', 'ravi.patel', 'zoe.martin'],
  ],
  [
    'sg-attest-auditors',
    'Attest auditors',
    'Internal audit: see every access review, campaign and audit trail in the Attest tab, read-only.',
    ['amara.nwosu'],
    ['mei.lin'],
  ],
];

/** A group of a kind Graph cannot (or may not) change the membership of, with its flags. */
interface KindRow {
  row: GroupRow;
  kind: Partial<
    Pick<
      SimGroup,
      | 'groupTypes'
      | 'securityEnabled'
      | 'mailEnabled'
      | 'onPremisesSyncEnabled'
      | 'isAssignableToRole'
      | 'membershipRule'
    >
  >;
}

/**
 * Groups of each kind that Graph treats specially, none of them used by the demo catalog: Attest must notice
 * before it promises access through one of them.
 */
const KIND_GROUPS: KindRow[] = [
  {
    row: [
      'dyn-engineering-all',
      'Engineering (dynamic)',
      'Everyone in Engineering, by a dynamic membership rule.',
      ['rahul.mehta'],
      ['rahul.mehta', 'priya.raman', 'alex.chen'],
    ],
    kind: { groupTypes: ['DynamicMembership'], membershipRule: '(user.department -eq "Engineering")' },
  },
  {
    row: [
      'sg-onprem-finance',
      'Finance (on-premises)',
      'Finance file shares, synced from on-premises Active Directory.',
      ['henrik.larsen'],
      ['aisha.rahman', 'mei.lin'],
    ],
    kind: { onPremisesSyncEnabled: true },
  },
  {
    row: [
      'mesg-security-alerts',
      'Security alerts',
      'Mail-enabled security group that receives security alerts.',
      ['amara.nwosu'],
      ['kenji.watanabe', 'omar.haddad'],
    ],
    kind: { mailEnabled: true },
  },
  {
    row: [
      'dl-sales-all',
      'All Sales',
      'Distribution list of the sales team.',
      ['sofia.alvarez'],
      ['emma.laurent', 'jonas.weber'],
    ],
    kind: { mailEnabled: true, securityEnabled: false },
  },
  {
    row: [
      'sg-helpdesk-admins',
      'Helpdesk administrators (role-assignable)',
      'Holds the Entra Helpdesk Administrator role; membership changes need RoleManagement.ReadWrite.Directory.',
      ['tomasz.nowak'],
      ['nora.johansson'],
    ],
    kind: { isAssignableToRole: true },
  },
  {
    row: [
      'm365-platform-team',
      'Platform team',
      'Microsoft 365 group of the platform team (Teams, SharePoint, mailbox).',
      ['priya.raman'],
      ['priya.raman', 'alex.chen', 'siobhan.obrien'],
    ],
    kind: { groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false },
  },
];

/** A dynamic membership group: Graph refuses member adds and removes. */
export const DEMO_DYNAMIC_GROUP_ID = demoGroupId('dyn-engineering-all');
/** A group synced from on-premises AD: Graph refuses member adds and removes. */
export const DEMO_ONPREM_SYNCED_GROUP_ID = demoGroupId('sg-onprem-finance');
/** A mail-enabled security group: managed in Exchange, Graph refuses member adds and removes. */
export const DEMO_MAIL_ENABLED_SECURITY_GROUP_ID = demoGroupId('mesg-security-alerts');
/** A distribution list: managed in Exchange, Graph refuses member adds and removes. */
export const DEMO_DISTRIBUTION_LIST_ID = demoGroupId('dl-sales-all');
/** A role-assignable group: member writes need RoleManagement.ReadWrite.Directory as well. */
export const DEMO_ROLE_ASSIGNABLE_GROUP_ID = demoGroupId('sg-helpdesk-admins');
/** A Microsoft 365 (Unified) group: Graph changes its members like a security group's. */
export const DEMO_UNIFIED_GROUP_ID = demoGroupId('m365-platform-team');

/**
 * Nested groups: [parent, child] by mailNickname. The secondary on-call rota is a member of On-call, so its
 * people (Nora Johansson, Maria Silva) are eligible for AWS Production PowerUser and Administrator, whose
 * catalog eligibility is "members of On-call", only through the nested group.
 */
const NESTED_GROUPS: [string, string][] = [['sg-oncall', 'sg-oncall-secondary']];

const NESTED_ONLY_GROUPS: GroupRow[] = [
  [
    'sg-oncall-secondary',
    'On-call (secondary)',
    'Secondary responders; nested in On-call, so they count as on-call everywhere On-call does.',
    ['kenji.watanabe'],
    ['nora.johansson', 'maria.silva'],
  ],
];

/** The id of the secondary on-call group, nested in On-call. */
export const DEMO_ONCALL_SECONDARY_GROUP_ID = demoGroupId('sg-oncall-secondary');

/** The apps of the demo catalog, each role backed by one security group of the demo tenant. */
export const DEMO_APPS: DemoApp[] = APP_GROUPS.map((a) => ({
  id: a.app,
  name: a.name,
  roles: a.roles.map(([roleId, roleName, g]) => ({
    id: `${a.app}.${roleId}`,
    name: roleName,
    groupId: demoGroupId(g[0]),
  })),
}));

/** The id of the On-call group. */
export const DEMO_ONCALL_GROUP_ID = demoGroupId('sg-oncall');

/** The id of the Attest admins group. */
export const DEMO_ATTEST_ADMINS_GROUP_ID = demoGroupId('sg-attest-admins');

/** The id of the Attest auditors group (ATTEST_AUDITOR_GROUP_ID's local default): Mei Lin is its member. */
export const DEMO_ATTEST_AUDITORS_GROUP_ID = demoGroupId('sg-attest-auditors');

const DAY_MS = 24 * 60 * 60 * 1000;

function userFromRow(row: PersonRow, now: Date): SimUser {
  const [alias, givenName, surname, department, jobTitle, managerAlias, daysAgo, enabled] = row;
  const upn = `${alias}@${DEMO_DOMAIN}`;
  // Whole seconds, as Graph reports them.
  const at = (offsetMs: number) =>
    daysAgo === null
      ? null
      : new Date(Math.floor((now.getTime() - offsetMs) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  return {
    id: demoUserId(alias),
    displayName: `${givenName} ${surname}`,
    givenName,
    surname,
    userPrincipalName: upn,
    mail: upn,
    department,
    jobTitle,
    accountEnabled: enabled !== false,
    managerId: managerAlias ? demoUserId(managerAlias) : null,
    lastSignInDateTime: at((daysAgo ?? 0) * DAY_MS + 3 * 60 * 60 * 1000),
    lastNonInteractiveSignInDateTime: at((daysAgo ?? 0) * DAY_MS + 40 * 60 * 1000),
  };
}

function groupFromRow([mailNickname, displayName, description, owners, members]: GroupRow): SimGroup {
  return {
    id: demoGroupId(mailNickname),
    displayName,
    description,
    mailNickname,
    securityEnabled: true,
    mailEnabled: false,
    groupTypes: [],
    ownerIds: owners.map(demoUserId),
    memberIds: members.map(demoUserId),
    onPremisesSyncEnabled: null,
    isAssignableToRole: false,
    membershipRule: null,
  };
}

/**
 * The Entra app Attest is, locally: the tab's SSO app (ATTEST_TAB_CLIENT_ID's local default), which is also
 * the manifest's webApplicationInfo.id and the app the simulator's tokens stand for.
 */
export const DEMO_ATTEST_ENTRA_APP_ID = 'cc242ef5-65a5-50c2-88ff-8a691f881243';

/** The Attest app's id in the demo tenant's org app catalog (ATTEST_TEAMS_CATALOG_APP_ID's local default). */
export const DEMO_TEAMS_CATALOG_APP_ID = '19e1e8dc-f54f-5abb-9263-eddbd26e70b2';

/** The demo tenant's org app catalog: Attest, published by its admin. */
export function demoTeamsApps(): SimTeamsApp[] {
  return [
    {
      id: DEMO_TEAMS_CATALOG_APP_ID,
      externalId: nameUuid('teamsApp/attest/manifest'),
      displayName: 'Attest',
      webApplicationInfoId: DEMO_ATTEST_ENTRA_APP_ID,
    },
  ];
}

/** A fresh copy of the demo tenant, with sign-in dates counted back from `now`. */
export function demoTenant(now: Date): SimTenant {
  const groups: SimGroup[] = [
    ...APP_GROUPS.flatMap((a) => a.roles.map(([, , g]) => groupFromRow(g))),
    ...OTHER_GROUPS.map(groupFromRow),
    ...NESTED_ONLY_GROUPS.map(groupFromRow),
    ...KIND_GROUPS.map(({ row, kind }) => ({ ...groupFromRow(row), ...kind })),
  ];
  for (const [parent, child] of NESTED_GROUPS) {
    groups.find((g) => g.mailNickname === parent)?.memberIds.push(demoGroupId(child));
  }
  return {
    tenantId: DEMO_TENANT_ID,
    users: PEOPLE.map((p) => userFromRow(p, now)),
    groups,
    teamsApps: demoTeamsApps(),
    appInstallations: [],
    teamsAppsBlockedFor: [],
  };
}

/** A person the Agents Playground can act as. */
export interface PlaygroundUser extends PlaygroundPerson {
  /** Why this person is in the Playground. */
  role: 'requester' | 'manager' | "manager's manager" | 'group owner' | 'colleague' | 'admin' | 'auditor';
}

function playgroundUser(alias: string, role: PlaygroundUser['role']): PlaygroundUser {
  const row = PEOPLE.find((p) => p[0] === alias);
  if (!row) throw new Error(`demo tenant has no user ${alias}`);
  const u = userFromRow(row, new Date(0));
  return {
    id: u.id,
    displayName: u.displayName,
    givenName: u.givenName,
    surname: u.surname,
    userPrincipalName: u.userPrincipalName,
    mail: u.mail,
    role,
  };
}

/**
 * The six people the Playground acts as; the first is the default current user. Alex Chen (engineer) reports
 * to Priya Raman (engineering manager), who reports to Rahul Mehta (VP Engineering); Kenji Watanabe owns the
 * AWS Production groups; Siobhan O'Brien is Alex's teammate; Ravi Patel is an Attest admin.
 */
export const PLAYGROUND_USERS: readonly PlaygroundUser[] = [
  playgroundUser('alex.chen', 'requester'),
  playgroundUser('priya.raman', 'manager'),
  playgroundUser('rahul.mehta', "manager's manager"),
  playgroundUser('kenji.watanabe', 'group owner'),
  playgroundUser('siobhan.obrien', 'colleague'),
  playgroundUser('ravi.patel', 'admin'),
];

/**
 * The people the local sign-in page of the review tab offers: the Playground's six and Mei Lin, a member of the
 * Attest auditors group (read-only everywhere in the tab). The Playground itself takes exactly six.
 */
export const TAB_SIGNIN_USERS: readonly PlaygroundUser[] = [
  ...PLAYGROUND_USERS,
  playgroundUser('mei.lin', 'auditor'),
];

/**
 * The `.m365agentsplayground.yml` for the demo tenant: the current user is PLAYGROUND_USERS[0] unless
 * `currentUserId` names another of them, and the other five fill the Playground's `users` (it wants exactly 5).
 */
export function playgroundConfigYaml(opts: { botName?: string; currentUserId?: string } = {}): string {
  const current = PLAYGROUND_USERS.find((u) => u.id === opts.currentUserId) ?? PLAYGROUND_USERS[0];
  return renderPlaygroundConfig({
    tenantId: DEMO_TENANT_ID,
    botName: opts.botName ?? 'Attest',
    currentUser: current,
    users: PLAYGROUND_USERS.filter((u) => u !== current),
  });
}
