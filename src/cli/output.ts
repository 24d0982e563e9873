/**
 * How the CLI prints: `--json` gives one JSON document per result (one per line for `watch`),
 * for scripts; otherwise plain text, with colour only when the stream is a terminal that takes
 * colour (Node's `hasColors`: TERM not dumb, NO_COLOR unset, FORCE_COLOR honoured), so piped
 * output never carries escape codes.
 */
import { styleText } from 'node:util';
import type { components } from '../client/api-types.ts';

export type Stat = components['schemas']['Stat'];

type Style = Parameters<typeof styleText>[0];

export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {}

  private colour(stream: NodeJS.WriteStream): boolean {
    return stream.isTTY === true && stream.hasColors();
  }

  private paint(stream: NodeJS.WriteStream, style: Style, text: string): string {
    // styleText would check process.stdout, not the stream written to: it is checked above.
    return this.colour(stream) ? styleText(style, text, { validateStream: false }) : text;
  }

  line(text: string): void {
    this.stdout.write(`${text}\n`);
  }

  bytes(data: Uint8Array): void {
    this.stdout.write(data);
    // A terminal prompt should not end up glued to the data.
    if (this.stdout.isTTY && data.at(-1) !== 0x0a) this.stdout.write('\n');
  }

  /** A result for scripts: one JSON document on one line. */
  data(value: unknown): void {
    this.line(JSON.stringify(value));
  }

  /** zkCli's stat listing, `name = value` per line; times readable on a terminal. */
  stat(stat: Stat): void {
    const width = Math.max(...Object.keys(stat).map((k) => k.length));
    for (const [key, value] of Object.entries(stat)) {
      const shown = (key === 'ctime' || key === 'mtime') && this.colour(this.stdout) ? new Date(value as number).toISOString() : String(value);
      this.line(`${this.paint(this.stdout, 'bold', key.padEnd(width))} = ${shown}`);
    }
  }

  /** A table for humans: columns padded, the header bold on a terminal. */
  table(header: readonly string[], rows: readonly (readonly string[])[]): void {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const format = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    this.line(this.paint(this.stdout, 'bold', format(header)));
    for (const row of rows) this.line(format(row));
  }

  /** A one-line error on stderr: `Error: NONODE (-101): message`. */
  error(text: string): void {
    this.stderr.write(`${this.paint(this.stderr, 'red', 'Error:')} ${text}\n`);
  }

  /** A note for humans (stderr, so stdout stays the result). */
  note(text: string): void {
    this.stderr.write(`${this.paint(this.stderr, 'dim', text)}\n`);
  }
}
