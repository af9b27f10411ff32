import { graphMessage } from '../../../../src/adapters/graph/graph-mailer';

test('a mail becomes a Graph sendMail message: HTML body, one entry per recipient, file attachments', () => {
  expect(
    graphMessage({
      to: ['a@contoso.example', 'b@contoso.example'],
      subject: 'Attest evidence',
      html: '<p>x</p>',
      attachments: [{ name: 'b.zip', contentType: 'application/zip', contentBytes: 'UEsDBA==' }],
    }),
  ).toEqual({
    subject: 'Attest evidence',
    body: { contentType: 'HTML', content: '<p>x</p>' },
    toRecipients: [
      { emailAddress: { address: 'a@contoso.example' } },
      { emailAddress: { address: 'b@contoso.example' } },
    ],
    attachments: [
      {
        '@odata.type': '#microsoft.graph.fileAttachment',
        name: 'b.zip',
        contentType: 'application/zip',
        contentBytes: 'UEsDBA==',
      },
    ],
  });
});

test('a mail without attachments sends no attachments field', () => {
  expect(
    graphMessage({ to: ['a@contoso.example'], subject: 's', html: 'h', attachments: [] }),
  ).not.toHaveProperty('attachments');
});
