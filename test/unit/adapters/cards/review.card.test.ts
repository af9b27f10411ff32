import { CardVerbs } from '../../../../src/adapters/cards/card-verbs';
import {
  renderReviewCard,
  reviewsTabUrl,
  type ReviewCardModel,
} from '../../../../src/adapters/cards/review.card';
import {
  ALEX_ID,
  CAMPAIGN_ID,
  PRIYA_ID,
  priyasItems,
  reviewItem,
} from '../../../fixtures/review/review-items.fixture';
import { HOSTILE_TEXT, allStrings, cardProblems, findAll } from './card-fixtures';

const TEAMS_APP_ID = '2f9c1b4e-5d6a-4e8f-9a0b-1c2d3e4f5a6b';

function model(over: Partial<ReviewCardModel> = {}): ReviewCardModel {
  return {
    campaignId: CAMPAIGN_ID,
    campaignName: 'Payments and production access (PCI DSS 7.2.4)',
    pending: 3,
    total: 5,
    deadline: '2026-12-13T09:00:00.000Z',
    tabUrl: reviewsTabUrl(TEAMS_APP_ID, CAMPAIGN_ID),
    reviewerId: PRIYA_ID,
    items: priyasItems(),
    ...over,
  };
}

const executes = (card: object) => findAll(card, (o) => o.type === 'Action.Execute');
const texts = (card: object) => findAll(card, (o) => o.type === 'TextBlock').map((t) => String(t.text));

function manyItems(n: number) {
  return Array.from({ length: n }, (_, i) =>
    reviewItem(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, `Person ${i}`),
  );
}

describe('the review card', () => {
  const shapes: [string, ReviewCardModel][] = [
    ['three items on the card', model()],
    ['ten items on the card', model({ pending: 10, total: 10, items: manyItems(10) })],
    ['eleven items: counts and the tab only', model({ pending: 11, total: 12, items: manyItems(11) })],
    ['a self-review', model({ reviewerId: ALEX_ID, pending: 1, total: 1, items: [priyasItems()[0]] })],
    [
      'after a decision, with an error',
      model({
        pending: 2,
        items: priyasItems().slice(1),
        decided: [{ item: priyasItems()[0], decision: 'keep' }],
        notice: 'You kept Alex Chen in sg-aws-prod-admins.',
        errors: ['Someone else decided this item first.'],
      }),
    ],
    ['nothing left', model({ pending: 0, items: [] })],
  ];

  test.each(shapes)('parses with zero validation events in adaptivecards 1.5: %s', (_name, m) => {
    const card = renderReviewCard(m);
    expect(cardProblems(card)).toEqual([]);
    expect(allStrings(card).filter((s) => s.includes('${'))).toEqual([]);
    expect((card as { version: string }).version).toBe('1.5');
  });

  test('shows the campaign, the counts, the deadline and a button to the Access reviews tab', () => {
    const card = renderReviewCard(model());
    const facts = findAll(card, (o) => o.type === 'FactSet')[0].facts as { title: string; value: string }[];
    expect(facts).toEqual([
      { title: 'Waiting on you', value: '3 of 5 items' },
      { title: 'Deadline', value: '{{DATE(2026-12-13T09:00:00Z, SHORT)}} at {{TIME(2026-12-13T09:00:00Z)}}' },
    ]);
    expect(texts(card)).toContain('Payments and production access (PCI DSS 7.2.4)');
    const open = findAll(card, (o) => o.type === 'Action.OpenUrl');
    expect(open).toEqual([
      {
        type: 'Action.OpenUrl',
        title: 'Open Access reviews',
        url: `https://teams.microsoft.com/l/entity/${TEAMS_APP_ID}/reviews?context=${encodeURIComponent(
          JSON.stringify({ subEntityId: CAMPAIGN_ID }),
        )}`,
      },
    ]);
  });

  test('puts each item on the card with Keep and Revoke whose data is the campaign and item id only', () => {
    const card = renderReviewCard(model());
    const actions = executes(card);
    expect(actions.map((a) => a.verb)).toEqual([
      CardVerbs.reviewKeep,
      CardVerbs.reviewRevoke,
      CardVerbs.reviewKeep,
      CardVerbs.reviewRevoke,
      CardVerbs.reviewKeep,
      CardVerbs.reviewRevoke,
    ]);
    const items = priyasItems();
    expect(actions.map((a) => a.data)).toEqual(
      items.flatMap((i) => [
        { campaignId: CAMPAIGN_ID, itemId: i.itemId },
        { campaignId: CAMPAIGN_ID, itemId: i.itemId },
      ]),
    );
    // Revoke asks why, in an input of its own per item.
    const inputs = findAll(card, (o) => o.type === 'Input.Text');
    expect(inputs.map((i) => [i.id, i.isRequired])).toEqual(
      items.map((i) => [`revokeWhy.${i.itemId}`, true]),
    );
  });

  test('says who, which group, the last sign-in, and the recommendation with its reasons', () => {
    const all = texts(renderReviewCard(model()));
    expect(all).toEqual(
      expect.arrayContaining([
        'Alex Chen (alex.chen@contoso.example)',
        'sg-aws-prod-admins · aws-production/admin',
        'Last sign-in {{DATE(2026-11-20T08:30:12Z, SHORT)}}',
        'Recommendation: none',
        'Never signed in',
        'Recommendation: revoke (never signed in; added outside Attest)',
        'Sign-in data unavailable',
        'Recommendation: none (sign-in data unavailable)',
        'Attest cannot remove this membership: the group is synced from on-premises Active Directory',
      ]),
    );
  });

  test('asks a member reviewing their own access why they keep it', () => {
    const card = renderReviewCard(
      model({ reviewerId: ALEX_ID, pending: 1, total: 1, items: [priyasItems()[0]] }),
    );
    const keep = findAll(card, (o) => o.type === 'Action.ShowCard' && o.title === 'Keep');
    expect(keep).toHaveLength(1);
    const input = findAll(keep[0], (o) => o.type === 'Input.Text')[0];
    expect(input).toMatchObject({ id: `keepWhy.${priyasItems()[0].itemId}`, isRequired: true });
    expect(executes(keep[0]).map((a) => a.verb)).toEqual([CardVerbs.reviewKeep]);
  });

  test('with more than ten items pending shows the counts and the tab, no item', () => {
    const card = renderReviewCard(model({ pending: 11, total: 12, items: manyItems(11) }));
    expect(executes(card)).toEqual([]);
    expect(texts(card).some((t) => t.startsWith('11 items wait on you: open Access reviews'))).toBe(true);
  });

  test('shows an item decided on the card with its decision and no buttons', () => {
    const [alex, ...rest] = priyasItems();
    const card = renderReviewCard(
      model({ pending: 2, items: rest, decided: [{ item: alex, decision: 'revoke' }], notice: 'Done.' }),
    );
    expect(texts(card)).toContain('You revoked this access.');
    expect(executes(card).map((a) => (a.data as { itemId: string }).itemId)).not.toContain(alex.itemId);
  });

  test.each(HOSTILE_TEXT)('keeps names verbatim, never evaluated: %s', (text) => {
    const card = renderReviewCard(
      model({
        campaignName: text,
        items: [reviewItem(ALEX_ID, 'x', { userDisplayName: text, groupName: text })],
      }),
    );
    expect(texts(card)).toContain(text);
    expect(cardProblems(card)).toEqual([]);
  });
});
