/**
 * Campaigns: every campaign the caller may see, its progress overall and by reviewer as charts, and the
 * admin's actions (start from a catalog definition, confirm a guarded removal, close, results CSV). Sign-off
 * is offered to whoever is signed in; the server lets only the named manager do it and says so otherwise.
 */
import { useCallback, useEffect, useState, type ReactElement } from 'react';
import {
  Badge,
  Button,
  Card,
  CardHeader,
  Dropdown,
  Field,
  Input,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Option,
  Spinner,
  Text,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { DonutChart, HorizontalBarChart, type ChartProps } from '@fluentui/react-charts';
import type { Campaign } from '../../domain/review/review.model';
import type { CampaignProgress } from '../../ports/review-api.port';
import type { DefinitionSummary } from '../../ports/tab-api.port';
import { ApiError, saveFile } from '../api';
import { when } from '../format';
import { canWrite, useSession } from '../session';
import { Problem } from './problem';

const useStyles = makeStyles({
  stack: { display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalM },
  row: { display: 'flex', gap: tokens.spacingHorizontalM, flexWrap: 'wrap', alignItems: 'end' },
  charts: {
    display: 'grid',
    gridTemplateColumns: 'minmax(260px, 1fr) minmax(320px, 2fr)',
    gap: tokens.spacingHorizontalL,
  },
});

function statusColour(s: Campaign['status']): 'brand' | 'warning' | 'success' | 'informative' | 'danger' {
  if (s === 'awaiting-confirmation') return 'warning';
  if (s === 'completed' || s === 'signed-off') return 'success';
  if (s === 'cancelled') return 'danger';
  return 'brand';
}

/** The campaign list and the selected campaign's progress. */
export function Campaigns(): ReactElement {
  const { api, me } = useSession();
  const styles = useStyles();
  const admin = me.role === 'admin';
  const [campaigns, setCampaigns] = useState<Campaign[]>();
  const [definitions, setDefinitions] = useState<DefinitionSummary[]>([]);
  const [definitionId, setDefinitionId] = useState('');
  const [selected, setSelected] = useState<string>();
  const [progress, setProgress] = useState<CampaignProgress>();
  const [hidden, setHidden] = useState<string>();
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState(false);

  const refresh = useCallback(async () => {
    try {
      const list = await api.get<Campaign[]>('campaigns');
      setCampaigns(list);
      setSelected((s) => s ?? list[0]?.id);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  }, [api]);

  useEffect(() => {
    void refresh();
    if (admin) api.get<DefinitionSummary[]>('definitions').then(setDefinitions, setError);
  }, [refresh, api, admin]);

  useEffect(() => {
    if (!selected) return;
    // A reviewer sees their campaigns but not everyone's progress (unless they sign it off): asking would only
    // be refused, and every refusal is audited.
    const chosen = campaigns?.find((x) => x.id === selected);
    if (me.role === 'member' && chosen && chosen.signOffId !== me.objectId.toLowerCase()) {
      setProgress(undefined);
      setHidden(
        'Progress by reviewer is shown to Attest admins, auditors and the manager who signs the campaign off.',
      );
      return;
    }
    api.get<CampaignProgress>(`campaigns/${encodeURIComponent(selected)}/progress`).then(
      (p) => {
        setProgress(p);
        setHidden(undefined);
      },
      (err: unknown) => {
        setProgress(undefined);
        // A reviewer sees their campaigns but not everyone's progress: say so, it is not a failure.
        if (err instanceof ApiError && err.status === 403)
          setHidden(err.message.replace(/^Not allowed: /, ''));
        else setError(err);
      },
    );
  }, [api, selected, campaigns, me]);

  const act = async (label: string, run: () => Promise<unknown>) => {
    setBusy(true);
    setNotice(undefined);
    try {
      await run();
      setNotice(label);
      setError(undefined);
      await refresh();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const chosenDefinition = definitions.find((d) => d.id === definitionId);
  const c = progress?.campaign ?? campaigns?.find((x) => x.id === selected);
  // The donut shows the current stage as it stands; the campaign's own counts are its final decisions.
  const stage = progress?.stage;
  const overall: ChartProps = {
    chartTitle: stage ? `Stage ${stage.number} progress` : 'Final decisions',
    chartData: stage
      ? [
          { legend: 'Kept', data: stage.kept, color: tokens.colorPaletteGreenBackground3 },
          { legend: 'Revoked', data: stage.revoked, color: tokens.colorPaletteRedBackground3 },
          { legend: 'Held for an admin', data: stage.held, color: tokens.colorPaletteMarigoldBackground3 },
          {
            legend: 'Pending',
            data: Math.max(stage.items - stage.decided - stage.held, 0),
            color: tokens.colorNeutralForeground3,
          },
        ]
      : c
        ? [
            { legend: 'Kept', data: c.counts.kept, color: tokens.colorPaletteGreenBackground3 },
            { legend: 'Revoked', data: c.counts.revoked, color: tokens.colorPaletteRedBackground3 },
            {
              legend: 'Pending',
              data: Math.max(c.counts.items - c.counts.decided, 0),
              color: tokens.colorNeutralForeground3,
            },
          ]
        : [],
  };
  const byReviewer: ChartProps[] = (progress?.byReviewer ?? []).map((r) => ({
    chartTitle: r.displayName,
    chartData: [
      {
        legend: `${r.displayName}: decided`,
        horizontalBarChartdata: { x: r.decided, total: r.decided + r.pending },
        color: tokens.colorBrandBackground,
      },
    ],
  }));

  return (
    <section className={styles.stack} aria-labelledby="campaigns-title">
      <Text as="h2" id="campaigns-title" size={500} weight="semibold">
        Campaigns
      </Text>
      {admin && (
        <Card>
          <CardHeader header={<Text weight="semibold">Start a campaign</Text>} />
          <div className={styles.row}>
            <Field label="Catalog definition">
              <Dropdown
                placeholder="Choose a definition"
                value={chosenDefinition?.name ?? ''}
                selectedOptions={definitionId ? [definitionId] : []}
                onOptionSelect={(_, d) => setDefinitionId(d.optionValue ?? '')}
              >
                {definitions.map((d) => (
                  <Option key={d.id} value={d.id}>
                    {d.name}
                  </Option>
                ))}
              </Dropdown>
            </Field>
            <Button
              appearance="primary"
              disabled={busy || !definitionId}
              onClick={() =>
                void act('Campaign started.', async () => {
                  const r = await api.post<Campaign | { empty: true }>('campaigns', { definitionId });
                  if ('empty' in r)
                    throw new Error('Nothing to review: the scope has no members, so no campaign was made.');
                  setSelected(r.id);
                })
              }
            >
              Start now
            </Button>
          </div>
          {chosenDefinition && (
            <Text size={200}>
              {chosenDefinition.stages} stage(s) over {chosenDefinition.groups} group(s); unanswered items:{' '}
              {chosenDefinition.defaultDecision}; removals over{' '}
              {Math.round(chosenDefinition.massRemovalShare * 100)}% of the scope wait for an admin to
              confirm.
            </Text>
          )}
        </Card>
      )}
      {notice && (
        <MessageBar intent="success" role="status">
          <MessageBarBody>{notice}</MessageBarBody>
        </MessageBar>
      )}
      <Problem error={error} />
      {!campaigns && <Spinner label="Loading campaigns…" />}
      {campaigns && campaigns.length === 0 && <Text>No campaigns yet.</Text>}
      {campaigns && campaigns.length > 0 && (
        <Field label="Campaign">
          <Dropdown
            value={campaigns.find((x) => x.id === selected)?.definition.name ?? ''}
            selectedOptions={selected ? [selected] : []}
            onOptionSelect={(_, d) => setSelected(d.optionValue)}
          >
            {campaigns.map((x) => (
              <Option key={x.id} value={x.id} text={x.definition.name}>
                {x.definition.name} ({x.status})
              </Option>
            ))}
          </Dropdown>
        </Field>
      )}
      {c && (
        <Card>
          <CardHeader
            header={<Text weight="semibold">{c.definition.name}</Text>}
            description={
              <Text size={200}>
                Started {when(c.startedAt)}, deadline {when(c.deadline)}, stage {c.stage} of{' '}
                {c.definition.stages.length}
                {c.snapshot ? `, snapshot of ${c.snapshot.count} memberships` : ''}
              </Text>
            }
            action={<Badge color={statusColour(c.status)}>{c.status}</Badge>}
          />
          {stage && (
            <Text data-testid="stage-counts">
              Stage {stage.number}: {stage.decided} of {stage.items} decided ({stage.kept} kept,{' '}
              {stage.revoked} revoked
              {stage.held ? `, ${stage.held} held for an admin` : ''}).
            </Text>
          )}
          <Text data-testid="campaign-counts">
            Final: {c.counts.decided} of {c.counts.items} decided: {c.counts.kept} kept, {c.counts.revoked}{' '}
            revoked, {c.counts.applied} applied, {c.counts.failed} failed.
          </Text>
          {c.status === 'awaiting-confirmation' && c.guard && (
            <MessageBar intent="warning">
              <MessageBarBody>
                <MessageBarTitle>Removal waiting for an admin</MessageBarTitle>
                {c.guard.action === 'default' ? 'The default decision' : 'A bulk action'} would remove{' '}
                {c.guard.wouldRemove} of {c.guard.scopeSize} memberships ({Math.round(c.guard.share * 100)}%),
                more than this campaign allows without confirmation.
              </MessageBarBody>
            </MessageBar>
          )}
          {c.signedOff && (
            <Text>
              Signed off by {c.signedOff.by} on {when(c.signedOff.at)}
              {c.signedOff.note ? `: ${c.signedOff.note}` : ''}
            </Text>
          )}
          {hidden && (
            <MessageBar intent="info">
              <MessageBarBody>{hidden}</MessageBarBody>
            </MessageBar>
          )}
          {progress && (
            <div className={styles.charts} data-testid="campaign-charts">
              <DonutChart
                data={overall}
                innerRadius={55}
                valueInsideDonut={
                  stage ? `${stage.decided}/${stage.items}` : `${c.counts.decided}/${c.counts.items}`
                }
                hideLegend={false}
                width={280}
                height={220}
              />
              <div>
                <Text weight="semibold">By reviewer</Text>
                {byReviewer.length ? (
                  <HorizontalBarChart data={byReviewer} />
                ) : (
                  <Text> No reviewers yet.</Text>
                )}
              </div>
            </div>
          )}
          <div className={styles.row}>
            {admin && c.status === 'awaiting-confirmation' && (
              <Button
                appearance="primary"
                disabled={busy}
                onClick={() => void act('Removal confirmed.', () => api.post(`campaigns/${c.id}/confirm`))}
              >
                Confirm removal
              </Button>
            )}
            {admin && (c.status === 'active' || c.status === 'awaiting-confirmation') && (
              <Button
                disabled={busy}
                onClick={() =>
                  void act('Campaign closed: the default decision applies to what is left.', () =>
                    api.post(`campaigns/${c.id}/close`),
                  )
                }
              >
                Close now
              </Button>
            )}
            {canWrite(me) && c.status === 'completed' && (
              <>
                <Field label="Sign-off note">
                  <Input value={note} onChange={(_, d) => setNote(d.value)} />
                </Field>
                <Button
                  appearance="primary"
                  disabled={busy}
                  onClick={() =>
                    void act('Campaign signed off.', () =>
                      api.post(`campaigns/${c.id}/signoff`, { note: note || undefined }),
                    )
                  }
                >
                  Sign off
                </Button>
              </>
            )}
            {me.role !== 'member' && (
              <Button
                disabled={busy}
                onClick={() =>
                  void act('Results downloaded.', async () => {
                    const f = await api.download(`campaigns/${encodeURIComponent(c.id)}/results`);
                    saveFile(f.name, f.text);
                  })
                }
              >
                Results (CSV)
              </Button>
            )}
          </div>
        </Card>
      )}
    </section>
  );
}
