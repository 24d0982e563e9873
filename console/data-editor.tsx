/**
 * A node's data in a chosen view (text, JSON, hex, base64), editable; saved with the version it
 * was read at, so a concurrent change fails with BADVERSION and the edit stays on screen.
 */
import { useState } from 'preact/hooks';
import { client, describeError, isCode, type NodeRead } from './api.ts';
import { defaultView, parse, show, VIEWS, type DataView } from './data-format.ts';

interface Props {
  path: string;
  node: NodeRead;
  onEditing: (editing: boolean) => void;
  onSaved: () => void;
}

export function DataEditor({ path, node, onEditing, onSaved }: Props) {
  const [view, setView] = useState<DataView>(() => defaultView(node.data));
  const shown = show(node.data, view);
  const [text, setText] = useState('text' in shown ? shown.text : '');
  const [dirty, setDirty] = useState(false);
  const [status, setStatus] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>();

  const switchView = (next: DataView) => {
    // The edit so far, as bytes, shown in the new view (or the stored bytes when it does not parse).
    const parsed = dirty ? parse(text, view) : { bytes: node.data };
    const bytes = 'bytes' in parsed ? parsed.bytes : node.data;
    const again = show(bytes, next);
    setView(next);
    setText('text' in again ? again.text : '');
  };

  const save = async (e: Event) => {
    e.preventDefault();
    const parsed = parse(text, view);
    if ('error' in parsed) return setStatus({ kind: 'error', text: parsed.error });
    try {
      await client.setData(path, parsed.bytes, { version: node.stat.version });
      setStatus({ kind: 'ok', text: 'saved' });
      setDirty(false);
      onEditing(false);
      onSaved();
    } catch (error) {
      const conflict = isCode(error, 'BADVERSION')
        ? `BADVERSION: the node changed since you loaded version ${node.stat.version}. Your edit was not saved and is kept here; reload to see the current data.`
        : describeError(error);
      setStatus({ kind: 'error', text: conflict });
    }
  };

  const viewError = 'error' in shown && !dirty ? shown.error : undefined;
  return (
    <form class="editor" onSubmit={save} aria-label={`Data of ${path}`}>
      <fieldset class="views">
        <legend>Show as</legend>
        {VIEWS.map((v) => (
          <label key={v}><input type="radio" name="view" value={v} checked={view === v} onChange={() => switchView(v)} /> {v}</label>
        ))}
      </fieldset>
      {viewError && <p class="error-text" role="alert">{viewError}</p>}
      <label for="data-text" class="sr-only">Data</label>
      <textarea id="data-text" data-testid="data-text" spellcheck={false} rows={14} value={text}
        onInput={(e) => {
          setText((e.target as HTMLTextAreaElement).value);
          setDirty(true);
          onEditing(true);
        }} />
      <div class="actions">
        <button type="submit" disabled={!dirty}>Save (version {node.stat.version})</button>
        <span class="hint">{node.stat.dataLength} bytes</span>
        {status && <span class={status.kind === 'ok' ? 'ok-text' : 'error-text'} role={status.kind === 'ok' ? 'status' : 'alert'} data-testid="save-status">{status.text}</span>}
      </div>
    </form>
  );
}
