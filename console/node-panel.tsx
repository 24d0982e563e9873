/**
 * The open node: its data (data-editor.tsx), Stat, ACL, and the create and delete actions. It
 * follows the live feed: a change by another client reloads it, unless the user is editing, who
 * is told instead (their edit is never overwritten, and saving it then fails with BADVERSION).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { AclPanel } from './acl-panel.tsx';
import { describeError, readNode, type NodeRead } from './api.ts';
import { CreateForm } from './create-form.tsx';
import { DataEditor } from './data-editor.tsx';
import { DeleteActions } from './delete-actions.tsx';
import type { LiveFeed } from './live-feed.ts';
import { StatTable } from './stat-table.tsx';
import { onTablistKey } from './tablist-keys.ts';
import type { TreeModel } from './tree-model.ts';

interface Props {
  path: string;
  feed: LiveFeed;
  tree: TreeModel;
  onOpen: (path: string) => void;
}

type Tab = 'data' | 'stat' | 'acl' | 'create';

export function NodePanel({ path, feed, tree, onOpen }: Props) {
  const [node, setNode] = useState<NodeRead | undefined>();
  const [error, setError] = useState('');
  const [tab, setTab] = useState<Tab>('data');
  const [remote, setRemote] = useState<string | undefined>();
  // A ref, not state: the feed's handler must see an edit from the keystroke on. State reached it
  // only once the effect re-subscribed after the next frame, and an event in between reloaded the
  // node over the edit.
  const editing = useRef(false);
  const setEditing = (value: boolean) => {
    editing.current = value;
  };

  const load = async () => {
    try {
      setNode(await readNode(path));
      setError('');
      setRemote(undefined);
    } catch (e) {
      setNode(undefined);
      setError(describeError(e));
    }
  };

  useEffect(() => {
    setNode(undefined);
    setEditing(false);
    void load();
  }, [path]);

  useEffect(() => feed.onEvent((event) => {
    if (event.path !== path) return;
    if (event.type === 'NodeDeleted') setRemote('deleted by another client');
    else if (editing.current) setRemote(`changed by another client (zxid ${event.zxid}): saving your edit will fail with BADVERSION; reload to see theirs`);
    else void load();
  }), [path]);
  // After a reset the events are gone: an edit is kept and told, anything else re-read.
  useEffect(() => feed.onReset(() => {
    if (editing.current) setRemote('perhaps changed by another client while the live stream was away: saving your edit checks the version; reload to see the current data');
    else void load();
  }), [path]);

  const tabs: Array<[Tab, string]> = [['data', 'Data'], ['stat', 'Stat'], ['acl', 'ACL'], ['create', 'Create child']];
  return (
    <div class="node">
      <div class="node-head">
        <h2 data-testid="node-path">{path}</h2>
        <button type="button" onClick={() => void load()}>Reload</button>
        {node && <DeleteActions path={path} version={node.stat.version} hasChildren={node.stat.numChildren > 0} onDeleted={(parent) => onOpen(parent)} />}
      </div>
      {remote && <p class="notice" role="alert" data-testid="remote-change">This node was {remote}.</p>}
      {error && <p class="error-text" role="alert" data-testid="node-error">{error}</p>}
      <div role="tablist" aria-label="Node views" class="tabs" onKeyDown={onTablistKey}>
        {tabs.map(([id, label]) => (
          <button type="button" role="tab" id={`node-tab-${id}`} aria-selected={tab === id} aria-controls={`node-panel-${id}`}
            tabIndex={tab === id ? 0 : -1} onClick={() => setTab(id)}>{label}</button>
        ))}
      </div>
      <div role="tabpanel" id={`node-panel-${tab}`} aria-labelledby={`node-tab-${tab}`}>
        {tab === 'data' && node && (
          <DataEditor key={`${path}@${node.stat.mzxid}`} path={path} node={node} onEditing={setEditing} onSaved={() => void load()} />
        )}
        {tab === 'stat' && node && <StatTable stat={node.stat} onOpen={onOpen} />}
        {tab === 'acl' && <AclPanel key={path} path={path} />}
        {tab === 'create' && <CreateForm parent={path} onCreated={(created) => void tree.reveal(created).then(() => onOpen(created))} />}
      </div>
    </div>
  );
}
