import { Alert, Badge, Button, Code, Group, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { QRCodeSVG } from 'qrcode.react';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { apiPost } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { useSession } from '../session';

interface Enrolment {
  secret: string;
  otpauth_url: string;
}

/** The signed-in user's own account: who they are, and turning on two-factor sign-in (TOTP). */
export function AccountPage() {
  const { session } = useSession();
  if (!session) return null;
  return (
    <Stack maw={560}>
      <Title order={2}>Account</Title>
      <Text>
        Signed in as <strong>{session.user.email}</strong> ({session.user.role}).
      </Text>
      <Paper withBorder p="md">
        <Stack>
          <Group justify="space-between">
            <Title order={3} size="h4">
              Two-factor sign-in
            </Title>
            <Badge color={session.user.totp_enabled ? 'green' : 'gray'} variant="light" autoContrast data-testid="totp-status">
              {session.user.totp_enabled ? 'On' : 'Off'}
            </Badge>
          </Group>
          {session.user.totp_enabled ? <Text size="sm">Signing in asks for a code from your authenticator app after your password.</Text> : <TotpEnrolment />}
        </Stack>
      </Paper>
    </Stack>
  );
}

function TotpEnrolment() {
  const { session, signedIn } = useSession();
  // Held in this component's state only (never storage) and dropped once enrolment ends.
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function start() {
    setBusy(true);
    setError(undefined);
    try {
      setEnrolment(await apiPost<Enrolment>('/auth/totp/setup'));
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  }

  async function confirm(event: FormEvent) {
    event.preventDefault();
    if (!session) return;
    setBusy(true);
    setError(undefined);
    try {
      await apiPost('/auth/totp/enable', { code: code.trim() });
      setEnrolment(null);
      signedIn({ ...session, user: { ...session.user, totp_enabled: true } });
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
      setBusy(false);
    }
  }

  if (enrolment === null) {
    return (
      <Stack align="flex-start">
        <Text size="sm">Add a code from an authenticator app to your password, so a stolen password alone cannot sign in.</Text>
        <ErrorNote error={error} />
        <Button onClick={() => void start()} loading={busy}>
          Set up two-factor sign-in
        </Button>
      </Stack>
    );
  }

  return (
    <form onSubmit={(event) => void confirm(event)}>
      <Stack>
        <Text size="sm">Scan this code with your authenticator app, then enter the 6-digit code it shows.</Text>
        <QRCodeSVG value={enrolment.otpauth_url} size={192} marginSize={4} title="QR code for your authenticator app" role="img" />
        <Text size="sm">Or type this key into the app:</Text>
        <Code block data-testid="totp-secret" style={{ wordBreak: 'break-all' }}>
          {enrolment.secret}
        </Code>
        <ErrorNote error={error} />
        <TextInput
          label="Authentication code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]{6}"
          maxLength={6}
          required
          value={code}
          onChange={(e) => setCode(e.currentTarget.value)}
        />
        <Alert color="blue" variant="light">
          Once on, two-factor sign-in cannot be turned off from here.
        </Alert>
        <Group>
          <Button type="submit" loading={busy}>
            Turn on
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
