/**
 * The one retry policy for activities (CONVENTIONS §4): five attempts, 2 s then doubling, at most a minute
 * apart. Activities are idempotent, so a retry after a partial failure converges.
 */
import * as df from 'durable-functions';

/** Retry options every orchestration uses with callActivityWithRetry. */
export function activityRetry(): df.RetryOptions {
  const options = new df.RetryOptions(2000, 5);
  options.backoffCoefficient = 2;
  options.maxRetryIntervalInMilliseconds = 60_000;
  return options;
}
