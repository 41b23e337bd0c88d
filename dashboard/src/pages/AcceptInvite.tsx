import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { useNavigate, useParams } from 'react-router';
import { apiPost } from '../api';
import type { Session } from '../session';
import { useSession } from '../session';

/** The server's minimum (src/services/dashboard/auth/passwords.ts); checked here too so the form says it first. */
const MIN_PASSWORD_LENGTH = 10;

/** Where an invite link lands: the person invited chooses a password, and accepting signs them in. */
export function AcceptInvitePage() {
  const { token = '' } = useParams();
  const { signedIn } = useSession();
  const navigate = useNavigate();
  const [password, setPassword] = useState('');
  const [confirmation, setConfirmation] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const tooShort = password.length > 0 && password.length < MIN_PASSWORD_LENGTH;
  const mismatch = confirmation.length > 0 && confirmation !== password;

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (password.length < MIN_PASSWORD_LENGTH || password !== confirmation) return;
    setBusy(true);
    setError(undefined);
    try {
      const session = await apiPost<Session>(`/invites/${encodeURIComponent(token)}/accept`, { password });
      signedIn(session);
      navigate('/', { replace: true });
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
      setBusy(false);
    }
  }

  return (
    <Center mih="100vh" p="md">
      <Paper withBorder shadow="sm" p="xl" w="100%" maw={380}>
        <form onSubmit={(event) => void submit(event)}>
          <Stack>
            <Title order={1} size="h3">
              Join Payrail
            </Title>
            <Text size="sm">Choose a password of at least {MIN_PASSWORD_LENGTH} characters. You will sign in with it and your email.</Text>
            {error !== undefined && (
              <Alert color="red" role="alert">
                {error}
              </Alert>
            )}
            <PasswordInput
              label="New password"
              autoComplete="new-password"
              required
              minLength={MIN_PASSWORD_LENGTH}
              value={password}
              error={tooShort ? `At least ${MIN_PASSWORD_LENGTH} characters.` : undefined}
              onChange={(e) => setPassword(e.currentTarget.value)}
            />
            <PasswordInput
              label="Confirm password"
              autoComplete="new-password"
              required
              value={confirmation}
              error={mismatch ? 'The passwords differ.' : undefined}
              onChange={(e) => setConfirmation(e.currentTarget.value)}
            />
            <Button type="submit" loading={busy} disabled={password.length < MIN_PASSWORD_LENGTH || password !== confirmation}>
              Set password and sign in
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
