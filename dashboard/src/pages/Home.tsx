import { AreaChart, BarChart, LineChart } from '@mantine/charts';
import { Paper, SegmentedControl, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import type { ReactNode } from 'react';
import { ErrorNote } from '../components/ErrorNote';
import { formatMajor, toMajorUnits } from '../format';
import { useApi } from '../hooks';

interface VolumeDay {
  day: string;
  currency: string;
  count: number;
  succeeded: number;
  failed: number;
  amount: number;
}

/** One currency's volume per day (major units, for the axis), and the success rate over all currencies. */
function chartRows(days: VolumeDay[]) {
  const totals = new Map<string, number>();
  for (const row of days) totals.set(row.currency, (totals.get(row.currency) ?? 0) + row.amount);
  const currency = [...totals.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'usd';
  const byDay = new Map<string, { day: string; volume: number; succeeded: number; failed: number }>();
  for (const row of days) {
    const entry = byDay.get(row.day) ?? { day: row.day, volume: 0, succeeded: 0, failed: 0 };
    if (row.currency === currency) entry.volume += toMajorUnits(row.amount, currency);
    entry.succeeded += row.succeeded;
    entry.failed += row.failed;
    byDay.set(row.day, entry);
  }
  const rows = [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day));
  const rates = rows.map((r) => ({
    day: r.day,
    'Success rate': r.succeeded + r.failed === 0 ? 0 : Math.round((1000 * r.succeeded) / (r.succeeded + r.failed)) / 10,
  }));
  return { currency, volume: rows.map((r) => ({ day: r.day, Volume: r.volume })), rates };
}

export function HomePage() {
  const [days, setDays] = useState('30');
  const volume = useApi<{ data: VolumeDay[] }>('/charts/volume', { days });
  const declines = useApi<{ data: { decline_code: string; count: number }[] }>('/charts/declines', { days });
  const { currency, volume: volumeRows, rates } = chartRows(volume.data?.data ?? []);
  const declineRows = (declines.data?.data ?? []).map((d) => ({ reason: d.decline_code.replaceAll('_', ' '), Declines: d.count }));

  return (
    <Stack>
      <Title order={2}>Home</Title>
      <SegmentedControl
        aria-label="Period"
        value={days}
        onChange={setDays}
        data={[
          { value: '7', label: '7 days' },
          { value: '30', label: '30 days' },
          { value: '90', label: '90 days' },
        ]}
        w="fit-content"
      />
      <ErrorNote error={volume.error ?? declines.error} />
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <ChartCard title={`Volume (${currency.toUpperCase()})`} empty={volumeRows.length === 0}>
          <AreaChart
            h={220}
            data={volumeRows}
            dataKey="day"
            series={[{ name: 'Volume', color: 'indigo.7' }]}
            valueFormatter={(v) => formatMajor(v, currency)}
          />
        </ChartCard>
        <ChartCard title="Success rate (%)" empty={rates.length === 0}>
          <LineChart h={220} data={rates} dataKey="day" yAxisProps={{ domain: [0, 100] }} series={[{ name: 'Success rate', color: 'teal.8' }]} />
        </ChartCard>
        <ChartCard title="Decline reasons" empty={declineRows.length === 0} emptyText="No declines in this period.">
          <BarChart h={220} data={declineRows} dataKey="reason" series={[{ name: 'Declines', color: 'red.8' }]} />
        </ChartCard>
      </SimpleGrid>
    </Stack>
  );
}

function ChartCard({
  title,
  empty,
  emptyText = 'No payments in this period.',
  children,
}: {
  title: string;
  empty: boolean;
  emptyText?: string;
  children: ReactNode;
}) {
  return (
    <Paper withBorder p="md" role="figure" aria-label={title}>
      <Title order={3} size="h5" mb="sm">
        {title}
      </Title>
      {empty ? <Text c="gray.7">{emptyText}</Text> : children}
    </Paper>
  );
}
