/**
 * Who has access: by person or by group (an app's role), every membership with the ledger's claims behind it
 * (each Attest grant with its request, or "outside Attest") and the reconciler's drift findings.
 */
import { useState, type FormEvent, type ReactElement } from 'react';
import {
  Badge,
  Button,
  Field,
  Input,
  Radio,
  RadioGroup,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import type { AccessAnswer, AccessRow } from '../../ports/tab-api.port';
import { when } from '../format';
import { useSession } from '../session';
import { Problem } from './problem';

const useStyles = makeStyles({
  stack: { display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalM },
  row: { display: 'flex', gap: tokens.spacingHorizontalM, alignItems: 'end', flexWrap: 'wrap' },
});

function claims(r: AccessRow): ReactElement {
  if (r.claims.length === 0) return <Text>Outside Attest (never granted through Attest)</Text>;
  return (
    <ul>
      {r.claims.map((c, i) =>
        c.kind === 'grant' ? (
          <li key={i}>
            Grant from request <code>{c.requestId}</code> since {when(c.since)}
            {c.expiresAt ? `, until ${when(c.expiresAt)}` : ', permanent'}
          </li>
        ) : (
          <li key={i}>
            Outside Attest (
            {c.source === 'baseline' ? 'there when Attest first looked' : 'a member before the grant'}) since{' '}
            {when(c.since)}
          </li>
        ),
      )}
    </ul>
  );
}

/** Look up a person or a group. */
export function WhoHasAccess(): ReactElement {
  const { api } = useSession();
  const styles = useStyles();
  const [kind, setKind] = useState<'user' | 'group'>('user');
  const [id, setId] = useState('');
  const [answer, setAnswer] = useState<AccessAnswer>();
  const [error, setError] = useState<unknown>();

  const look = async (e: FormEvent) => {
    e.preventDefault();
    try {
      setAnswer(
        await api.get<AccessAnswer>(
          `access/${kind === 'user' ? 'users' : 'groups'}/${encodeURIComponent(id.trim())}`,
        ),
      );
      setError(undefined);
    } catch (err) {
      setError(err);
      setAnswer(undefined);
    }
  };

  return (
    <section className={styles.stack} aria-labelledby="access-title">
      <Text as="h2" id="access-title" size={500} weight="semibold">
        Who has access
      </Text>
      <form onSubmit={(e) => void look(e)} className={styles.row}>
        <Field label="Look up">
          <RadioGroup
            layout="horizontal"
            value={kind}
            onChange={(_, d) => setKind(d.value as 'user' | 'group')}
          >
            <Radio value="user" label="A person" />
            <Radio value="group" label="A group or app role" />
          </RadioGroup>
        </Field>
        <Field label={kind === 'user' ? 'User principal name or object id' : 'Group id or role (app/role)'}>
          <Input value={id} onChange={(_, d) => setId(d.value)} required />
        </Field>
        <Button type="submit" appearance="primary" disabled={!id.trim()}>
          Show access
        </Button>
      </form>
      <Problem error={error} />
      {answer && (
        <>
          <Text>
            {answer.subject.name}: {answer.rows.length} membership{answer.rows.length === 1 ? '' : 's'}
          </Text>
          <Table aria-label={`Access of ${answer.subject.name}`}>
            <TableHeader>
              <TableRow>
                <TableHeaderCell>{answer.subject.kind === 'user' ? 'Group' : 'Person'}</TableHeaderCell>
                <TableHeaderCell>Held by</TableHeaderCell>
                <TableHeaderCell>Drift findings</TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {answer.rows.map((r) => (
                <TableRow key={`${r.groupId}:${r.userId}`}>
                  <TableCell>
                    {answer.subject.kind === 'user' ? (
                      <>
                        {r.groupName}
                        {r.roleRef ? ` (${r.appName ?? ''} ${r.roleName ?? r.roleRef})` : ''}
                      </>
                    ) : (
                      <>
                        {r.userDisplayName} <Text size={200}>{r.userPrincipalName}</Text>
                      </>
                    )}
                    {!r.present && (
                      <Badge appearance="outline" color="warning">
                        not in the group now
                      </Badge>
                    )}
                    {r.owedRemovals > 0 && (
                      <Badge appearance="outline" color="danger">
                        removal owed
                      </Badge>
                    )}
                  </TableCell>
                  <TableCell>{claims(r)}</TableCell>
                  <TableCell>
                    {r.findings.length === 0
                      ? 'None'
                      : r.findings.map((f, i) => (
                          <div key={i}>
                            {f.kind === 'added-outside' ? 'Added outside Attest' : 'Removed outside Attest'},
                            found {when(f.foundAt)}
                          </div>
                        ))}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </>
      )}
    </section>
  );
}
