/**
 * The tree: search by path, nodes with their child counts, children listed when a node is
 * expanded. Keyboard, as the WAI-ARIA tree pattern: one tab stop (the roving tabindex sits on the
 * focused treeitem), Up/Down move, Right expands or enters the first child, Left collapses or goes
 * to the parent, Home/End jump, Enter opens.
 */
import { useEffect, useState } from 'preact/hooks';
import { join, parentOf } from './api.ts';
import { useObservable } from './observable.ts';
import type { TreeModel } from './tree-model.ts';

interface Props {
  tree: TreeModel;
  selected: string;
  onOpen: (path: string) => void;
}

/** The shown nodes in order: what the arrow keys walk. */
function visible(tree: TreeModel, path = '/', out: string[] = []): string[] {
  out.push(path);
  const entry = tree.entry(path);
  if (entry?.expanded) for (const name of entry.children ?? []) visible(tree, join(path, name), out);
  return out;
}

const itemId = (path: string): string => `node-${path}`;

export function TreeView({ tree, selected, onOpen }: Props) {
  useObservable(tree);
  const [search, setSearch] = useState('');
  const [focused, setFocused] = useState(selected);
  // Opening a node elsewhere (search, a link, Back) moves the tree's tab stop to it.
  useEffect(() => setFocused(selected), [selected]);

  const order = visible(tree);
  // The tab stop must be a shown node, or Tab could never reach the tree (e.g. after a delete).
  const focus = order.includes(focused) ? focused : order.includes(selected) ? selected : '/';

  const find = (e: Event) => {
    e.preventDefault();
    const path = search.trim() === '' ? '/' : `/${search.trim().replace(/^\/+/, '').replace(/\/+$/, '')}`;
    void tree.reveal(path).then(() => onOpen(path));
  };

  const move = (path: string | undefined) => {
    if (path === undefined) return;
    setFocused(path);
    document.getElementById(itemId(path))?.focus();
  };

  const onKey = (e: KeyboardEvent) => {
    // Keys typed on a control inside the tree (e.g. "more children…") are that control's.
    if ((e.target as HTMLElement).getAttribute('role') !== 'treeitem') return;
    const at = order.indexOf(focus);
    const entry = tree.entry(focus);
    const expandable = entry?.stat?.numChildren !== 0;
    if (e.key === 'ArrowDown') move(order[at + 1]);
    else if (e.key === 'ArrowUp') move(order[at - 1]);
    else if (e.key === 'Home') move(order[0]);
    else if (e.key === 'End') move(order.at(-1));
    else if (e.key === 'ArrowRight') {
      if (entry?.expanded) move(entry.children?.[0] === undefined ? undefined : join(focus, entry.children[0]));
      else if (expandable) void tree.expand(focus);
    } else if (e.key === 'ArrowLeft') {
      if (entry?.expanded) tree.collapse(focus);
      else if (focus !== '/') move(parentOf(focus));
    } else if (e.key === 'Enter') onOpen(focus);
    else return;
    e.preventDefault();
  };

  const row = (path: string, name: string, depth: number) => {
    const entry = tree.entry(path);
    const count = entry?.stat?.numChildren;
    return (
      <li role="treeitem" id={itemId(path)} tabIndex={path === focus ? 0 : -1} aria-label={name}
        aria-expanded={count ? entry?.expanded ?? false : undefined} aria-selected={path === selected} aria-level={depth + 1} key={path}
        onFocus={(e) => { if (e.target === e.currentTarget) setFocused(path); }}>
        <div class={`row${path === selected ? ' selected' : ''}`} style={{ paddingLeft: `${depth * 14 + 4}px` }}>
          {count ? (
            <button type="button" class="twisty" tabIndex={-1} aria-label={`${entry?.expanded ? 'Collapse' : 'Expand'} ${path}`}
              onClick={() => (entry?.expanded ? tree.collapse(path) : void tree.expand(path))}>{entry?.expanded ? '▾' : '▸'}</button>
          ) : <span class="twisty" aria-hidden="true" />}
          {/* The mouse's way in; the keyboard's is the treeitem itself (one tab stop for the tree). */}
          <a href={`#${path.split('/').map(encodeURIComponent).join('/')}`} tabIndex={-1} onClick={() => setFocused(path)} data-path={path}>{name}</a>
          {count !== undefined && <span class="count" title="children (Stat numChildren)">{count}</span>}
          {entry?.stat && entry.stat.ephemeralOwner !== '0' && <span class="tag" title={`ephemeral, session ${entry.stat.ephemeralOwner}`}>eph</span>}
          {entry?.error && <span class="error-text" role="alert">{entry.error}</span>}
        </div>
        {entry?.expanded && (
          <ul role="group">
            {(entry.children ?? []).map((child) => row(join(path, child), child, depth + 1))}
            {entry.more && <li role="none"><button type="button" class="more" onClick={() => void tree.loadMore(path)}>more children…</button></li>}
          </ul>
        )}
      </li>
    );
  };

  return (
    <div class="tree">
      <form role="search" onSubmit={find} class="search">
        <label for="tree-search">Go to path</label>
        <input id="tree-search" type="search" placeholder="/app/config" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        <button type="submit">Go</button>
      </form>
      <ul role="tree" aria-label="Znodes" onKeyDown={onKey}>{row('/', '/', 0)}</ul>
    </div>
  );
}
