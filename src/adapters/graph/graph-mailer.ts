/**
 * Sends an e-mail through Microsoft Graph: `POST /users/{sender}/sendMail` from one configured mailbox
 * (ATTEST_MAIL_SENDER; Mail.Send application permission, ideally limited to that mailbox by an application
 * access policy). The local Graph simulator keeps what it is sent under its data folder.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import { DomainError } from '../../domain/domain-error';
import { recipientsOutside, type OutgoingMail } from '../../domain/evidence/evidence-mail';
import type { MailSender } from '../../ports/evidence-mail.port';

/** One message: one recipient, a subject, and an HTML body whose user text is already escaped. */
export interface MailMessage {
  to: string;
  subject: string;
  html: string;
}

/** Sends mail from one mailbox. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

/** A {@link Mailer} on Graph sendMail. Graph answers 202 with no body; errors are thrown as the client raises them. */
export class GraphMailer implements Mailer {
  constructor(
    private readonly client: Client,
    /** UPN or object id of the sending mailbox. */
    private readonly sender: string,
  ) {}

  async send(message: MailMessage): Promise<void> {
    await this.client.api(`/users/${encodeURIComponent(this.sender)}/sendMail`).post({
      message: {
        subject: message.subject,
        body: { contentType: 'HTML', content: message.html },
        toRecipients: [{ emailAddress: { address: message.to } }],
      },
      saveToSentItems: true,
    });
  }
}

/** The `message` of a Graph sendMail request for `mail`: HTML body, one entry per recipient, file attachments. */
export function graphMessage(mail: OutgoingMail): Record<string, unknown> {
  return {
    subject: mail.subject,
    body: { contentType: 'HTML', content: mail.html },
    toRecipients: mail.to.map((address) => ({ emailAddress: { address } })),
    ...(mail.attachments.length
      ? {
          attachments: mail.attachments.map((a) => ({
            '@odata.type': '#microsoft.graph.fileAttachment',
            name: a.name,
            contentType: a.contentType,
            contentBytes: a.contentBytes,
          })),
        }
      : {}),
  };
}

/**
 * A {@link MailSender} on Graph sendMail that sends only to the allowed domains: a recipient outside them is
 * refused (`MAIL.RECIPIENT_NOT_ALLOWED`) before anything leaves, whoever built the mail.
 */
export class GraphMailSender implements MailSender {
  constructor(
    private readonly client: Client,
    /** UPN or object id of the sending mailbox. */
    private readonly sender: string,
    private readonly allowedDomains: readonly string[],
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    const outside = recipientsOutside(mail.to, this.allowedDomains);
    if (outside.length || !mail.to.length) {
      throw new DomainError(
        'MAIL.RECIPIENT_NOT_ALLOWED',
        mail.to.length
          ? `Evidence may not be sent to ${outside.join(', ')}: only to ${this.allowedDomains.join(', ')} (ATTEST_EVIDENCE_MAIL_ALLOWED_DOMAINS).`
          : 'An evidence e-mail needs at least one recipient (ATTEST_EVIDENCE_MAIL_TO).',
      );
    }
    await this.client
      .api(`/users/${encodeURIComponent(this.sender)}/sendMail`)
      .post({ message: graphMessage(mail), saveToSentItems: true });
  }
}
