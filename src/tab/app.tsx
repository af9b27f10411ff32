/**
 * The dashboard shell: the signed-in caller, the five views as tabs, and the Fluent theme Teams (or the
 * `?theme=` query) asks for. What a caller may do is decided on the server; the shell only hides buttons an
 * auditor could not use anyway.
 */
import { useEffect, useState, type ReactElement } from 'react';
import {
  Badge,
  FluentProvider,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Spinner,
  Tab,
  TabList,
  Text,
  makeStyles,
  teamsHighContrastTheme,
  tokens,
  webDarkTheme,
  webLightTheme,
} from '@fluentui/react-components';
import type { TabMe } from '../ports/tab-api.port';
import { ApiError, type Api } from './api';
import type { TabHost, ThemeName } from './host';
import { SessionContext } from './session';
import { MyReviews } from './views/my-reviews';
import { Campaigns } from './views/campaigns';
import { WhoHasAccess } from './views/who-has-access';
import { AuditTrailView } from './views/audit-trail';
import { Evidence } from './views/evidence';

const THEMES = { light: webLightTheme, dark: webDarkTheme, contrast: teamsHighContrastTheme } as const;

const VIEWS = {
  reviews: 'My reviews',
  campaigns: 'Campaigns',
  access: 'Who has access',
  audit: 'Audit trail',
  evidence: 'Evidence',
} as const;
type ViewId = keyof typeof VIEWS;

const useStyles = makeStyles({
  shell: {
    minHeight: '100vh',
    backgroundColor: tokens.colorNeutralBackground2,
    color: tokens.colorNeutralForeground1,
  },
  header: {
    display: 'flex',
    alignItems: 'center',
    gap: tokens.spacingHorizontalM,
    padding: `${tokens.spacingVerticalM} ${tokens.spacingHorizontalL}`,
    backgroundColor: tokens.colorNeutralBackground1,
    borderBottom: `1px solid ${tokens.colorNeutralStroke2}`,
  },
  title: { fontWeight: tokens.fontWeightSemibold, fontSize: tokens.fontSizeBase500 },
  who: { marginLeft: 'auto', display: 'flex', gap: tokens.spacingHorizontalS, alignItems: 'center' },
  main: { padding: tokens.spacingHorizontalL },
});

function initialView(): ViewId {
  const v = new URLSearchParams(location.search).get('view');
  return v && v in VIEWS ? (v as ViewId) : 'reviews';
}

/** The dashboard. */
export function App({ host, api }: { host: TabHost; api: Api }): ReactElement {
  const [theme, setTheme] = useState<ThemeName>(host.theme);
  const [me, setMe] = useState<TabMe>();
  const [problem, setProblem] = useState<ApiError>();
  const [view, setView] = useState<ViewId>(initialView);
  const styles = useStyles();

  useEffect(() => host.onThemeChange(setTheme), [host]);
  useEffect(() => {
    api.get<TabMe>('me').then(setMe, (err: ApiError) => setProblem(err));
  }, [api]);

  let body: ReactElement;
  if (problem) {
    body = (
      <MessageBar intent="error">
        <MessageBarBody>
          <MessageBarTitle>
            {problem.status === 401 ? 'Not signed in' : 'Attest cannot show this'}
          </MessageBarTitle>
          {problem.message}
        </MessageBarBody>
      </MessageBar>
    );
  } else if (!me) {
    body = <Spinner label="Signing in…" />;
  } else {
    body = (
      <SessionContext.Provider value={{ api, me, signInAgain: () => host.signInAgain() }}>
        {view === 'reviews' && <MyReviews />}
        {view === 'campaigns' && <Campaigns />}
        {view === 'access' && <WhoHasAccess />}
        {view === 'audit' && <AuditTrailView />}
        {view === 'evidence' && <Evidence />}
      </SessionContext.Provider>
    );
  }

  return (
    <FluentProvider theme={THEMES[theme]}>
      <div className={styles.shell}>
        <header className={styles.header}>
          <Text as="h1" className={styles.title}>
            Attest
          </Text>
          <nav aria-label="Views">
            <TabList selectedValue={view} onTabSelect={(_, d) => setView(d.value as ViewId)}>
              {(Object.keys(VIEWS) as ViewId[]).map((id) => (
                <Tab key={id} value={id}>
                  {VIEWS[id]}
                </Tab>
              ))}
            </TabList>
          </nav>
          {me && (
            <div className={styles.who}>
              <Text>{me.displayName ?? me.upn ?? me.objectId}</Text>
              <Badge appearance="tint" color={me.role === 'admin' ? 'brand' : 'informative'}>
                {me.role === 'member' ? 'reviewer' : me.role}
              </Badge>
            </div>
          )}
        </header>
        <main className={styles.main}>{body}</main>
      </div>
    </FluentProvider>
  );
}
