import { TabAuthUnavailableError, TabTokenError } from '../../../src/adapters/tab-auth/tab-token.errors';
import { DomainError } from '../../../src/domain/domain-error';
import { forbidden, tabErrorResponse, unauthorized } from '../../../src/functions/tab-route';

const headers = (h: unknown) => h as Record<string, string>;

describe('what a tab route answers when something is refused', () => {
  test.each([
    ['REVIEW.NOT_FOUND', 404],
    ['REVIEW.INVALID', 400],
    ['REVIEW.CLOSED', 409],
    ['REVIEW.CONFLICT', 409],
  ])('%s is %i with its sentence and code', (code, status) => {
    const answer = tabErrorResponse(new DomainError(code, 'Campaign c-1 has no item i-9.'));
    expect(answer.status).toBe(status);
    expect(answer.jsonBody).toEqual({ error: 'Campaign c-1 has no item i-9.', code });
    expect(headers(answer.headers)['cache-control']).toBe('no-store');
  });

  test('REVIEW.FORBIDDEN is a 403 that says why, in the body and the challenge', () => {
    const why = 'Auditors see every review but change nothing: ask an Attest admin.';
    const answer = tabErrorResponse(new DomainError('REVIEW.FORBIDDEN', why));
    expect(answer).toEqual(forbidden(why));
    expect(answer.status).toBe(403);
    expect(answer.jsonBody).toEqual({ error: why, code: 'REVIEW.FORBIDDEN' });
    expect(headers(answer.headers)['www-authenticate']).toBe(
      `Bearer realm="attest", error="insufficient_scope", error_description="${why}"`,
    );
  });

  test('a refused token is a 401 whose challenge cannot be broken by quotes in the reason', () => {
    const answer = unauthorized(new TabTokenError('TAB.TOKEN_ISSUER', 'Issued by "evil" \\ not Entra.'));
    expect(answer.status).toBe(401);
    expect(headers(answer.headers)['www-authenticate']).toBe(
      `Bearer realm="attest", error="invalid_token", error_description="Issued by 'evil' ' not Entra."`,
    );
    expect(tabErrorResponse(new TabTokenError('TAB.NO_TOKEN', 'No bearer token.'))).toMatchObject({
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="attest"' },
    });
  });

  test('an unavailable directory or key endpoint is a 503 with Retry-After', () => {
    const answer = tabErrorResponse(new TabAuthUnavailableError('Try again in a minute.', 12));
    expect(answer.status).toBe(503);
    expect(headers(answer.headers)['retry-after']).toBe('12');
  });

  test('anything else is a 500 that shows no internals', () => {
    const answer = tabErrorResponse(new Error('ECONNRESET at socket 10.0.0.4'));
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.jsonBody)).not.toContain('ECONNRESET');
    expect(answer.jsonBody).toEqual({
      error: 'Attest failed to answer: an internal error, recorded in the host log.',
      code: 'TAB.INTERNAL',
    });
  });
});
