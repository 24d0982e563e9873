/**
 * scripts/helm-render.ts: Helm's template rules for the subset the chart uses, and a refusal of
 * everything else (so the chart cannot outgrow what the test renders faithfully).
 */
import { describe, expect, it } from 'vitest';
import { renderTemplate, TemplateError, type RenderContext } from '../../scripts/helm-render.ts';

const context: RenderContext = {
  Values: { replicas: 3, name: 'corral', on: true, off: false, empty: [], list: [{ name: 'A', value: 'b' }], nested: { port: 8181 } },
  Release: { Name: 'rel', Namespace: 'ns', Service: 'Helm' },
  Chart: { Name: 'corral', Version: '0.1.0', AppVersion: '0.1.0' },
};
const render = (source: string) => renderTemplate(source, context);

describe('the Helm template subset renderer', () => {
  const cases = [
    ['a value', 'n: {{ .Values.nested.port }}', 'n: 8181'],
    ['the release', '{{ .Release.Name }}-headless.{{ .Release.Namespace }}', 'rel-headless.ns'],
    ['quote on a number (a piped value is the last argument)', 'v: {{ .Values.replicas | quote }}', 'v: "3"'],
    ['default for a false value', '{{ .Values.off | default "x" }}', 'x'],
    ['toYaml with indent, without its trailing newline', 'env:\n{{ toYaml .Values.list | indent 2 }}\nend', 'env:\n  - name: A\n    value: b\nend'],
    ['nindent', 'x:{{ .Values.nested | toYaml | nindent 2 }}', 'x:\n  port: 8181'],
    ['if on true', '{{ if .Values.on }}yes{{ else }}no{{ end }}', 'yes'],
    ['if on an empty list (false in Go)', '{{ if .Values.empty }}yes{{ else }}no{{ end }}', 'no'],
    ['if on a missing value', '{{ if .Values.absent }}yes{{ end }}.', '.'],
    ['trim markers on both sides', 'a\n  {{- if .Values.on }}\n  b\n{{- end }}\nc', 'a\n  b\nc'],
    ['a comment', 'a{{/* why */}}b', 'ab'],
  ] as const;

  it.each(cases)('renders %s', (_what, source, expected) => {
    expect(render(source)).toBe(expected);
  });

  const refused = [
    ['range', '{{ range .Values.list }}x{{ end }}'],
    ['include', '{{ include "corral.fullname" . }}'],
    ['a variable', '{{ $x := 1 }}'],
    ['an unknown function', '{{ .Values.name | upper }}'],
    ['a reference to a missing value', '{{ .Values.absent }}'],
    ['an unknown object', '{{ .Capabilities.KubeVersion }}'],
    ['a map printed as text', '{{ .Values.nested }}'],
    ['an if without end', '{{ if .Values.on }}x'],
  ] as const;

  it.each(refused)('refuses %s rather than render it differently from helm', (_what, source) => {
    expect(() => render(source)).toThrow(TemplateError);
  });
});
