import path from 'node:path';
import { loadCatalogFile } from '../../../../src/adapters/catalog/catalog-file.loader';
import type { CatalogRole } from '../../../../src/domain/catalog/catalog.model';
import { DEMO_APPS, demoTenant } from '../../../../src/local/graph-sim/demo-tenant';

const DEMO_CATALOG = path.resolve(__dirname, '..', '..', '..', '..', 'catalog', 'demo-catalog.yaml');
const tenant = demoTenant(new Date(0));
const groupIds = new Set(tenant.groups.map((g) => g.id));
const users = new Set(tenant.users.flatMap((u) => [u.id, u.userPrincipalName]));

function load() {
  return loadCatalogFile(DEMO_CATALOG, { knownGroups: groupIds, knownUsers: users });
}

function groupsNamedBy(role: CatalogRole): string[] {
  return [
    role.groupId,
    ...role.eligibility.groupIds,
    ...(role.autoApprove?.requesterInGroup ? [role.autoApprove.requesterInGroup] : []),
    ...role.approval.stages.flatMap((s) =>
      s.approvers.kind === 'group-members' ? [s.approvers.groupId] : [],
    ),
  ];
}

describe('the demo catalog', () => {
  test('loads against the demo tenant', async () => {
    const { catalog, stamp } = await load();
    expect(stamp.catalogId).toBe('contoso-demo');
    expect(catalog.apps.length).toBe(DEMO_APPS.length);
  });

  test('has every app and role of the demo tenant, each backed by the same group', async () => {
    const { catalog } = await load();
    // The demo tenant names roles `app.role`; the catalog names them `app/role`.
    const inCatalog = catalog.apps.flatMap((a) => a.roles.map((r) => [`${a.id}.${r.id}`, r.groupId]));
    const inTenant = DEMO_APPS.flatMap((a) => a.roles.map((r) => [r.id, r.groupId]));
    expect(inCatalog).toEqual(inTenant);
  });

  test('names only groups that exist in the demo tenant', async () => {
    const { catalog } = await load();
    const named = catalog.apps.flatMap((a) => a.roles.flatMap(groupsNamedBy));
    expect(named.filter((g) => !groupIds.has(g))).toEqual([]);
  });

  test('names only fallbacks and approvers who exist in the demo tenant', async () => {
    const { catalog } = await load();
    const people = catalog.apps.flatMap((a) =>
      a.roles.flatMap((r) =>
        r.approval.stages.flatMap((s) => [
          s.fallback,
          ...(s.approvers.kind === 'people' ? s.approvers.people : []),
        ]),
      ),
    );
    expect(people.filter((p) => !users.has(p))).toEqual([]);
  });

  test('keeps payments apart: the NetSuite controller conflicts with AP clerks and payroll admins', async () => {
    const { catalog } = await load();
    const controller = catalog.apps
      .find((a) => a.id === 'netsuite')
      ?.roles.find((r) => r.id === 'controller');
    expect([...(controller?.conflicts ?? [])].sort()).toEqual(['netsuite/ap-clerk', 'workday/payroll-admin']);
  });

  test('has a quarterly review of payments and production access, manager then group owners, signed off by a manager', async () => {
    const { catalog } = await load();
    const pci = catalog.reviews?.find((r) => r.id === 'pci-quarterly');
    expect(pci).toMatchObject({
      schedule: { kind: 'quarterly' },
      scope: { appIds: ['netsuite', 'aws-production'] },
    });
    expect(pci?.stages.map((s) => s.reviewers.kind)).toEqual(['manager', 'group-owners']);
    const signer = tenant.users.find((u) => u.userPrincipalName === pci?.signOff);
    expect(signer?.jobTitle).toMatch(/Chief|Manager|VP/);
  });

  test('names only reviewers and sign-offs who exist in the demo tenant', async () => {
    const { catalog } = await load();
    const people = (catalog.reviews ?? []).flatMap((r) => [
      r.signOff,
      ...r.stages.flatMap((s) => [s.fallback, ...(s.reviewers.kind === 'people' ? s.reviewers.people : [])]),
    ]);
    expect(people.length).toBeGreaterThan(0);
    expect(people.filter((p) => !users.has(p))).toEqual([]);
  });
});
