/**
 * Sends an e-mail through Microsoft Graph: `POST /users/{sender}/sendMail` from one configured mailbox
 * (ATTEST_MAIL_SENDER; Mail.Send application permission, ideally limited to that mailbox by an application
 * access policy). The local Graph simulator keeps what it is sent under its data folder.
 */
import type { Client } from '@microsoft/microsoft-graph-client';

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

/** Escapes text for an HTML body: names and campaign titles are user text. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
