import { Alert, Badge, Button, Code, CopyButton, Group, Modal, NativeSelect, Stack, Text, TextInput, Title } from '@mantine/core';
import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import type { FormEvent } from 'react';
import type { ListPage } from '../api';
import { apiPost } from '../api';
import { DataTable } from '../components/DataTable';
import { ErrorNote } from '../components/ErrorNote';
import { useApi } from '../hooks';

interface TeamMember {
  id: string;
  email: string;
  role: string;
  totp_enabled: boolean;
}

/** The server checks who may grant what (only an owner makes owners); the list is just the choices. */
const ROLES = ['owner', 'admin', 'developer', 'support', 'analyst'];

/** The merchant's dashboard users: invite someone, change a role. Needs `users.manage` (owners and admins). */
export function TeamPage() {
  const users = useApi<ListPage<TeamMember>>('/users');
  const [inviteUrl, setInviteUrl] = useState<string | null>(null);
  const [change, setChange] = useState<{ member: TeamMember; role: string } | null>(null);

  const column = createColumnHelper<TeamMember>();
  const columns = [
    column.accessor('email', { header: 'Email' }),
    column.accessor('role', {
      header: 'Role',
      cell: (c) => (
        <NativeSelect
          size="xs"
          aria-label={`Role of ${c.row.original.email}`}
          data={ROLES}
          value={c.getValue()}
          onChange={(e) => setChange({ member: c.row.original, role: e.currentTarget.value })}
        />
      ),
    }),
    column.accessor('totp_enabled', {
      header: 'Two-factor',
      cell: (c) => (
        <Badge color={c.getValue() ? 'green' : 'gray'} variant="light" autoContrast style={{ minWidth: 'max-content' }}>
          {c.getValue() ? 'On' : 'Off'}
        </Badge>
      ),
    }),
  ];

  return (
    <Stack>
      <Title order={2}>Team</Title>
      <InviteForm
        onInvited={(url) => {
          setInviteUrl(url);
          users.reload();
        }}
      />
      <ErrorNote error={users.error} />
      <DataTable caption="Team members" data={users.data?.data ?? []} columns={columns} />
      {inviteUrl !== null && <InviteLinkModal url={inviteUrl} onClose={() => setInviteUrl(null)} />}
      {change !== null && (
        <RoleChangeModal
          member={change.member}
          role={change.role}
          onClose={() => setChange(null)}
          onChanged={() => {
            setChange(null);
            users.reload();
          }}
        />
      )}
    </Stack>
  );
}

function InviteForm({ onInvited }: { onInvited(url: string): void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('developer');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const answer = await apiPost<{ invite_url: string }>('/users', { email, role });
      setEmail('');
      // Without PAYRAIL_PUBLIC_URL the server answers a path; the person invited needs the whole address.
      onInvited(new URL(answer.invite_url, window.location.origin).toString());
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={(event) => void submit(event)} aria-label="Invite a team member">
      <Stack gap="xs">
        <ErrorNote error={error} />
        <Group align="flex-end" wrap="wrap">
          <TextInput label="Email" type="email" required value={email} onChange={(e) => setEmail(e.currentTarget.value)} style={{ flex: '1 1 220px' }} />
          <NativeSelect label="Role" data={ROLES} value={role} onChange={(e) => setRole(e.currentTarget.value)} />
          <Button type="submit" loading={busy}>
            Invite
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function InviteLinkModal({ url, onClose }: { url: string; onClose(): void }) {
  return (
    <Modal opened onClose={onClose} title="Invite link" centered>
      <Stack>
        <Alert color="yellow">This link is shown only once and lets whoever opens it join for 7 days. Send it to the person you invited.</Alert>
        <Code block data-testid="invite-url" style={{ wordBreak: 'break-all' }}>
          {url}
        </Code>
        <Group justify="flex-end">
          <CopyButton value={url}>{({ copied, copy }) => <Button onClick={copy}>{copied ? 'Copied' : 'Copy link'}</Button>}</CopyButton>
          <Button variant="default" onClick={onClose}>
            Done
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function RoleChangeModal({ member, role, onClose, onChanged }: { member: TeamMember; role: string; onClose(): void; onChanged(): void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function confirm() {
    setBusy(true);
    try {
      await apiPost(`/users/${encodeURIComponent(member.id)}`, { role });
      onChanged();
    } catch (failure) {
      // The last owner cannot be demoted: the server's message says so.
      setError(failure instanceof Error ? failure.message : String(failure));
      setBusy(false);
    }
  }

  return (
    <Modal opened onClose={onClose} title="Change role" centered>
      <Stack>
        <Text size="sm">
          Change {member.email} from {member.role} to {role}? Their next request uses the new role.
        </Text>
        <ErrorNote error={error} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Back
          </Button>
          <Button onClick={() => void confirm()} loading={busy} disabled={error !== undefined}>
            Change role
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
