import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { ApiError, apiGet, apiPost, setCsrfToken } from './api';

export type DashboardPermission =
  'payments.read' | 'payments.write' | 'balances.read' | 'customers.read' | 'developers.read' | 'developers.write' | 'users.manage' | 'audit.read';

export interface Session {
  user: { id: string; email: string; role: string; merchant_id: string; totp_enabled: boolean };
  permissions: DashboardPermission[];
  csrf_token: string;
}

interface SessionState {
  /** undefined while the first GET /session is in flight; null when signed out. */
  session: Session | null | undefined;
  signedIn(session: Session): void;
  signOut(): Promise<void>;
  can(permission: DashboardPermission): boolean;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);

  const signedIn = useCallback((next: Session) => {
    setCsrfToken(next.csrf_token);
    setSession(next);
  }, []);

  useEffect(() => {
    apiGet<Session>('/session').then(signedIn, (error: unknown) => {
      if (!(error instanceof ApiError && error.status === 401)) console.error(error);
      setSession(null);
    });
  }, [signedIn]);

  const signOut = useCallback(async () => {
    await apiPost('/auth/logout').catch(() => undefined);
    setCsrfToken(null);
    setSession(null);
  }, []);

  const can = useCallback((permission: DashboardPermission) => session?.permissions.includes(permission) ?? false, [session]);

  return <SessionContext.Provider value={{ session, signedIn, signOut, can }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (state === null) throw new Error('useSession outside SessionProvider');
  return state;
}
