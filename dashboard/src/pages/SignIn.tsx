import { Alert, Button, Center, Divider, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { FormEvent } from 'react';
import { ApiError, apiPost } from '../api';
import type { Session } from '../session';
import { useSession } from '../session';

const OIDC_START = '/dashboard/api/auth/oidc/start';

/** Whether single sign-on is configured: its start answers with a redirect to the provider. */
function useSsoAvailable(): boolean {
  const [available, setAvailable] = useState(false);
  useEffect(() => {
    fetch(OIDC_START, { redirect: 'manual', credentials: 'same-origin' }).then(
      (response) => setAvailable(response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400)),
      () => setAvailable(false),
    );
  }, []);
  return available;
}

export function SignInPage() {
  const { signedIn } = useSession();
  const sso = useSsoAvailable();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState<string | null>(null);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      signedIn(await apiPost<Session>('/auth/login', { email, password, ...(totp ? { totp_code: totp } : {}) }));
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === 'dashboard_totp_required') setTotp('');
      else setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={380}>
        <form onSubmit={(event) => void submit(event)}>
          <Stack>
            <Title order={1} size="h3">
              Sign in to Payrail
            </Title>
            {error !== undefined && (
              <Alert color="red" role="alert">
                {error}
              </Alert>
            )}
            <TextInput label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} />
            <PasswordInput label="Password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
            {totp !== null && (
              <TextInput
                label="Authentication code"
                description="The 6-digit code from your authenticator app"
                inputMode="numeric"
                autoComplete="one-time-code"
                required
                autoFocus
                value={totp}
                onChange={(e) => setTotp(e.currentTarget.value)}
              />
            )}
            <Button type="submit" loading={busy}>
              Sign in
            </Button>
            {sso && (
              <>
                <Divider label="or" labelPosition="center" />
                <Button component="a" href={OIDC_START} variant="default">
                  Sign in with SSO
                </Button>
              </>
            )}
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
