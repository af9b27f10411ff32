/** Every Table Storage table name Attest uses, in one place (call sites never spell them). */
export const TableNames = {
  /** De-duplication markers for external events raised through the Azure durable client. */
  durableEventIds: (taskHub: string) => `${taskHub}EventIds`,
  /** The local replay host's task hub: instances, history, pending messages and event markers. */
  localTaskHub: (taskHub: string) => `${taskHub}Local`,
  /**
   * The audit log: PartitionKey = stream, RowKey = zero-padded sequence; outbox rows for ticket sync live in
   * the same partition so they are written in the same transaction as their event.
   */
  auditLog: 'AuditLog',
  /** Merkle digests over every stream head, chained to each other. */
  auditDigests: 'AuditDigests',
  /**
   * The touched-streams index: PartitionKey = a 5-minute bucket (`t-2026-11-29T15:45Z`), RowKey = escaped
   * stream; written before each append, read by the digest and the ticket sync instead of every event row.
   */
  auditTouched: 'AuditTouched',
  /** The current state of each access request (a projection of its audit stream). */
  accessRequests: 'AccessRequests',
  /** Notifications owed to people, until the Teams adapter delivers them. */
  notifications: 'Notifications',
  /**
   * Teams: the conversation reference of each person who installed the app or wrote to the bot
   * (PartitionKey `user`, RowKey object id) and of each channel the app was added to (`channel`, channel id).
   */
  teamsConversations: 'TeamsConversations',
  /**
   * Teams: each notification delivered (PartitionKey = request id, RowKey = notification id and recipient),
   * with the activity id of the card sent, so a retried delivery sends nothing twice and approval cards can
   * be updated in place.
   */
  teamsDeliveries: 'TeamsDeliveries',
  /**
   * The membership ledger: PartitionKey = group id, RowKey = user id (both lower-case, escaped), one row per
   * (group, user) Attest has touched or baselined; the entry as JSON in `doc` (split over `doc1`… when long).
   */
  membershipLedger: 'MembershipLedger',
  /**
   * The reconciler's memory: PartitionKey `group` (RowKey group id: baselined at) and `delta` (RowKey batch key:
   * the batch's delta link).
   */
  reconcileState: 'ReconcileState',
  /** Drift findings for the review tab and the next campaign: PartitionKey = group id, RowKey = user|kind|day. */
  driftFindings: 'DriftFindings',
  /**
   * The last access catalog that loaded (its YAML text, file name and stamp), so a host whose catalog file is
   * broken still serves existing requests, revocations and digests on it, even on a cold start.
   */
  catalogSnapshots: 'CatalogSnapshots',
  /** Access-review campaigns (RowKey `campaign`) and their scope in chunks (`scope-NNNNN`); see review.store.ts. */
  reviewCampaigns: 'ReviewCampaigns',
  /** Access-review items: PartitionKey = campaign id, RowKey = `${groupId}:${userId}`. */
  reviewItems: 'ReviewItems',
  /** The reviewer index: PartitionKey = `${campaignId}|${personId}`, RowKey = item id. */
  reviewAssignments: 'ReviewAssignments',
  /** The outbox of review notices (assigned, reminder, delegated, guard held, sign-off requested). */
  reviewNotices: 'ReviewNotices',
  /** The evidence e-mail's delivery record per period (PartitionKey `period`, RowKey the period's end). */
  evidenceMail: 'EvidenceMail',
  /** The local host's own probe row, written at start-up to prove storage answers. */
  hostProbe: 'AttestHostProbe',
} as const;
