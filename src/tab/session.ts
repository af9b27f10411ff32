/** What every view needs: the API client and who is signed in. */
import { createContext, useContext } from 'react';
import type { TabMe } from '../ports/tab-api.port';
import type { Api } from './api';

/** The signed-in session. */
export interface Session {
  api: Api;
  me: TabMe;
  signInAgain(): void;
}

/** Provided by the shell once the caller is known. */
export const SessionContext = createContext<Session | undefined>(undefined);

/** The session; views render only inside the shell's provider. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the signed-in shell');
  return s;
}

/** Whether the caller may change things (auditors read only; the server refuses them anyway). */
export function canWrite(me: TabMe): boolean {
  return me.role !== 'auditor';
}
