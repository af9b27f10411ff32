/**
 * CSV injection (formula injection) defence, as the OWASP guidance gives it: a spreadsheet opening an export
 * runs any cell that starts with a formula trigger, so such a cell is prefixed with a single quote and shown
 * as text. Justifications, comments and names are typed by people, so every string cell goes through here.
 */

/** The characters that make a spreadsheet read a cell as a formula (or, for tab and CR, hide one). */
const FORMULA_TRIGGERS: ReadonlySet<string> = new Set(['=', '+', '-', '@', '\t', '\r']);

/**
 * `value`, prefixed with `'` when it starts with `=`, `+`, `-`, `@`, tab or carriage return; unchanged
 * otherwise. NB. the quote is part of the exported text: strip one leading `'` to get the recorded value back.
 */
export function neutraliseCell(value: string): string {
  return value.length > 0 && FORMULA_TRIGGERS.has(value[0]) ? `'${value}` : value;
}
