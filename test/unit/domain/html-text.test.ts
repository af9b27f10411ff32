import { escapeHtml } from '../../../src/domain/html-text';

test('escapes the five characters HTML gives meaning to, and nothing else', () => {
  expect(escapeHtml(`<b onclick="x('y')">Tom & Jerry</b>`)).toBe(
    '&lt;b onclick=&quot;x(&#39;y&#39;)&quot;&gt;Tom &amp; Jerry&lt;/b&gt;',
  );
  expect(escapeHtml('Siobhán O’Brien, 19:abc@thread.tacv2')).toBe('Siobhán O’Brien, 19:abc@thread.tacv2');
  // Already-escaped text is escaped again: the input is text, never markup.
  expect(escapeHtml('&amp;')).toBe('&amp;amp;');
});
