/** The ports the access-request workflow needs; the hosts build them from configuration. */
import type { AnchorStore } from '../ports/anchor-store.port';
import type { AuditLogPort } from '../ports/audit-log.port';
import type { Clock } from '../ports/clock.port';
import type { Directory } from '../ports/directory.port';
import type { EvidenceBundles, EvidenceDeliveryStore, MailSender } from '../ports/evidence-mail.port';
import type { MembershipLedger, ReconcileStore } from '../ports/membership-ledger.port';
import type { Notifier } from '../ports/notifier.port';
import type { RequestStore } from '../ports/request-store.port';
import type { ReviewNotifier } from '../ports/review-notifier.port';
import type { ReviewStore } from '../ports/review-store.port';
import type { Catalog, CatalogStamp } from '../domain/catalog/catalog.model';

/** Everything activities and the application service use. */
export interface WorkflowDeps {
  directory: Directory;
  /** Which grants hold each membership Attest touched (see src/domain/ledger). */
  ledger: MembershipLedger;
  audit: AuditLogPort;
  /** Where digests are anchored and evidence bundles kept, outside the tables (docs/adr/0009). */
  anchors: AnchorStore;
  requests: RequestStore;
  notifier: Notifier;
  clock: Clock;
  /** The reconciler's sweep state per group, delta links per batch, and its drift findings. */
  reconcile: ReconcileStore;
  /**
   * The catalog in use. `unavailable` is set when the catalog file does not load and this is the last good one:
   * existing requests go on under it, and a new submission is refused with CATALOG.UNAVAILABLE and this message.
   */
  catalog: { catalog: Catalog; stamp: CatalogStamp; unavailable?: string };
  /** Object ids of Attest admins (may revoke anyone's access). */
  adminGroupId?: string;
  /** Where each lifecycle event is mirrored as a ticket update (an outbox row per event); none when unset. */
  ticketTarget?: 'jira' | 'servicenow';
  /** Access-review campaigns and items (absent where a host does not run reviews; the review code says so). */
  reviews?: ReviewStore;
  /** Where review notices go (the outbox table, or the Teams card with its e-mail fallback). */
  reviewNotifier?: ReviewNotifier;
  /** The scheduled evidence e-mail (absent where a host does not send it: no anchor store, no recipients). */
  evidenceMail?: EvidenceMailDeps;
}

/** What the evidence e-mail's activities use. */
export interface EvidenceMailDeps {
  bundles: EvidenceBundles;
  deliveries: EvidenceDeliveryStore;
  sender: MailSender;
  /** ATTEST_EVIDENCE_MAIL_TO, lower-case. */
  recipients: string[];
  /** How long the link to a bundle too large to attach stays valid. */
  linkValidMs: number;
}
