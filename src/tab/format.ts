/** Words for what the review model holds, as reviewers read them. */
import type { Recommendation, RecommendationReason, ReviewItem } from '../domain/review/review.model';

/** A date and time, short, in the reader's locale. */
export function when(iso: string | null | undefined): string {
  if (iso === undefined) return 'sign-in data unavailable';
  if (iso === null) return 'never';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** One reason in words. */
export function reasonText(r: RecommendationReason): string {
  switch (r.kind) {
    case 'inactive':
      return r.lastSignIn === null
        ? `Never signed in (threshold ${r.days} days)`
        : `No sign-in for ${r.days}+ days (last ${when(r.lastSignIn)})`;
    case 'outside-attest':
      return 'Added outside Attest (no grant or request behind it)';
    case 'not-eligible':
      return `No longer eligible for ${r.roleRef} under the catalog`;
    case 'account-disabled':
      return 'Account disabled';
  }
}

/** The recommendation and why, in one line. */
export function recommendationText(rec: Recommendation): string {
  const why = rec.reasons.map(reasonText);
  if (rec.signInUnavailable) why.push('sign-in data unavailable');
  const head = rec.value === 'none' ? 'No recommendation' : rec.value === 'keep' ? 'Keep' : 'Revoke';
  return why.length ? `${head}: ${why.join('; ')}` : head;
}

/** Where an item stands for its reviewer (`me`: their object id, to say where an item they handed on went). */
export function itemState(item: ReviewItem, me?: string): string {
  const handed = me && item.delegations.find((d) => d.stage === item.stage && d.from === me.toLowerCase());
  if (handed && !item.final) return `Handed on to ${handed.to} (${when(handed.at)})`;
  if (item.final)
    return `${item.final === 'keep' ? 'Kept' : 'Revoked'}${item.outcome ? ` (${item.outcome})` : ''}`;
  const last = item.decisions[item.decisions.length - 1];
  if (last && last.stage === item.stage) return last.decision === 'keep' ? 'Kept' : 'Revoked';
  return `Pending (stage ${item.stage})`;
}
