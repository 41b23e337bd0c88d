import { Anchor, Paper, Stack, Text, Title } from '@mantine/core';
import { createColumnHelper } from '@tanstack/react-table';
import { Link, useParams } from 'react-router';
import { CursorPager, DataTable } from '../components/DataTable';
import { ErrorNote } from '../components/ErrorNote';
import { formatTime } from '../format';
import { useApi, useCursorList } from '../hooks';

interface Customer {
  id: string;
  email: string | null;
  name: string | null;
  created: number;
}

interface PaymentMethod {
  id: string;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
}

const column = createColumnHelper<Customer>();
const COLUMNS = [
  column.accessor('email', {
    header: 'Email',
    cell: (c) => (
      <Anchor component={Link} to={`/customers/${c.row.original.id}`}>
        {c.getValue() ?? c.row.original.id}
      </Anchor>
    ),
  }),
  column.accessor('name', { header: 'Name', cell: (c) => c.getValue() ?? '—' }),
  column.accessor('created', { header: 'Created', cell: (c) => formatTime(c.getValue()) }),
];

const method = createColumnHelper<PaymentMethod>();
const METHOD_COLUMNS = [
  method.accessor('brand', { header: 'Brand' }),
  method.accessor('last4', { header: 'Number', cell: (c) => `•••• ${c.getValue()}` }),
  method.accessor('exp_month', { header: 'Expires', cell: (c) => `${String(c.getValue()).padStart(2, '0')}/${c.row.original.exp_year}` }),
];

export function CustomersPage() {
  const list = useCursorList<Customer>('/customers', { limit: 25 });
  return (
    <Stack>
      <Title order={2}>Customers</Title>
      <ErrorNote error={list.error} />
      <DataTable caption="Customers" data={list.rows} columns={COLUMNS} empty={list.loading ? 'Loading…' : 'No customers yet.'} />
      <CursorPager hasPrevious={list.hasPrevious} hasMore={list.hasMore} onPrevious={list.previous} onNext={list.next} />
    </Stack>
  );
}

export function CustomerPage() {
  const { id = '' } = useParams();
  const { data, error } = useApi<{ customer?: Customer; payment_methods?: PaymentMethod[] } & Partial<Customer>>(`/customers/${encodeURIComponent(id)}`);
  const customer = data?.customer ?? (data as Customer | undefined);
  return (
    <Stack>
      <Anchor component={Link} to="/customers" size="sm">
        ← Customers
      </Anchor>
      <ErrorNote error={error} />
      <Title order={2}>{customer?.email ?? customer?.name ?? id}</Title>
      <Paper withBorder p="sm">
        <Text size="sm">ID: {id}</Text>
        {customer?.name && <Text size="sm">Name: {customer.name}</Text>}
      </Paper>
      <Title order={3} size="h4">
        Payment methods
      </Title>
      <DataTable caption="Payment methods" data={data?.payment_methods ?? []} columns={METHOD_COLUMNS} empty="No saved payment methods." />
    </Stack>
  );
}
