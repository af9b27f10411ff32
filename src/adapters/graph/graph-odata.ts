/**
 * Escaping for OData query options sent to Microsoft Graph. NB. The Graph client copies `.filter()` and
 * `.query()` values into the URL verbatim, so a value with `&`, `#` or `+` would end the option, start a
 * fragment or turn into a space unless it is encoded here first.
 */

/** An OData string literal: single-quoted, with each quote inside doubled (`O'Brien` → `'O''Brien'`). */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A whole query option value (e.g. a `$filter` expression) percent-encoded for the query string. */
export function odataQueryValue(expression: string): string {
  return encodeURIComponent(expression);
}

/** `startswith(property,'value')`, escaped and encoded, ready for `.filter()`. */
export function startsWithFilter(property: string, value: string): string {
  return odataQueryValue(`startswith(${property},${odataString(value)})`);
}
