/** What both ticket adapters write and parse: hash lines, Jira labels, Retry-After, long text. */
import {
  MAX_TEXT,
  clip,
  commentLines,
  hashesIn,
  jiraLabelFor,
  retryAfterMs,
} from '../../../../src/adapters/tickets/ticket-text';
import { DomainError } from '../../../../src/domain/domain-error';

const NOW = new Date('2026-11-29T10:00:00Z');
const HASH = 'a1'.repeat(32);

describe('ticket text', () => {
  test('the hash line a comment ends with is found again, and only as a line of its own', () => {
    const lines = commentLines({
      eventHash: HASH,
      stream: 'request:r-1',
      seq: 3,
      action: 'access.revoked',
      actor: 'system',
      time: NOW.toISOString(),
      text: 'Revoked\nby the review',
    });
    expect(lines).toEqual([
      'access.revoked by system at 2026-11-29T10:00:00.000Z',
      'Revoked',
      'by the review',
      'attest-stream: request:r-1 #3',
      `attest-event: ${HASH}`,
    ]);
    expect(hashesIn(lines.join('\n'))).toEqual([HASH]);
    expect(hashesIn(`someone quoted attest-event: ${HASH} inline`)).toEqual([]);
    expect(hashesIn('no hash here')).toEqual([]);
  });

  test('over-long text is cut with a note and the hash line kept', () => {
    const text = 'x'.repeat(MAX_TEXT * 2);
    expect(clip(text)).toHaveLength(MAX_TEXT);
    expect(clip(text)).toContain(`characters cut; the full text is in the Attest audit log`);
    const lines = commentLines({
      eventHash: HASH,
      stream: 's',
      seq: 1,
      action: 'a',
      actor: 'b',
      time: 't',
      text,
    });
    expect(lines.join('\n').length).toBeLessThan(32_767);
    expect(lines.at(-1)).toBe(`attest-event: ${HASH}`);
  });

  test('Jira labels keep letters, digits, dot and dash, and encode the rest so ids never collide', () => {
    expect(jiraLabelFor('01HZX3-req.7')).toBe('attest-01HZX3-req.7');
    expect(jiraLabelFor('campaign:q4')).toBe('attest-campaign_3aq4');
    expect(jiraLabelFor('a b')).toBe('attest-a_20b');
    expect(jiraLabelFor('é')).toBe('attest-_c3a9');
    expect(jiraLabelFor('a_3ab')).not.toBe(jiraLabelFor('a:b'));
    expect(() => jiraLabelFor('x'.repeat(300))).toThrow(DomainError);
  });

  test('Retry-After: seconds (0 kept), an HTTP date, or nothing', () => {
    expect(retryAfterMs('0', NOW)).toBe(0);
    expect(retryAfterMs('17', NOW)).toBe(17_000);
    expect(retryAfterMs(undefined, NOW)).toBeUndefined();
    expect(retryAfterMs(null, NOW)).toBeUndefined();
    expect(retryAfterMs('', NOW)).toBeUndefined();
    expect(retryAfterMs('soon', NOW)).toBeUndefined();
    expect(retryAfterMs('Sun, 29 Nov 2026 10:00:30 GMT', NOW)).toBe(30_000);
    expect(retryAfterMs('Sun, 29 Nov 2026 09:00:00 GMT', NOW)).toBe(0);
  });
});
