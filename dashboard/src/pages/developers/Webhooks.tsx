import { Badge, Button, Select, Stack, Text, Title } from '@mantine/core';
import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import { apiPost } from '../../api';
import { DataTable } from '../../components/DataTable';
import { ErrorNote } from '../../components/ErrorNote';
import { formatTime } from '../../format';
import { useApi } from '../../hooks';
import { useSession } from '../../session';

interface Endpoint {
  id: string;
  url: string;
  status?: string;
  enabled_events?: string[];
}

interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  status_code: number | null;
  at: number;
  next_retry_at: number | null;
}

function StatusCode({ code }: { code: number | null }) {
  if (code === null) return <Badge color="gray">no answer</Badge>;
  return <Badge color={code >= 200 && code < 300 ? 'green' : 'red'}>{code}</Badge>;
}

export function WebhooksPanel() {
  const endpoints = useApi<{ data: Endpoint[] }>('/developers/webhook_endpoints');
  const [chosen, setChosen] = useState<string | null>(null);
  const endpointId = chosen ?? endpoints.data?.data[0]?.id ?? null;

  return (
    <Stack>
      <ErrorNote error={endpoints.error} />
      {endpoints.data?.data.length === 0 && <Text c="gray.7">No webhook endpoints yet.</Text>}
      {(endpoints.data?.data.length ?? 0) > 0 && (
        <Select
          label="Endpoint"
          data={(endpoints.data?.data ?? []).map((e) => ({ value: e.id, label: e.url }))}
          value={endpointId}
          onChange={setChosen}
          allowDeselect={false}
          maw={520}
        />
      )}
      {endpointId !== null && <DeliveryLog endpointId={endpointId} />}
    </Stack>
  );
}

function DeliveryLog({ endpointId }: { endpointId: string }) {
  const { can } = useSession();
  const deliveries = useApi<{ data: Delivery[] }>(`/developers/webhook_endpoints/${encodeURIComponent(endpointId)}/deliveries`);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  async function resend(delivery: Delivery) {
    setError(undefined);
    try {
      await apiPost(`/developers/deliveries/${encodeURIComponent(delivery.id)}/resend`);
      setNotice('Resend queued: the new attempt appears below once it is sent.');
      // The webhooks worker sends it a moment later; look again a few times rather than leave the log stale.
      for (const wait_ms of [0, 500, 1000, 2000, 4000]) setTimeout(deliveries.reload, wait_ms);
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  }

  const column = createColumnHelper<Delivery>();
  const columns = [
    column.accessor('event_type', { header: 'Event' }),
    column.accessor('event_id', {
      header: 'Event ID',
      cell: (c) => (
        <Text size="xs" ff="monospace">
          {c.getValue()}
        </Text>
      ),
    }),
    column.accessor('attempt', { header: 'Attempt' }),
    column.accessor('status_code', { header: 'Response', cell: (c) => <StatusCode code={c.getValue()} /> }),
    column.accessor('at', { header: 'Sent', cell: (c) => formatTime(c.getValue()) }),
    column.accessor('next_retry_at', { header: 'Next retry', cell: (c) => (c.getValue() ? formatTime(c.getValue()!) : '—') }),
    column.display({
      id: 'resend',
      header: 'Actions',
      cell: (c) =>
        can('developers.write') ? (
          <Button
            size="xs"
            variant="default"
            onClick={() => void resend(c.row.original)}
            aria-label={`Resend ${c.row.original.event_type} attempt ${c.row.original.attempt}`}
          >
            Resend
          </Button>
        ) : null,
    }),
  ];

  return (
    <>
      <Title order={3} size="h5">
        Delivery log
      </Title>
      <ErrorNote error={deliveries.error ?? error} />
      {notice !== undefined && (
        <Text size="sm" role="status">
          {notice}
        </Text>
      )}
      <DataTable caption="Webhook deliveries" data={deliveries.data?.data ?? []} columns={columns} empty="No deliveries yet." />
    </>
  );
}
