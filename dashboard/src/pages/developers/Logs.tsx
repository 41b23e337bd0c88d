import { Badge, Text } from '@mantine/core';
import { createColumnHelper } from '@tanstack/react-table';
import { CursorPager, DataTable } from '../../components/DataTable';
import { ErrorNote } from '../../components/ErrorNote';
import { formatTime } from '../../format';
import { useCursorList } from '../../hooks';

interface RequestRow {
  request_id: string;
  method: string;
  path: string;
  status: number;
  latency_ms: number;
  created: number;
  api_key_id: string | null;
}

interface EventRow {
  id: string;
  type: string;
  created: number;
}

const request = createColumnHelper<RequestRow>();
const REQUEST_COLUMNS = [
  request.accessor('status', { header: 'Status', cell: (c) => <Badge color={c.getValue() < 400 ? 'green' : 'red'}>{c.getValue()}</Badge> }),
  request.accessor('method', { header: 'Method' }),
  request.accessor('path', {
    header: 'Path',
    cell: (c) => (
      <Text size="sm" ff="monospace">
        {c.getValue()}
      </Text>
    ),
  }),
  request.accessor('latency_ms', { header: 'Latency', cell: (c) => `${c.getValue()} ms` }),
  request.accessor('created', { header: 'Time', cell: (c) => formatTime(c.getValue()) }),
  request.accessor('request_id', {
    header: 'Request ID',
    cell: (c) => (
      <Text size="xs" ff="monospace">
        {c.getValue()}
      </Text>
    ),
  }),
];

const event = createColumnHelper<EventRow>();
const EVENT_COLUMNS = [
  event.accessor('type', { header: 'Type' }),
  event.accessor('id', {
    header: 'ID',
    cell: (c) => (
      <Text size="xs" ff="monospace">
        {c.getValue()}
      </Text>
    ),
  }),
  event.accessor('created', { header: 'Time', cell: (c) => formatTime(c.getValue()) }),
];

export function RequestsPanel() {
  const list = useCursorList<RequestRow>('/developers/requests', { limit: 25 });
  return (
    <>
      <ErrorNote error={list.error} />
      <DataTable caption="Recent API requests" data={list.rows} columns={REQUEST_COLUMNS} empty="No API requests yet." />
      <CursorPager hasPrevious={list.hasPrevious} hasMore={list.hasMore} onPrevious={list.previous} onNext={list.next} />
    </>
  );
}

export function EventsPanel() {
  const list = useCursorList<EventRow>('/developers/events', { limit: 25 });
  return (
    <>
      <ErrorNote error={list.error} />
      <DataTable caption="Events" data={list.rows} columns={EVENT_COLUMNS} empty="No events yet." />
      <CursorPager hasPrevious={list.hasPrevious} hasMore={list.hasMore} onPrevious={list.previous} onNext={list.next} />
    </>
  );
}
