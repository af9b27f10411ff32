/**
 * My reviews: the caller's items (admins and auditors see every item), with the recommendation and why, Keep
 * or Revoke with a reason, one at a time or for the selected rows, filters and sort on the server, pages by
 * cursor. A DataGrid with multiselect: arrow keys move between cells, Space selects a row.
 */
import { useCallback, useEffect, useMemo, useState, type ReactElement } from 'react';
import {
  Badge,
  Button,
  DataGrid,
  DataGridBody,
  DataGridCell,
  DataGridHeader,
  DataGridHeaderCell,
  DataGridRow,
  Dropdown,
  Field,
  Input,
  MessageBar,
  MessageBarBody,
  Option,
  Spinner,
  Text,
  Toolbar,
  createTableColumn,
  makeStyles,
  tokens,
  type TableColumnDefinition,
  type TableRowId,
} from '@fluentui/react-components';
import type { Campaign, ReviewDecisionValue, ReviewItem } from '../../domain/review/review.model';
import type { ItemPage, ItemQuery } from '../../ports/review-api.port';
import { canWrite, useSession } from '../session';
import { itemState, recommendationText, when } from '../format';
import { Problem } from './problem';

const useStyles = makeStyles({
  filters: { display: 'flex', gap: tokens.spacingHorizontalM, flexWrap: 'wrap', alignItems: 'end' },
  actions: { display: 'flex', gap: tokens.spacingHorizontalS, alignItems: 'end', flexWrap: 'wrap' },
  stack: { display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalM },
  reason: { minWidth: '320px' },
  why: { color: tokens.colorNeutralForeground2 },
});

type DecideResult = { decided: number; guarded?: { wouldRemove: number; share: number } };

const STATES: Record<NonNullable<ItemQuery['state']>, string> = {
  pending: 'Waiting on me',
  decided: 'Decided by me',
  delegated: 'Handed on',
  all: 'All',
};
const RECOMMENDATIONS = { any: 'Any', keep: 'Keep', revoke: 'Revoke', none: 'None' } as const;
const SORTS: Record<NonNullable<ItemQuery['sort']>, string> = {
  person: 'Person',
  group: 'Group',
  lastSignIn: 'Last sign-in',
  recommendation: 'Recommendation',
};

/** The reviewer's list. */
export function MyReviews(): ReactElement {
  const { api, me } = useSession();
  const styles = useStyles();
  const writer = canWrite(me);
  const [campaigns, setCampaigns] = useState<Campaign[]>([]);
  const [campaignId, setCampaignId] = useState<string>('');
  // Admins and auditors see every item of one campaign (state `all`); reviewers what waits on them.
  const reader = me.role !== 'member';
  const [state, setState] = useState<NonNullable<ItemQuery['state']>>(reader ? 'all' : 'pending');
  // Readers wait for the campaign list, so the first page asked for is the first campaign's.
  const [ready, setReady] = useState(!reader);
  const [recommendation, setRecommendation] = useState<keyof typeof RECOMMENDATIONS>('any');
  const [search, setSearch] = useState('');
  const [sort, setSort] = useState<NonNullable<ItemQuery['sort']>>('person');
  const [page, setPage] = useState<ItemPage>();
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [selected, setSelected] = useState<Set<TableRowId>>(new Set());
  const [reason, setReason] = useState('');
  const [delegateTo, setDelegateTo] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.get<Campaign[]>('campaigns').then((list) => {
      setCampaigns(list);
      if (reader) setCampaignId((id) => id || (list[0]?.id ?? ''));
      setReady(true);
    }, setError);
  }, [api, reader]);

  const query = useMemo(
    () => ({
      campaignId: campaignId || undefined,
      state,
      recommendation: recommendation === 'any' ? undefined : recommendation,
      search: search.trim() || undefined,
      sort,
      pageSize: 100,
    }),
    [campaignId, state, recommendation, search, sort],
  );

  const load = useCallback(
    async (cursor?: string) => {
      setLoading(true);
      try {
        const next = await api.get<ItemPage>('items', { ...query, cursor });
        setPage((prev) => (cursor && prev ? { ...next, items: [...prev.items, ...next.items] } : next));
        if (!cursor) setSelected(new Set());
        setError(undefined);
      } catch (err) {
        setError(err);
      } finally {
        setLoading(false);
      }
    },
    [api, query],
  );

  useEffect(() => {
    if (!ready) return;
    const t = setTimeout(() => void load(), search ? 250 : 0);
    return () => clearTimeout(t);
  }, [load, search, ready]);

  const items = page?.items ?? [];
  const decide = async (targets: ReviewItem[], decision: ReviewDecisionValue, bulk: boolean) => {
    if (targets.length === 0) return;
    const byCampaign = new Map<string, ReviewItem[]>();
    for (const i of targets) byCampaign.set(i.campaignId, [...(byCampaign.get(i.campaignId) ?? []), i]);
    setBusy(true);
    setNotice(undefined);
    try {
      let decided = 0;
      const guarded: string[] = [];
      for (const [cid, list] of byCampaign) {
        const r = await api.post<DecideResult>(`campaigns/${encodeURIComponent(cid)}/decisions`, {
          source: bulk ? 'bulk' : 'reviewer',
          decisions: list.map((i) => ({
            itemId: i.itemId,
            decision,
            ...(reason.trim() ? { reason: reason.trim() } : {}),
          })),
        });
        decided += r.decided;
        if (r.guarded)
          guarded.push(
            `${r.guarded.wouldRemove} removals (${Math.round(r.guarded.share * 100)}% of the scope) wait for an admin to confirm them in Campaigns`,
          );
      }
      setNotice(
        `${decided} item${decided === 1 ? '' : 's'} ${decision === 'keep' ? 'kept' : 'revoked'}.${guarded.length ? ` ${guarded.join('; ')}.` : ''}`,
      );
      setReason('');
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  // Hands items to another reviewer (audited); the reason field goes with it. Grouped by campaign like decide.
  const delegate = async (targets: ReviewItem[]) => {
    const byCampaign = new Map<string, string[]>();
    for (const i of targets)
      byCampaign.set(i.campaignId, [...(byCampaign.get(i.campaignId) ?? []), i.itemId]);
    setBusy(true);
    setNotice(undefined);
    try {
      let handed = 0;
      let to = delegateTo.trim();
      for (const [cid, itemIds] of byCampaign) {
        const r = await api.post<{ delegated: number; to: string }>(
          `campaigns/${encodeURIComponent(cid)}/delegations`,
          {
            itemIds,
            to,
            ...(reason.trim() ? { reason: reason.trim() } : {}),
          },
        );
        handed += r.delegated;
        to = r.to;
      }
      setNotice(`${handed} item${handed === 1 ? '' : 's'} handed on to ${delegateTo.trim()} (${to}).`);
      setDelegateTo('');
      setReason('');
      await load();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const columns: TableColumnDefinition<ReviewItem>[] = [
    createTableColumn<ReviewItem>({
      columnId: 'person',
      renderHeaderCell: () => 'Person',
      renderCell: (i) => (
        <div>
          <Text weight="semibold">{i.userDisplayName}</Text>
          <br />
          <Text size={200}>{i.userPrincipalName}</Text>
          {!i.accountEnabled && (
            <Badge appearance="outline" color="danger">
              disabled
            </Badge>
          )}
        </div>
      ),
    }),
    createTableColumn<ReviewItem>({
      columnId: 'group',
      renderHeaderCell: () => 'Group',
      renderCell: (i) => (
        <div>
          {i.groupName}
          {i.roleRef && <Text size={200}> ({i.roleRef})</Text>}
          {i.notRemovableBecause && (
            <>
              <br />
              <Text size={200}>Attest cannot remove this: {i.notRemovableBecause}</Text>
            </>
          )}
        </div>
      ),
    }),
    createTableColumn<ReviewItem>({
      columnId: 'lastSignIn',
      renderHeaderCell: () => 'Last sign-in',
      renderCell: (i) => when(i.lastSignIn),
    }),
    createTableColumn<ReviewItem>({
      columnId: 'recommendation',
      renderHeaderCell: () => 'Recommendation and why',
      renderCell: (i) => <span className={styles.why}>{recommendationText(i.recommendation)}</span>,
    }),
    createTableColumn<ReviewItem>({
      columnId: 'state',
      renderHeaderCell: () => 'State',
      renderCell: (i) => itemState(i, me.objectId),
    }),
    ...(writer
      ? [
          createTableColumn<ReviewItem>({
            columnId: 'decide',
            renderHeaderCell: () => 'Decide',
            renderCell: (i) =>
              state === 'pending' ? (
                <div className={styles.actions}>
                  <Button
                    size="small"
                    disabled={busy}
                    aria-label={`Keep ${i.userDisplayName} in ${i.groupName}`}
                    onClick={() => void decide([i], 'keep', false)}
                  >
                    Keep
                  </Button>
                  <Button
                    size="small"
                    disabled={busy}
                    aria-label={`Revoke ${i.userDisplayName} from ${i.groupName}`}
                    onClick={() => void decide([i], 'revoke', false)}
                  >
                    Revoke
                  </Button>
                </div>
              ) : null,
          }),
        ]
      : []),
  ];

  const chosen = items.filter((i) => selected.has(i.itemId));
  const selectable = writer && state === 'pending';
  return (
    <section className={styles.stack} aria-labelledby="my-reviews-title">
      <Text as="h2" id="my-reviews-title" size={500} weight="semibold">
        {me.role === 'member' ? 'My reviews' : 'Review items'}
      </Text>
      <div className={styles.filters}>
        <Field label="Campaign">
          <Dropdown
            value={campaigns.find((c) => c.id === campaignId)?.definition.name ?? 'All campaigns'}
            selectedOptions={[campaignId]}
            onOptionSelect={(_, d) => setCampaignId(d.optionValue ?? '')}
          >
            <Option value="">All campaigns</Option>
            {campaigns.map((c) => (
              <Option key={c.id} value={c.id}>
                {c.definition.name}
              </Option>
            ))}
          </Dropdown>
        </Field>
        <Field label="Show">
          <Dropdown
            value={STATES[state]}
            selectedOptions={[state]}
            onOptionSelect={(_, d) => setState(d.optionValue as typeof state)}
          >
            {Object.entries(STATES).map(([k, v]) => (
              <Option key={k} value={k}>
                {v}
              </Option>
            ))}
          </Dropdown>
        </Field>
        <Field label="Recommendation">
          <Dropdown
            value={RECOMMENDATIONS[recommendation]}
            selectedOptions={[recommendation]}
            onOptionSelect={(_, d) => setRecommendation(d.optionValue as typeof recommendation)}
          >
            {Object.entries(RECOMMENDATIONS).map(([k, v]) => (
              <Option key={k} value={k}>
                {v}
              </Option>
            ))}
          </Dropdown>
        </Field>
        <Field label="Sort by">
          <Dropdown
            value={SORTS[sort]}
            selectedOptions={[sort]}
            onOptionSelect={(_, d) => setSort(d.optionValue as typeof sort)}
          >
            {Object.entries(SORTS).map(([k, v]) => (
              <Option key={k} value={k}>
                {v}
              </Option>
            ))}
          </Dropdown>
        </Field>
        <Field label="Search people or groups">
          <Input value={search} onChange={(_, d) => setSearch(d.value)} type="search" />
        </Field>
      </div>
      {writer && state === 'pending' && (
        <Toolbar aria-label="Decide the selected items" className={styles.actions}>
          <Field label="Reason (recorded with the decision)" className={styles.reason}>
            <Input value={reason} onChange={(_, d) => setReason(d.value)} />
          </Field>
          <Button
            appearance="primary"
            disabled={busy || chosen.length === 0}
            onClick={() => void decide(chosen, 'keep', true)}
          >
            Keep selected ({chosen.length})
          </Button>
          <Button disabled={busy || chosen.length === 0} onClick={() => void decide(chosen, 'revoke', true)}>
            Revoke selected ({chosen.length})
          </Button>
          <Field label="Hand on to (user name or object id)">
            <Input value={delegateTo} onChange={(_, d) => setDelegateTo(d.value)} />
          </Field>
          <Button
            disabled={busy || chosen.length === 0 || !delegateTo.trim()}
            onClick={() => void delegate(chosen)}
          >
            Hand on selected ({chosen.length})
          </Button>
        </Toolbar>
      )}
      {notice && (
        <MessageBar intent="success" role="status">
          <MessageBarBody>{notice}</MessageBarBody>
        </MessageBar>
      )}
      <Problem error={error} />
      <Text role="status">
        {page ? `${items.length} of ${page.total} item${page.total === 1 ? '' : 's'}` : ''}
      </Text>
      <DataGrid
        items={items}
        columns={columns}
        getRowId={(i: ReviewItem) => i.itemId}
        selectionMode={selectable ? 'multiselect' : undefined}
        selectedItems={selected}
        onSelectionChange={(_, d) => setSelected(new Set(d.selectedItems))}
        focusMode="composite"
        aria-label="Review items"
        data-testid="review-items"
      >
        <DataGridHeader>
          <DataGridRow
            selectionCell={
              selectable ? { checkboxIndicator: { 'aria-label': 'Select all rows' } } : undefined
            }
          >
            {({ renderHeaderCell }) => <DataGridHeaderCell>{renderHeaderCell()}</DataGridHeaderCell>}
          </DataGridRow>
        </DataGridHeader>
        <DataGridBody<ReviewItem>>
          {({ item, rowId }) => (
            <DataGridRow<ReviewItem>
              key={rowId}
              selectionCell={
                selectable
                  ? {
                      checkboxIndicator: {
                        'aria-label': `Select ${item.userDisplayName} in ${item.groupName}`,
                      },
                    }
                  : undefined
              }
            >
              {({ renderCell }) => <DataGridCell>{renderCell(item)}</DataGridCell>}
            </DataGridRow>
          )}
        </DataGridBody>
      </DataGrid>
      {loading && <Spinner size="small" label="Loading items…" />}
      {page && items.length === 0 && !loading && <Text>Nothing here: no items match.</Text>}
      {page?.next && (
        <Button disabled={loading} onClick={() => void load(page.next)}>
          Load more
        </Button>
      )}
    </section>
  );
}
