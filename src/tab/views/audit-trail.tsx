/**
 * Audit trail: one request's or campaign's events as a timeline, with a "chain verified" badge the server
 * computes with the verifier `attest verify` uses.
 */
import { useState, type FormEvent, type ReactElement } from 'react';
import { Badge, Button, Field, Input, Text, makeStyles, tokens } from '@fluentui/react-components';
import type { AuditTrail } from '../../ports/tab-api.port';
import { when } from '../format';
import { useSession } from '../session';
import { Problem } from './problem';

const useStyles = makeStyles({
  stack: { display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalM },
  row: { display: 'flex', gap: tokens.spacingHorizontalM, alignItems: 'end', flexWrap: 'wrap' },
  timeline: {
    listStyleType: 'none',
    margin: 0,
    padding: 0,
    borderLeft: `2px solid ${tokens.colorNeutralStroke1}`,
  },
  event: { padding: `${tokens.spacingVerticalS} ${tokens.spacingHorizontalM}`, position: 'relative' },
  details: {
    fontFamily: tokens.fontFamilyMonospace,
    fontSize: tokens.fontSizeBase200,
    whiteSpace: 'pre-wrap',
    wordBreak: 'break-all',
  },
});

/** Pick a stream, see its events. */
export function AuditTrailView(): ReactElement {
  const { api } = useSession();
  const styles = useStyles();
  const [stream, setStream] = useState(new URLSearchParams(location.search).get('stream') ?? '');
  const [trail, setTrail] = useState<AuditTrail>();
  const [error, setError] = useState<unknown>();

  const open = async (e: FormEvent) => {
    e.preventDefault();
    try {
      setTrail(await api.get<AuditTrail>(`audit/${encodeURIComponent(stream.trim())}`));
      setError(undefined);
    } catch (err) {
      setError(err);
      setTrail(undefined);
    }
  };

  return (
    <section className={styles.stack} aria-labelledby="audit-title">
      <Text as="h2" id="audit-title" size={500} weight="semibold">
        Audit trail
      </Text>
      <form onSubmit={(e) => void open(e)} className={styles.row}>
        <Field label="Stream (request-… or review-…)">
          <Input value={stream} onChange={(_, d) => setStream(d.value)} required />
        </Field>
        <Button type="submit" appearance="primary" disabled={!stream.trim()}>
          Open
        </Button>
      </form>
      <Problem error={error} />
      {trail && (
        <>
          <div className={styles.row}>
            <Text weight="semibold">{trail.stream}</Text>
            {trail.verification.ok ? (
              <Badge color="success" data-testid="chain-badge">
                Chain verified ({trail.verification.events} events)
              </Badge>
            ) : (
              <Badge color="danger" data-testid="chain-badge">
                Chain broken at event {trail.verification.seq ?? '?'}: {trail.verification.problem}
              </Badge>
            )}
          </div>
          {!trail.verification.ok && <Text>{trail.verification.message}</Text>}
          <ol className={styles.timeline} aria-label={`Events of ${trail.stream}`}>
            {trail.events.map((e) => (
              <li key={e.seq} className={styles.event}>
                <Text weight="semibold">
                  {e.seq}. {e.action}
                </Text>{' '}
                <Text size={200}>
                  {when(e.time)} by {e.actor.upn ?? e.actor.objectId} ({e.actor.channel})
                </Text>
                <div className={styles.details}>{JSON.stringify(e.details)}</div>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
