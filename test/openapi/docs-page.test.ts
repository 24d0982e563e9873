import { describe, expect, it } from 'vitest';
import { renderDocsPage } from '../../src/http/docs-page.ts';
import { loadSpecText, specOperations } from '../support/openapi.ts';

const hostile = `
openapi: 3.1.0
info:
  title: "<script>alert('title')</script>"
  version: "1 & 2"
  description: |
    Uses \`<b>code</b>\` and "quotes".
paths:
  /x/{id}:
    get:
      operationId: "evil<img src=x onerror=alert(1)>"
      summary: "<i>summary</i>"
      description: "a < b > c"
      parameters:
        - name: "<p>"
          in: query
          description: "</td></table><script>x</script>"
          schema:
            enum: ["<a>", "b&c"]
      responses:
        '200':
          description: "ok <em>"
          content:
            application/json:
              schema:
                type: object
                properties:
                  "<field>":
                    type: string
components:
  schemas:
    "<Bad>":
      description: "<svg onload=alert(1)>"
      type: object
`;

describe('renderDocsPage', () => {
  const page = renderDocsPage(loadSpecText());

  it('renders a section for every operation of openapi.yaml', () => {
    for (const op of specOperations()) {
      expect(page, op.operationId).toContain(`id="op-${op.operationId}"`);
      expect(page, op.operationId).toContain(`<code>${op.template}</code>`);
    }
  });

  it('renders the title, a table of contents and the schemas', () => {
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('<title>Corral HTTP API</title>');
    expect(page).toContain('<h2>Contents</h2>');
    expect(page).toContain('href="#op-getData"');
    expect(page).toContain('id="schema-Stat"');
    expect(page).toContain('<code>ephemeralOwner</code>');
  });

  it('loads nothing from the network', () => {
    expect(page).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|@import|url\(/i);
    expect(page).not.toMatch(/href="(?!#)/);
  });

  it('escapes every piece of text taken from the spec', () => {
    const html = renderDocsPage(hostile);
    for (const raw of ['<script', '<img', '<svg', '<b>code', '<i>summary', '<em>', '<field>', '<a>', '<Bad>', '<code><p>']) {
      expect(html).not.toContain(raw);
    }
    expect(html).toContain('&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;');
    expect(html).toContain('1 &amp; 2');
    expect(html).toContain('<code>&lt;b&gt;code&lt;/b&gt;</code>');
    expect(html).toContain('&lt;/td&gt;&lt;/table&gt;&lt;script&gt;x&lt;/script&gt;');
    expect(html).toContain('&quot;b&amp;c&quot;');
    expect(html).toContain('evil&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;svg onload=alert(1)&gt;');
  });

  it('keeps anchors free of markup', () => {
    const html = renderDocsPage(hostile);
    for (const id of html.matchAll(/id="([^"]*)"/g)) expect(id[1]).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});
