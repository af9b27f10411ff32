/**
 * Where the tab runs and how it gets its token. In Teams, teams-js: `app.initialize()` then
 * `authentication.getAuthToken()`. Outside Teams teams-js never initialises (it waits for a parent frame that
 * never answers), so a short timeout decides, and the token comes through the local seam instead: the local
 * host's sign-in page (`/api/tab/auth/signin`, local mode only) hands it back in the URL fragment
 * (`#token=...`), and the tab keeps it in sessionStorage for the tab's lifetime.
 */

/** Fluent theme names the tab maps Teams' and the query's themes onto. */
export type ThemeName = 'light' | 'dark' | 'contrast';

/** The sessionStorage key of a locally issued token. */
export const LOCAL_TOKEN_KEY = 'attest.tab.token';

/** Where the local sign-in page is (served by the local host only). */
export const LOCAL_SIGN_IN = '/api/tab/auth/signin';

/** What the tab learned about its host at start-up. */
export interface TabHost {
  inTeams: boolean;
  theme: ThemeName;
  /** A fresh token for the tab API (Teams asks teams-js each time; it caches and renews). */
  token(): Promise<string>;
  /** Called when the API says the token is no longer good: local mode signs in again. */
  signInAgain(): void;
  onThemeChange(listener: (theme: ThemeName) => void): void;
}

function themeOf(name: string | undefined | null): ThemeName {
  if (name === 'dark') return 'dark';
  if (name === 'contrast' || name === 'highContrast') return 'contrast';
  return 'light';
}

type TeamsJs = typeof import('@microsoft/teams-js');

/**
 * teams-js once it initialised within `ms`, or undefined (it never does outside Teams). NB. loaded only when
 * framed: on load teams-js fetches its list of valid domains from a CDN, which a page outside Teams needs not.
 */
async function initialiseTeams(ms: number): Promise<TeamsJs | undefined> {
  // Not framed: certainly not in Teams (the web and desktop clients host tabs in an iframe or webview).
  if (window.parent === window && !/Teams/i.test(navigator.userAgent)) return undefined;
  try {
    const teams = await import('@microsoft/teams-js');
    await Promise.race([
      teams.app.initialize(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), ms)),
    ]);
    return teams;
  } catch {
    return undefined;
  }
}

function signInUrl(): string {
  const back = `${location.pathname}${location.search}`;
  return `${LOCAL_SIGN_IN}?returnTo=${encodeURIComponent(back)}`;
}

/** Finds out where the tab runs. */
export async function detectHost(): Promise<TabHost> {
  const query = new URLSearchParams(location.search);
  const teams = await initialiseTeams(1500);
  if (teams) {
    const { app, authentication } = teams;
    const context = await app.getContext();
    const listeners: ((t: ThemeName) => void)[] = [];
    app.registerOnThemeChangeHandler((t) => listeners.forEach((l) => l(themeOf(t))));
    return {
      inTeams: true,
      theme: themeOf(context.app.theme),
      token: () => authentication.getAuthToken(),
      signInAgain: () => undefined,
      onThemeChange: (l) => listeners.push(l),
    };
  }
  // The local sign-in page came back with the token in the fragment: keep it, and take it out of the address bar.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get('token') ?? fragment.get('access_token');
  if (given) {
    sessionStorage.setItem(LOCAL_TOKEN_KEY, given);
    history.replaceState(null, '', `${location.pathname}${location.search}`);
  }
  return {
    inTeams: false,
    theme: themeOf(query.get('theme')),
    async token() {
      const token = sessionStorage.getItem(LOCAL_TOKEN_KEY);
      // The sign-in page notes when its token ends: an ended one signs in again rather than failing each call.
      const endsAt = Number(sessionStorage.getItem(`${LOCAL_TOKEN_KEY}.expiresAt`) ?? Infinity);
      if (token && endsAt - Date.now() > 30_000) return token;
      location.assign(signInUrl());
      // Navigation is under way; nothing more to do in this page.
      return new Promise<string>(() => undefined);
    },
    signInAgain() {
      sessionStorage.removeItem(LOCAL_TOKEN_KEY);
      location.assign(signInUrl());
    },
    onThemeChange: () => undefined,
  };
}
