import { renderApprovalCard, type ApprovalCardModel } from '../../../../src/adapters/cards/approval.card';
import { durationChoices } from '../../../../src/adapters/cards/card-template';
import { CardVerbs, extendDurationInputId } from '../../../../src/adapters/cards/card-verbs';
import { renderDecidedCard } from '../../../../src/adapters/cards/decided.card';
import { renderMyAccessCard } from '../../../../src/adapters/cards/my-access.card';
import { renderMenuCard } from '../../../../src/adapters/cards/menu.card';
import {
  renderNotificationCard,
  type NotificationCardModel,
} from '../../../../src/adapters/cards/notification.card';
import { renderRefusalCard } from '../../../../src/adapters/cards/refusal.card';
import { renderRequestCard, type RequestCardRole } from '../../../../src/adapters/cards/request.card';
import type { Catalog } from '../../../../src/domain/catalog/catalog.model';
import { formatDuration, parseDuration } from '../../../../src/domain/catalog/duration.parser';
import {
  HOSTILE_TEXT,
  PRIYA,
  SIOBHAN,
  allStrings,
  cardProblems,
  demoCatalog,
  findAll,
  roleOf,
} from './card-fixtures';

let catalog: Catalog;
let sfAdmin: RequestCardRole;
let ghMember: RequestCardRole;
beforeAll(async () => {
  catalog = await demoCatalog();
  sfAdmin = roleOf(catalog, 'salesforce', 'admin');
  ghMember = roleOf(catalog, 'github', 'member');
});

function approvalModel(over: Partial<ApprovalCardModel> = {}): ApprovalCardModel {
  return {
    requestId: 'req-01HZX4',
    requester: SIOBHAN,
    manager: PRIYA,
    appName: 'Salesforce',
    roleName: 'System Administrator',
    durationMs: parseDuration('1d'),
    justification: 'Quarter-end data fix for the EMEA pipeline, approved in CAB on Monday.',
    ticketReference: 'CHG0012345',
    policy: { id: 'contoso-demo', version: '1' },
    stage: { number: 2, of: 2, name: "Salesforce admins' owners" },
    submittedAt: '2024-05-01T09:15:27.123Z',
    dueAt: '2024-05-02T09:15:27.123Z',
    currentAccess: [
      { appName: 'GitHub Enterprise', roleName: 'Member', expiresAt: '2024-06-01T00:00:00.000Z' },
      { appName: 'Salesforce', roleName: 'Standard User' },
    ],
    ...over,
  };
}

const AT = '2024-05-01T10:42:00.000Z';
const subject = { requestId: 'req-01HZX4', appName: 'Salesforce', roleName: 'System Administrator' };

/** Every card in every shape, with realistic models. */
function everyCard(): [string, object][] {
  return [
    ['request card asking for a role', renderRequestCard({ roles: [sfAdmin, ghMember] })],
    [
      'request card for a chosen role',
      renderRequestCard({ roles: [sfAdmin, ghMember], selectedRoleRef: 'salesforce/admin' }),
    ],
    [
      'request card with errors',
      renderRequestCard({
        roles: [sfAdmin],
        values: { duration: '3d', justification: 'too short', ticketReference: 'CHG12' },
        errors: ['Say why in at least 20 characters.', 'CHG12 is not a ticket reference like CHG0012345.'],
      }),
    ],
    ['request card with nothing to ask for', renderRequestCard({ roles: [] })],
    ['approval card', renderApprovalCard(approvalModel())],
    [
      'approval card with a refusal',
      renderApprovalCard(approvalModel({ errors: ['You cannot approve or deny your own request.'] })),
    ],
    [
      'menu card',
      renderMenuCard({ whoText: 'Signed in as Siobhan O’Brien (00000000-0000-4000-8000-000000000000).' }),
    ],
    [
      'approval card for an extension with no ticket, manager or current access',
      renderApprovalCard(
        approvalModel({
          extension: true,
          ticketReference: undefined,
          manager: undefined,
          dueAt: undefined,
          currentAccess: [],
          justification: '',
          stage: { number: 3, of: 3 },
        }),
      ),
    ],
    [
      'decided card (approved)',
      renderDecidedCard({
        ...subject,
        requesterName: SIOBHAN.displayName,
        stage: { number: 1, of: 2 },
        outcome: 'approved',
        by: PRIYA.displayName,
        at: AT,
      }),
    ],
    [
      'decided card (denied)',
      renderDecidedCard({
        ...subject,
        requesterName: SIOBHAN.displayName,
        stage: { number: 1, of: 2 },
        outcome: 'denied',
        by: PRIYA.displayName,
        at: AT,
        comment: 'Use the sandbox org for this.',
      }),
    ],
    [
      'decided card with a refusal',
      renderDecidedCard({
        ...subject,
        requesterName: SIOBHAN.displayName,
        stage: { number: 1, of: 2 },
        outcome: 'approved',
        by: PRIYA.displayName,
        at: AT,
        errors: ['Request req-01HZX4 is approved; a decision now changes nothing.'],
      }),
    ],
    [
      'decided card (no longer waiting)',
      renderDecidedCard({
        ...subject,
        requesterName: SIOBHAN.displayName,
        stage: { number: 1, of: 2 },
        outcome: 'no-longer-waiting',
        status: 'Cancelled',
      }),
    ],
    [
      'my-access card',
      renderMyAccessCard({
        grants: [
          {
            requestId: 'req-1',
            appName: 'Salesforce',
            roleName: 'System Administrator',
            expiresAt: AT,
            duration: sfAdmin.role.duration,
          },
          {
            requestId: 'req-2',
            appName: 'GitHub Enterprise',
            roleName: 'Member',
            expiresAt: AT,
            duration: ghMember.role.duration,
            extensionPending: true,
          },
          {
            requestId: 'req-3',
            appName: 'Salesforce',
            roleName: 'Standard User',
            duration: roleOf(catalog, 'salesforce', 'user').role.duration,
          },
        ],
      }),
    ],
    ['my-access card with no grants', renderMyAccessCard({ grants: [] })],
    ['refusal card', renderRefusalCard({ message: 'You are not an approver of request req-01HZX4.' })],
    ...notifications().map(([name, m]): [string, object] => [name, renderNotificationCard(m)]),
  ];
}

function notifications(): [string, NotificationCardModel][] {
  return [
    [
      'submitted notification',
      { ...subject, kind: 'submitted', at: AT, durationMs: parseDuration('1d'), stageCount: 2 },
    ],
    [
      'auto-approved notification',
      { ...subject, kind: 'submitted', at: AT, durationMs: 'permanent', stageCount: 0 },
    ],
    [
      'approved notification',
      { ...subject, kind: 'decided', outcome: 'approved', by: PRIYA.displayName, at: AT },
    ],
    [
      'denied notification',
      {
        ...subject,
        kind: 'decided',
        outcome: 'denied',
        by: PRIYA.displayName,
        at: AT,
        comment: 'Not this quarter.',
      },
    ],
    ['granted notification', { ...subject, kind: 'granted', expiresAt: AT }],
    ['permanent grant notification', { ...subject, kind: 'granted' }],
    [
      'expiry reminder',
      { ...subject, kind: 'expiry-reminder', expiresAt: AT, duration: sfAdmin.role.duration },
    ],
    [
      'revoked notification',
      {
        ...subject,
        kind: 'revoked',
        at: AT,
        reason: 'revoked',
        by: SIOBHAN.displayName,
        comment: 'Done early.',
      },
    ],
    ['expired notification', { ...subject, kind: 'revoked', at: AT, reason: 'expired' }],
  ];
}

function actions(card: object): Record<string, unknown>[] {
  return findAll(card, (o) => o.type === 'Action.Execute');
}

describe('every card', () => {
  test('is checked by a parse that does report a broken card', () => {
    const broken = {
      type: 'AdaptiveCard',
      version: '1.5',
      body: [
        { type: 'TextBlock', text: 'x', color: 'Bogus' },
        { type: 'Input.Text', id: 'same' },
        { type: 'Input.Text', id: 'same' },
      ],
    };
    expect(cardProblems(broken)).toEqual([
      'parse: Invalid value "Bogus" for property "color".',
      'validate: Duplicate Id "same".',
    ]);
  });

  test('parses with zero validation events in adaptivecards 1.5', () => {
    for (const [name, card] of everyCard()) {
      expect({ name, problems: cardProblems(card) }).toEqual({ name, problems: [] });
    }
  });

  test('is a schema 1.5 card with no template expression left over', () => {
    for (const [name, card] of everyCard()) {
      expect({ name, version: (card as { version: string }).version }).toEqual({ name, version: '1.5' });
      expect({ name, leftovers: allStrings(card).filter((s) => s.includes('${')) }).toEqual({
        name,
        leftovers: [],
      });
    }
  });

  test('writes timestamps as DATE and TIME functions the client can read, without fractions of a second', () => {
    const card = renderApprovalCard(approvalModel());
    const text = allStrings(card).join('\n');
    expect(text).toContain('{{DATE(2024-05-01T09:15:27Z, SHORT)}} at {{TIME(2024-05-01T09:15:27Z)}}');
    expect(text).not.toMatch(/\{\{(DATE|TIME)\([^)]*\.\d{3}Z/);
  });

  test('uses only verbs from the one verb list', () => {
    const known = new Set<string>(Object.values(CardVerbs));
    for (const [, card] of everyCard()) for (const a of actions(card)) expect(known).toContain(a.verb);
  });
});

describe('user text on a card', () => {
  test.each(HOSTILE_TEXT)('comes out verbatim in the approval card: %s', (text) => {
    const card = renderApprovalCard(approvalModel({ justification: text, ticketReference: text }));
    const runs = findAll(card, (o) => o.type === 'TextRun').map((r) => r.text);
    expect(runs.filter((t) => t === text)).toHaveLength(2);
    expect(cardProblems(card)).toEqual([]);
  });

  test.each(HOSTILE_TEXT)('comes back verbatim in the request card it was typed into: %s', (text) => {
    const card = renderRequestCard({
      roles: [sfAdmin],
      values: { justification: text, ticketReference: text },
      errors: [text],
    });
    const inputs = findAll(card, (o) => o.type === 'Input.Text');
    expect(inputs.map((i) => i.value)).toEqual([text, text]);
    expect(findAll(card, (o) => o.type === 'TextBlock' && o.text === text)).toHaveLength(1);
  });

  test.each(HOSTILE_TEXT)('comes out verbatim as a deny comment and a revocation reason: %s', (text) => {
    const decided = renderDecidedCard({
      ...subject,
      requesterName: text,
      stage: { number: 1, of: 1 },
      outcome: 'denied',
      by: PRIYA.displayName,
      at: AT,
      comment: text,
    });
    expect(findAll(decided, (o) => o.type === 'TextRun' && o.text === text)).toHaveLength(1);
    const revoked = renderNotificationCard({
      ...subject,
      kind: 'revoked',
      at: AT,
      reason: 'review',
      comment: text,
    });
    expect(findAll(revoked, (o) => o.type === 'TextRun' && o.text === text)).toHaveLength(1);
  });

  test('that is free text goes into TextRuns, which render no markdown links', () => {
    const card = renderApprovalCard(approvalModel({ justification: HOSTILE_TEXT[3] as string }));
    const blocks = findAll(card, (o) => o.type === 'TextBlock').map((b) => b.text as string);
    expect(blocks.some((t) => t.includes('evil.example'))).toBe(false);
  });
});

describe('the approval card', () => {
  test('action data carries only the verb, the request id and the stage', () => {
    const card = renderApprovalCard(approvalModel());
    const payloads = actions(card).map((a) => ({ verb: a.verb, ...(a.data as object) }));
    expect(payloads).toEqual([
      { verb: CardVerbs.requestApprove, requestId: 'req-01HZX4', stage: 2 },
      { verb: CardVerbs.requestDeny, requestId: 'req-01HZX4', stage: 2 },
    ]);
    const json = JSON.stringify(actions(card));
    for (const p of [SIOBHAN, PRIYA]) {
      expect(json).not.toContain(p.displayName);
      expect(json).not.toContain(p.upn);
    }
  });

  test('asks for a comment before a deny and sends no input with an approve', () => {
    const card = renderApprovalCard(approvalModel());
    const [approve, deny] = actions(card);
    expect(approve?.associatedInputs).toBe('none');
    expect(deny?.associatedInputs).toBe('auto');
    const [comment] = findAll(card, (o) => o.type === 'Input.Text');
    expect(comment).toMatchObject({ id: 'comment', isRequired: true, isMultiline: true });
  });

  test('shows requester, manager, role, duration, policy, stage and current access', () => {
    const text = allStrings(renderApprovalCard(approvalModel())).join('\n');
    for (const expected of [
      "Siobhan O'Brien (siobhan.obrien@contoso.example)",
      'Priya Raman (priya.raman@contoso.example)',
      'Salesforce · System Administrator',
      '1 day',
      'contoso-demo, version 1',
      "Stage 2 of 2: Salesforce admins' owners",
      'GitHub Enterprise · Member, until {{DATE(2024-06-01T00:00:00Z, SHORT)}}',
      'Salesforce · Standard User, no end date',
      'CHG0012345',
    ]) {
      expect(text).toContain(expected);
    }
  });
});

describe('duration choices', () => {
  test('never exceed the role maximum, for every role of the demo catalog', () => {
    for (const role of catalog.apps.flatMap((a) => a.roles)) {
      const { maxMs, defaultMs, permanentAllowed } = role.duration;
      const choices = durationChoices(role.duration);
      expect(choices.length).toBeGreaterThan(0);
      for (const c of choices) {
        if (c.value === 'permanent') expect(maxMs === 'permanent' && permanentAllowed).toBe(true);
        else if (maxMs !== 'permanent') expect(parseDuration(c.value)).toBeLessThanOrEqual(maxMs);
      }
      expect(choices.map((c) => c.value)).toContain(formatDuration(defaultMs));
    }
  });

  test('follow the usual steps up to a 7 day maximum, default and maximum included', () => {
    const choices = durationChoices({
      defaultMs: parseDuration('2d'),
      maxMs: parseDuration('7d'),
      permanentAllowed: false,
    });
    expect(choices.map((c) => c.value)).toEqual(['1h', '4h', '8h', '1d', '2d', '3d', '7d']);
    expect(choices.map((c) => c.title)).toEqual([
      '1 hour',
      '4 hours',
      '8 hours',
      '1 day',
      '2 days',
      '3 days',
      '7 days',
    ]);
  });

  test('on the request card are those of the chosen role, with its default preselected', () => {
    const card = renderRequestCard({ roles: [ghMember, sfAdmin], selectedRoleRef: 'salesforce/admin' });
    const [, duration] = findAll(card, (o) => o.type === 'Input.ChoiceSet');
    const values = (duration?.choices as { value: string }[]).map((c) => c.value);
    expect(values).toEqual(durationChoices(sfAdmin.role.duration).map((c) => c.value));
    expect(duration?.value).toBe('1d');
  });

  test('on the my-access card are capped by the role maximum, with one uniquely named input per grant', () => {
    const card = renderMyAccessCard({
      grants: [
        {
          requestId: 'req-1',
          appName: 'Salesforce',
          roleName: 'System Administrator',
          expiresAt: AT,
          duration: sfAdmin.role.duration,
        },
        {
          requestId: 'req-2',
          appName: 'GitHub Enterprise',
          roleName: 'Member',
          expiresAt: AT,
          duration: sfAdmin.role.duration,
        },
      ],
    });
    const sets = findAll(card, (o) => o.type === 'Input.ChoiceSet');
    expect(sets.map((s) => s.id)).toEqual([extendDurationInputId('req-1'), extendDurationInputId('req-2')]);
    for (const s of sets) {
      for (const c of s.choices as { value: string }[])
        expect(parseDuration(c.value)).toBeLessThanOrEqual(parseDuration('7d'));
    }
  });
});

describe('the request card', () => {
  test('shows validation errors on the card, in attention colour, above the form', () => {
    const errors = ['Say why in at least 20 characters.', 'CHG12 is not a ticket reference like CHG0012345.'];
    const card = renderRequestCard({ roles: [sfAdmin], errors });
    const blocks = findAll(card, (o) => o.type === 'TextBlock' && o.color === 'Attention');
    expect(blocks.map((b) => b.text)).toEqual(errors);
    const body = (card as { body: { text?: string }[] }).body;
    expect(body.findIndex((e) => e.text === errors[0])).toBeLessThan(
      body.findIndex((e) => e.text === undefined),
    );
  });

  test('requires a justification with its minimum length and a ticket when the policy asks for them', () => {
    const card = renderRequestCard({ roles: [sfAdmin] });
    const [justification, ticket] = findAll(card, (o) => o.type === 'Input.Text');
    expect(justification).toMatchObject({ id: 'justification', isMultiline: true, isRequired: true });
    expect(justification?.errorMessage).toContain('at least 20 characters');
    expect(ticket).toMatchObject({ id: 'ticketReference', isRequired: true });
    expect(ticket?.errorMessage).toContain('CHG0012345');
    expect(actions(card).map((a) => a.verb)).toEqual([CardVerbs.requestSubmit]);
  });

  test('asks for the role first when the requester may ask for several', () => {
    const card = renderRequestCard({ roles: [sfAdmin, ghMember] });
    const [roles, ...rest] = findAll(card, (o) => o.type === 'Input.ChoiceSet');
    expect(rest).toEqual([]);
    expect(roles?.choices).toEqual([
      { title: 'Salesforce · System Administrator', value: 'salesforce/admin' },
      { title: 'GitHub Enterprise · Member', value: 'github/member' },
    ]);
    expect(actions(card).map((a) => a.verb)).toEqual([CardVerbs.requestSelectRole]);
  });

  test('keeps the duration typed before when it is still allowed', () => {
    const card = renderRequestCard({ roles: [sfAdmin], values: { duration: '3d' } });
    expect(findAll(card, (o) => o.id === 'duration')[0]?.value).toBe('3d');
    const capped = renderRequestCard({ roles: [sfAdmin], values: { duration: '30d' } });
    expect(findAll(capped, (o) => o.id === 'duration')[0]?.value).toBe('1d');
  });
});

describe('the decided card', () => {
  test('says who approved and when, with no actions left to click', () => {
    const card = renderDecidedCard({
      ...subject,
      requesterName: SIOBHAN.displayName,
      stage: { number: 1, of: 2 },
      outcome: 'approved',
      by: PRIYA.displayName,
      at: AT,
    });
    expect(allStrings(card)).toContain(
      'Approved by Priya Raman at {{TIME(2024-05-01T10:42:00Z)}} on {{DATE(2024-05-01T10:42:00Z, SHORT)}}',
    );
    expect(findAll(card, (o) => typeof o.type === 'string' && o.type.startsWith('Action.'))).toEqual([]);
  });

  test('says why a request no longer waits for this approver', () => {
    const card = renderDecidedCard({
      ...subject,
      requesterName: SIOBHAN.displayName,
      stage: { number: 1, of: 2 },
      outcome: 'no-longer-waiting',
      status: 'ExpiredUndecided',
    });
    expect(allStrings(card)).toContain(
      'This request is no longer waiting for you (it expired without a decision).',
    );
  });
});

describe('the my-access card', () => {
  test('offers Extend and Revoke now with the request id as the only data', () => {
    const card = renderMyAccessCard({
      grants: [
        {
          requestId: 'req-1',
          appName: 'Salesforce',
          roleName: 'System Administrator',
          expiresAt: AT,
          duration: sfAdmin.role.duration,
        },
      ],
    });
    expect(actions(card).map((a) => ({ verb: a.verb, ...(a.data as object) }))).toEqual([
      { verb: CardVerbs.accessExtend, requestId: 'req-1' },
      { verb: CardVerbs.accessRevoke, requestId: 'req-1' },
    ]);
  });

  test('offers no Extend for access with no end date or an extension already pending', () => {
    const card = renderMyAccessCard({
      grants: [
        {
          requestId: 'req-2',
          appName: 'GitHub Enterprise',
          roleName: 'Member',
          expiresAt: AT,
          duration: sfAdmin.role.duration,
          extensionPending: true,
        },
        {
          requestId: 'req-3',
          appName: 'Salesforce',
          roleName: 'Standard User',
          duration: sfAdmin.role.duration,
        },
      ],
    });
    expect(actions(card).map((a) => a.verb)).toEqual([CardVerbs.accessRevoke, CardVerbs.accessRevoke]);
  });
});

describe('the expiry reminder', () => {
  test('offers Extend for its request, with choices capped by the role maximum', () => {
    const card = renderNotificationCard({
      ...subject,
      kind: 'expiry-reminder',
      expiresAt: AT,
      duration: sfAdmin.role.duration,
    });
    expect(actions(card).map((a) => ({ verb: a.verb, ...(a.data as object) }))).toEqual([
      { verb: CardVerbs.accessExtend, requestId: 'req-01HZX4' },
    ]);
    const [choice] = findAll(card, (o) => o.type === 'Input.ChoiceSet');
    expect(choice?.id).toBe(extendDurationInputId('req-01HZX4'));
    expect((choice?.choices as { value: string }[]).map((c) => c.value).at(-1)).toBe('7d');
  });
});
