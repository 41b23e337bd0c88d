import { Paper, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { createColumnHelper } from '@tanstack/react-table';
import { CursorPager, DataTable } from '../components/DataTable';
import { ErrorNote } from '../components/ErrorNote';
import { StatusBadge } from '../components/StatusBadge';
import { formatMoney, formatTime } from '../format';
import { useApi, useCursorList } from '../hooks';
import type { Money } from '../types';

interface BalanceTransaction {
  id: string;
  type: string;
  amount: number;
  fee: number;
  net: number;
  currency: string;
  status: string;
  created: number;
  description: string | null;
}

interface Payout {
  id: string;
  amount: number;
  currency: string;
  status: string;
  arrival_date: number;
  created: number;
}

const txn = createColumnHelper<BalanceTransaction>();
const TRANSACTION_COLUMNS = [
  txn.accessor('type', { header: 'Type' }),
  txn.accessor('amount', { header: 'Amount', cell: (c) => formatMoney(c.getValue(), c.row.original.currency) }),
  txn.accessor('fee', { header: 'Fee', cell: (c) => formatMoney(c.getValue(), c.row.original.currency) }),
  txn.accessor('net', { header: 'Net', cell: (c) => formatMoney(c.getValue(), c.row.original.currency) }),
  txn.accessor('status', { header: 'Status', cell: (c) => <StatusBadge status={c.getValue()} /> }),
  txn.accessor('created', { header: 'Date', cell: (c) => formatTime(c.getValue()) }),
];

const payout = createColumnHelper<Payout>();
const PAYOUT_COLUMNS = [
  payout.accessor('amount', { header: 'Amount', cell: (c) => formatMoney(c.getValue(), c.row.original.currency) }),
  payout.accessor('status', { header: 'Status', cell: (c) => <StatusBadge status={c.getValue()} /> }),
  payout.accessor('arrival_date', { header: 'Arrives', cell: (c) => formatTime(c.getValue()) }),
  payout.accessor('id', { header: 'ID' }),
];

export function BalancesPage() {
  const balances = useApi<{ available: Money[]; pending: Money[] }>('/balances');
  const transactions = useCursorList<BalanceTransaction>('/balance_transactions', { limit: 20 });
  const payouts = useCursorList<Payout>('/payouts', { limit: 10 });

  return (
    <Stack>
      <Title order={2}>Balances</Title>
      <ErrorNote error={balances.error} />
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <BalanceCard title="Available" amounts={balances.data?.available} />
        <BalanceCard title="Pending" amounts={balances.data?.pending} />
      </SimpleGrid>
      <Title order={3} size="h4">
        Balance transactions
      </Title>
      <ErrorNote error={transactions.error} />
      <DataTable caption="Balance transactions" data={transactions.rows} columns={TRANSACTION_COLUMNS} />
      <CursorPager hasPrevious={transactions.hasPrevious} hasMore={transactions.hasMore} onPrevious={transactions.previous} onNext={transactions.next} />
      <Title order={3} size="h4">
        Payouts
      </Title>
      <ErrorNote error={payouts.error} />
      <DataTable caption="Payouts" data={payouts.rows} columns={PAYOUT_COLUMNS} empty="No payouts yet." />
      <CursorPager hasPrevious={payouts.hasPrevious} hasMore={payouts.hasMore} onPrevious={payouts.previous} onNext={payouts.next} />
    </Stack>
  );
}

function BalanceCard({ title, amounts }: { title: string; amounts: Money[] | undefined }) {
  return (
    <Paper withBorder p="md" aria-label={`${title} balance`}>
      <Text size="sm" c="gray.7">
        {title}
      </Text>
      {(amounts ?? []).length === 0 && <Text fw={600}>—</Text>}
      {(amounts ?? []).map((money) => (
        <Text key={money.currency} fw={600} size="lg" data-currency={money.currency}>
          {formatMoney(money.amount, money.currency)}
        </Text>
      ))}
    </Paper>
  );
}
