import {
  INLINE_ATTACHMENT_LIMIT,
  anchorText,
  base64Length,
  evidenceMailContent,
  evidencePeriodKey,
  fitsInline,
  recipientsOutside,
  type PreparedEvidence,
} from '../../../../src/domain/evidence/evidence-mail';

const prepared: PreparedEvidence = {
  period: { from: '2026-11-16T07:00:00.000Z', to: '2026-11-23T07:00:00.000Z' },
  bundleId: '2026-11-16_2026-11-23_d42',
  digest: { seq: 42, root: 'ab'.repeat(32), hash: 'cd'.repeat(32) },
  summary: [
    { label: 'Requests submitted', value: 17 },
    { label: 'Grants <script>', value: 9 },
  ],
  files: 11,
  zip: { name: '2026-11-16_2026-11-23_d42.zip', sha256: 'ef'.repeat(32), bytes: 123_456 },
};

describe('whether the zip travels in the mail', () => {
  test('base64 makes 4 characters of every 3 bytes, padded', () => {
    expect([0, 1, 2, 3, 4, 3_000_000].map(base64Length)).toEqual([0, 4, 4, 4, 8, 4_000_000]);
    expect(base64Length(3)).toBe(Buffer.alloc(3).toString('base64').length);
    expect(base64Length(1000)).toBe(Buffer.alloc(1000).toString('base64').length);
  });

  test('the decision is on the encoded size: a zip fits while its base64 is at most 3 MB', () => {
    const largest = (INLINE_ATTACHMENT_LIMIT / 4) * 3; // 2,359,296 bytes encode to exactly 3 MB
    expect(fitsInline(largest)).toBe(true);
    expect(fitsInline(largest + 1)).toBe(false);
    // A 2.9 MB zip is under 3 MB but its base64 is not: it is linked, not attached.
    expect(fitsInline(2.9 * 1024 * 1024)).toBe(false);
  });
});

test('the period key is the period end, compact, and the anchor is seq:hash as attest verify --anchor takes it', () => {
  expect(evidencePeriodKey(prepared.period)).toBe('20261123T070000Z');
  expect(anchorText({ seq: 42, hash: 'cd'.repeat(32) })).toBe(`42:${'cd'.repeat(32)}`);
});

test('recipients outside the allowed domains are named, case aside', () => {
  expect(
    recipientsOutside(
      ['A@Contoso.example', 'b@gmail.com', 'c@contoso.example.evil.com'],
      ['contoso.example'],
    ),
  ).toEqual(['b@gmail.com', 'c@contoso.example.evil.com']);
  expect(recipientsOutside(['a@contoso.example'], ['CONTOSO.example'])).toEqual([]);
});

describe('the mail', () => {
  test('an attached bundle: subject with the period, the summary figures, the root, the anchor and the zip facts', () => {
    const { subject, html } = evidenceMailContent(prepared, { kind: 'attached' });
    expect(subject).toBe('Attest evidence 2026-11-16 to 2026-11-23');
    expect(html).toContain('2026-11-16 07:00 UTC to 2026-11-23 07:00 UTC');
    expect(html).toContain('<tr><td>Requests submitted</td><td style="text-align:right">17</td></tr>');
    expect(html).toContain(`Digest root: <code>${'ab'.repeat(32)}</code>`);
    expect(html).toContain(`<code id="anchor">42:${'cd'.repeat(32)}</code>`);
    expect(html).toContain(`attest verify --anchor 42:${'cd'.repeat(32)}`);
    expect(html).toContain(`The bundle is attached: <code>${prepared.zip.name}</code> (120.6 KB, 11 files)`);
    expect(html).toContain(`<code id="zip-sha256">${'ef'.repeat(32)}</code>`);
    expect(html).not.toContain('href=');
  });

  test('a linked bundle carries its name, SHA-256, the link and until when it works', () => {
    const url = 'https://acct.blob.core.windows.net/attest-evidence/bundles/x/y.zip?sv=2025&sig=a%2Bb&se=1';
    const { html } = evidenceMailContent(
      { ...prepared, zip: { ...prepared.zip, bytes: 5 * 1024 * 1024 } },
      { kind: 'linked', url, validUntil: '2026-11-30T07:00:00.000Z' },
    );
    expect(html).toContain('too large to attach');
    expect(html).toContain(`<code>${prepared.zip.name}</code> (5.0 MB, 11 files)`);
    expect(html).toContain(`href="${url.replace(/&/g, '&amp;')}"`);
    expect(html).toContain('until 2026-11-30 07:00 UTC');
    expect(html).not.toContain('The bundle is attached');
  });

  test('every value is escaped: a label, a bundle id or a link cannot add markup', () => {
    const { html } = evidenceMailContent(
      { ...prepared, bundleId: '"><img src=x onerror=alert(1)>' },
      {
        kind: 'linked',
        url: 'https://x.example/"onmouseover="alert(1)',
        validUntil: '2026-11-30T07:00:00.000Z',
      },
    );
    expect(html).toContain('Grants &lt;script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('href="https://x.example/&quot;onmouseover=&quot;alert(1)"');
  });

  test('without an anchored digest the mail says there is no anchor to check against', () => {
    const { html } = evidenceMailContent({ ...prepared, digest: undefined }, { kind: 'attached' });
    expect(html).toContain('No digest of the audit log was anchored yet');
    expect(html).not.toContain('id="anchor"');
  });
});
