/** Evidence: today's lifecycle export (the one `attest export` writes) for a period, as a CSV download. */
import { useState, type FormEvent, type ReactElement } from 'react';
import {
  Button,
  Field,
  Input,
  MessageBar,
  MessageBarBody,
  Text,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { saveFile } from '../api';
import { useSession } from '../session';
import { Problem } from './problem';

const useStyles = makeStyles({
  stack: { display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalM },
  row: { display: 'flex', gap: tokens.spacingHorizontalM, alignItems: 'end', flexWrap: 'wrap' },
});

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Pick a period, download its CSV. */
export function Evidence(): ReactElement {
  const { api } = useSession();
  const styles = useStyles();
  const today = new Date();
  const [from, setFrom] = useState(isoDay(new Date(today.getTime() - 30 * 86400000)));
  const [to, setTo] = useState(isoDay(new Date(today.getTime() + 86400000)));
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();

  const download = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const f = await api.download('evidence', { from, to });
      const rows = Math.max(f.text.split('\r\n').filter(Boolean).length - 1, 0);
      saveFile(f.name, f.text);
      setNotice(`${f.name}: ${rows} row${rows === 1 ? '' : 's'}.`);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section className={styles.stack} aria-labelledby="evidence-title">
      <Text as="h2" id="evidence-title" size={500} weight="semibold">
        Evidence
      </Text>
      <Text>
        One row per access lifecycle requested in the period (from inclusive, to exclusive, UTC days).
      </Text>
      <form onSubmit={(e) => void download(e)} className={styles.row}>
        <Field label="From">
          <Input type="date" value={from} onChange={(_, d) => setFrom(d.value)} required />
        </Field>
        <Field label="To">
          <Input type="date" value={to} onChange={(_, d) => setTo(d.value)} required />
        </Field>
        <Button type="submit" appearance="primary">
          Download CSV
        </Button>
      </form>
      {notice && (
        <MessageBar intent="success" role="status">
          <MessageBarBody>{notice}</MessageBarBody>
        </MessageBar>
      )}
      <Problem error={error} />
    </section>
  );
}
