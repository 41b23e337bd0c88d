import { Alert, Anchor, Button, Group, NumberInput, Paper, Select, SimpleGrid, Text, TextInput, Title } from '@mantine/core';
import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import type { Query } from '../api';
import { CursorPager, DataTable } from '../components/DataTable';
import { StatusBadge } from '../components/StatusBadge';
import { currencyExponent, dayToUnix, formatMoney, formatTime, parseMinorUnits } from '../format';
import { useCursorList } from '../hooks';
import type { PaymentRow } from '../types';

const column = createColumnHelper<PaymentRow>();
const COLUMNS = [
  column.accessor('amount', {
    header: 'Amount',
    // A real link, so keyboard and screen-reader users reach the payment as mouse users do by the row.
    cell: (c) => (
      <Anchor component={Link} to={`/payments/${c.row.original.id}`}>
        {formatMoney(c.getValue(), c.row.original.currency)}
      </Anchor>
    ),
  }),
  column.accessor('status', { header: 'Status', cell: (c) => <StatusBadge status={c.getValue()} /> }),
  column.accessor('customer_email', { header: 'Customer', cell: (c) => c.getValue() ?? '—' }),
  column.accessor('card', { header: 'Card', cell: (c) => (c.getValue() ? `${c.getValue()!.brand} •••• ${c.getValue()!.last4}` : '—') }),
  column.accessor('description', { header: 'Description', cell: (c) => c.getValue() ?? '' }),
  column.accessor('created', { header: 'Date', cell: (c) => formatTime(c.getValue()) }),
  column.accessor('id', {
    header: 'ID',
    cell: (c) => (
      <Text ff="monospace" size="xs">
        {c.getValue()}
      </Text>
    ),
  }),
];

const STATUSES = ['succeeded', 'requires_capture', 'processing', 'requires_payment_method', 'requires_action', 'canceled'];

interface FilterForm {
  status: string | null;
  currency: string;
  amount_gte: string | number;
  amount_lte: string | number;
  created_gte: string;
  created_lte: string;
  email: string;
  last4: string;
  metadata_key: string;
  metadata_value: string;
}

const EMPTY: FilterForm = {
  status: null,
  currency: '',
  amount_gte: '',
  amount_lte: '',
  created_gte: '',
  created_lte: '',
  email: '',
  last4: '',
  metadata_key: '',
  metadata_value: '',
};

/** Amounts are typed in the filter's currency; with none chosen, in usd's (two) decimals. */
function filterCurrency(form: FilterForm): string {
  return form.currency.trim().toLowerCase() || 'usd';
}

/** The API refuses a metadata value without its key: the form says so before asking. */
function metadataKeyError(form: FilterForm): string | undefined {
  return form.metadata_value.trim() !== '' && form.metadata_key.trim() === '' ? 'Enter the key this value belongs to.' : undefined;
}

/** The form as the API's query: amounts typed in major units go out as minor units. */
function toQuery(form: FilterForm): Query {
  const currency = filterCurrency(form);
  const minor = (value: string | number) => (value === '' ? undefined : parseMinorUnits(value, currency));
  return {
    status: form.status ?? undefined,
    currency: form.currency.trim().toLowerCase() || undefined,
    amount_gte: minor(form.amount_gte),
    amount_lte: minor(form.amount_lte),
    created_gte: dayToUnix(form.created_gte),
    created_lte: dayToUnix(form.created_lte, true),
    email: form.email.trim() || undefined,
    last4: form.last4.trim() || undefined,
    metadata_key: form.metadata_key.trim() || undefined,
    metadata_value: form.metadata_value.trim() || undefined,
    limit: 25,
  };
}

export function PaymentsPage() {
  const navigate = useNavigate();
  const [form, setForm] = useState<FilterForm>(EMPTY);
  const [filters, setFilters] = useState<Query>(toQuery(EMPTY));
  const list = useCursorList<PaymentRow>('/payments', filters);
  const set =
    <K extends keyof FilterForm>(key: K) =>
    (value: FilterForm[K]) =>
      setForm((f) => ({ ...f, [key]: value }));

  const key_error = metadataKeyError(form);
  const exponent = currencyExponent(filterCurrency(form));

  function apply(event: FormEvent) {
    event.preventDefault();
    if (key_error !== undefined) return;
    setFilters(toQuery(form));
  }

  return (
    <>
      <Title order={2} mb="md">
        Payments
      </Title>
      <Paper withBorder p="sm" mb="md" component="form" onSubmit={apply} aria-label="Filter payments">
        <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }} spacing="xs">
          <Select label="Status" data={STATUSES} clearable value={form.status} onChange={set('status')} />
          <TextInput label="Currency" placeholder="usd" value={form.currency} onChange={(e) => set('currency')(e.currentTarget.value)} />
          <NumberInput label="Amount from" min={0} decimalScale={exponent} allowDecimal={exponent > 0} value={form.amount_gte} onChange={set('amount_gte')} />
          <NumberInput label="Amount to" min={0} decimalScale={exponent} allowDecimal={exponent > 0} value={form.amount_lte} onChange={set('amount_lte')} />
          <TextInput label="Created from" type="date" value={form.created_gte} onChange={(e) => set('created_gte')(e.currentTarget.value)} />
          <TextInput label="Created to" type="date" value={form.created_lte} onChange={(e) => set('created_lte')(e.currentTarget.value)} />
          <TextInput label="Customer email" value={form.email} onChange={(e) => set('email')(e.currentTarget.value)} />
          <TextInput label="Card last4" maxLength={4} inputMode="numeric" value={form.last4} onChange={(e) => set('last4')(e.currentTarget.value)} />
          <TextInput label="Metadata key" value={form.metadata_key} error={key_error} onChange={(e) => set('metadata_key')(e.currentTarget.value)} />
          <TextInput label="Metadata value" value={form.metadata_value} onChange={(e) => set('metadata_value')(e.currentTarget.value)} />
        </SimpleGrid>
        <Group mt="sm" gap="xs">
          <Button type="submit" disabled={key_error !== undefined}>
            Apply filters
          </Button>
          <Button
            variant="default"
            onClick={() => {
              setForm(EMPTY);
              setFilters(toQuery(EMPTY));
            }}
          >
            Clear
          </Button>
        </Group>
      </Paper>
      {list.error !== undefined && (
        <Alert color="red" role="alert" mb="sm">
          {list.error}
        </Alert>
      )}
      <DataTable
        caption="Payments"
        data={list.rows}
        columns={COLUMNS}
        empty={list.loading ? 'Loading…' : 'No payments match.'}
        onRowClick={(row) => void navigate(`/payments/${row.id}`)}
      />
      <CursorPager hasPrevious={list.hasPrevious} hasMore={list.hasMore} onPrevious={list.previous} onNext={list.next} />
    </>
  );
}
