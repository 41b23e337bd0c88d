import { Alert, Button, Code, CopyButton, Group, Modal, NativeSelect, Select, Stack, Text, TextInput } from '@mantine/core';
import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import { apiPost } from '../../api';
import { DataTable } from '../../components/DataTable';
import { ErrorNote } from '../../components/ErrorNote';
import { formatTime } from '../../format';
import { useApi } from '../../hooks';
import { useSession } from '../../session';

interface ApiKey {
  id: string;
  kind: string;
  name: string | null;
  last4?: string;
  redacted?: string;
  created: number;
  expires_at: number | null;
  restricted_permissions: Record<string, string> | null;
}

/** The resources most keys are restricted to; the server validates the names and knows more. */
const GRANTABLE = ['payment_intents', 'refunds', 'charges', 'customers', 'payment_methods', 'balance', 'payouts', 'webhook_endpoints', 'events'];

type Access = 'none' | 'read' | 'write';

const ROLL_EXPIRIES = [
  { value: '0', label: 'Now' },
  { value: '3600', label: 'In 1 hour' },
  { value: '86400', label: 'In 24 hours' },
  { value: '604800', label: 'In 7 days' },
];

export function ApiKeysPanel() {
  const { can } = useSession();
  const keys = useApi<{ data: ApiKey[] }>('/developers/api_keys');
  const [secret, setSecret] = useState<{ title: string; value: string } | null>(null);
  const [creating, setCreating] = useState(false);
  const [rolling, setRolling] = useState<ApiKey | null>(null);
  const writable = can('developers.write');

  const column = createColumnHelper<ApiKey>();
  const columns = [
    column.accessor('name', { header: 'Name', cell: (c) => c.getValue() ?? c.row.original.kind }),
    column.accessor('kind', { header: 'Type' }),
    column.accessor('redacted', { header: 'Key', cell: (c) => <Code>{c.getValue() ?? `…${c.row.original.last4 ?? ''}`}</Code> }),
    column.accessor('created', { header: 'Created', cell: (c) => formatTime(c.getValue()) }),
    column.accessor('expires_at', { header: 'Expires', cell: (c) => (c.getValue() ? formatTime(c.getValue()!) : 'Never') }),
    column.display({
      id: 'actions',
      header: 'Actions',
      cell: (c) =>
        writable && c.row.original.kind !== 'publishable' ? (
          <Button size="xs" variant="default" onClick={() => setRolling(c.row.original)} aria-label={`Roll key ${c.row.original.name ?? c.row.original.id}`}>
            Roll key
          </Button>
        ) : null,
    }),
  ];

  return (
    <Stack>
      {writable && (
        <Group>
          <Button onClick={() => setCreating(true)}>Create restricted key</Button>
        </Group>
      )}
      <ErrorNote error={keys.error} />
      <DataTable caption="API keys" data={keys.data?.data ?? []} columns={columns} />
      {creating && (
        <CreateKeyModal
          onClose={() => setCreating(false)}
          onCreated={(value) => {
            setCreating(false);
            setSecret({ title: 'Your new restricted key', value });
            keys.reload();
          }}
        />
      )}
      {rolling && (
        <RollKeyModal
          apiKey={rolling}
          onClose={() => setRolling(null)}
          onRolled={(value) => {
            setRolling(null);
            setSecret({ title: 'Your new key', value });
            keys.reload();
          }}
        />
      )}
      {secret && (
        <Modal opened onClose={() => setSecret(null)} title={secret.title} centered>
          <Stack>
            <Alert color="yellow">This key is shown only once. Copy it now and store it somewhere safe.</Alert>
            <Code block data-testid="revealed-secret" style={{ wordBreak: 'break-all' }}>
              {secret.value}
            </Code>
            <Group justify="flex-end">
              <CopyButton value={secret.value}>{({ copied, copy }) => <Button onClick={copy}>{copied ? 'Copied' : 'Copy key'}</Button>}</CopyButton>
              <Button variant="default" onClick={() => setSecret(null)}>
                Done
              </Button>
            </Group>
          </Stack>
        </Modal>
      )}
    </Stack>
  );
}

function CreateKeyModal({ onClose, onCreated }: { onClose(): void; onCreated(secret: string): void }) {
  const [name, setName] = useState('');
  const [access, setAccess] = useState<Record<string, Access>>({ payment_intents: 'write' });
  const [error, setError] = useState<string>();
  const permissions = Object.fromEntries(Object.entries(access).filter(([, level]) => level !== 'none'));
  async function create() {
    try {
      const answer = await apiPost<{ secret: string }>('/developers/api_keys', { name, permissions });
      onCreated(answer.secret);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  }
  return (
    <Modal opened onClose={onClose} title="Create restricted key" centered>
      <Stack>
        <TextInput label="Key name" required value={name} onChange={(e) => setName(e.currentTarget.value)} data-autofocus />
        <Text size="sm" fw={500}>
          Permissions
        </Text>
        {GRANTABLE.map((resource) => (
          <NativeSelect
            key={resource}
            label={resource}
            size="xs"
            data={['none', 'read', 'write']}
            value={access[resource] ?? 'none'}
            onChange={(e) => setAccess((current) => ({ ...current, [resource]: e.currentTarget.value as Access }))}
          />
        ))}
        <ErrorNote error={error} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Back
          </Button>
          <Button disabled={name.trim() === '' || Object.keys(permissions).length === 0} onClick={() => void create()}>
            Create key
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

function RollKeyModal({ apiKey, onClose, onRolled }: { apiKey: ApiKey; onClose(): void; onRolled(secret: string): void }) {
  const [expires, setExpires] = useState<string | null>('3600');
  const [error, setError] = useState<string>();
  async function roll() {
    try {
      const answer = await apiPost<{ secret: string }>(`/developers/api_keys/${encodeURIComponent(apiKey.id)}/roll`, { expires_in_s: Number(expires ?? 0) });
      onRolled(answer.secret);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  }
  return (
    <Modal opened onClose={onClose} title="Roll API key" centered>
      <Stack>
        <Text size="sm">A new key replaces this one. Requests with the old key keep working until it expires.</Text>
        <Select label="Old key expires" data={ROLL_EXPIRIES} value={expires} onChange={setExpires} allowDeselect={false} />
        <ErrorNote error={error} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Back
          </Button>
          <Button onClick={() => void roll()}>Roll key</Button>
        </Group>
      </Stack>
    </Modal>
  );
}
