/**
 * The tab's entry point: finds out where it runs (Teams or the local host), then renders the dashboard in the
 * matching Fluent theme. Bundled by scripts/build-tab.mjs to dist/tab/.
 */
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { createApi } from './api';
import { detectHost } from './host';

async function start(): Promise<void> {
  const root = createRoot(document.getElementById('root') as HTMLElement);
  const host = await detectHost();
  root.render(<App host={host} api={createApi(host)} />);
}

void start();
