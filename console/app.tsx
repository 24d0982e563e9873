/**
 * The console's frame: header (live status, log-in), the tree on the left, the open node in the
 * middle, and panels (events, sessions, cluster, metrics) beside it. The open node is the URL's
 * hash (`#/app/config`), so links, Back and reloads keep it.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ClusterPanel } from './cluster-panel.tsx';
import { EventsPanel } from './events-panel.tsx';
import { LiveFeed } from './live-feed.ts';
import { LoginForm } from './login-form.tsx';
import { restoredLogin, applyLogin, type Login } from './login.ts';
import { MetricsPanel } from './metrics-panel.tsx';
import { NodePanel } from './node-panel.tsx';
import { useObservable } from './observable.ts';
import { SessionsPanel } from './sessions-panel.tsx';
import { onTablistKey } from './tablist-keys.ts';
import { TreeModel } from './tree-model.ts';
import { TreeView } from './tree-view.tsx';

const PANELS = ['events', 'sessions', 'cluster', 'metrics'] as const;
type Panel = (typeof PANELS)[number];

const pathOfHash = (): string => {
  const raw = decodeURIComponent(location.hash.replace(/^#/, ''));
  return raw.startsWith('/') ? raw : '/';
};

export function openNode(path: string): void {
  location.hash = path.split('/').map(encodeURIComponent).join('/');
}

export function App() {
  // The login is applied as it is set, not in an effect: the children's effects (which read with
  // it, e.g. the open node's) run before their parent's.
  const [login, setLogin] = useState<Login | undefined>(() => {
    const restored = restoredLogin();
    applyLogin(restored);
    return restored;
  });
  const changeLogin = (next: Login | undefined) => {
    applyLogin(next);
    setLogin(next);
  };
  const [selected, setSelected] = useState(pathOfHash);
  const [panel, setPanel] = useState<Panel>('events');
  const feed = useMemo(() => new LiveFeed(), []);
  const tree = useMemo(() => new TreeModel(), []);
  useObservable(feed);

  useEffect(() => {
    const onHash = () => setSelected(pathOfHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  // A new identity sees a different tree: the stream and the views start over with it.
  useEffect(() => {
    void feed.restart();
    void tree.reloadAll().then(() => tree.expand('/'));
    return () => void feed.stop();
  }, [login]);

  useEffect(() => {
    const offEvent = feed.onEvent((event) => tree.apply(event));
    const offReset = feed.onReset(() => void tree.reloadAll());
    return () => {
      offEvent();
      offReset();
    };
  }, []);

  return (
    <div class="console">
      <header class="bar">
        <h1>Corral console</h1>
        <p class={`live live-${feed.status}`} role="status" aria-live="polite" data-testid="live-status">
          {feed.status === 'live' ? 'live' : feed.status}{feed.detail && feed.status !== 'live' ? ` — ${feed.detail}` : ''}
        </p>
        <LoginForm login={login} onLogin={changeLogin} />
      </header>
      {feed.resetNotice && (
        <div class="notice" role="alert" data-testid="reset-notice">
          {feed.resetNotice} <button type="button" onClick={() => feed.dismissReset()}>Dismiss</button>
        </div>
      )}
      <main class="layout">
        <nav class="tree-pane" aria-label="Znode tree">
          <TreeView tree={tree} selected={selected} onOpen={openNode} />
        </nav>
        <section class="node-pane" aria-label="Open znode">
          {/* Keyed by the identity: a log-in or log-out reads the open node again as the new caller. */}
          <NodePanel key={login?.authorization ?? ''} path={selected} feed={feed} tree={tree} onOpen={openNode} />
        </section>
        <aside class="side-pane" aria-label="Node status">
          <div role="tablist" aria-label="Panels" class="tabs" onKeyDown={onTablistKey}>
            {PANELS.map((name) => (
              <button type="button" role="tab" id={`tab-${name}`} aria-selected={panel === name} aria-controls={`panel-${name}`}
                tabIndex={panel === name ? 0 : -1} onClick={() => setPanel(name)}>
                {name[0]!.toUpperCase() + name.slice(1)}
              </button>
            ))}
          </div>
          <div role="tabpanel" id={`panel-${panel}`} aria-labelledby={`tab-${panel}`}>
            {panel === 'events' && <EventsPanel feed={feed} onOpen={openNode} />}
            {panel === 'sessions' && <SessionsPanel tree={tree} onOpen={openNode} />}
            {panel === 'cluster' && <ClusterPanel />}
            {panel === 'metrics' && <MetricsPanel />}
          </div>
        </aside>
      </main>
    </div>
  );
}
