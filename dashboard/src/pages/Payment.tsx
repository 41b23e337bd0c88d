import { Alert, Anchor, Badge, Group, Loader, Paper, SimpleGrid, Stack, Text, Timeline, Title } from '@mantine/core';
import { Link, useParams } from 'react-router';
import { PaymentActions } from '../components/PaymentActions';
import { StatusBadge } from '../components/StatusBadge';
import { formatMoney, formatTime } from '../format';
import { useApi } from '../hooks';
import type { PaymentDetail } from '../types';

export function PaymentPage() {
  const { id = '' } = useParams();
  const { data, error, reload } = useApi<PaymentDetail>(`/payments/${encodeURIComponent(id)}`);
  if (error !== undefined) {
    return (
      <Alert color="red" role="alert">
        {error}
      </Alert>
    );
  }
  if (data === undefined) return <Loader aria-label="Loading payment" />;
  const { payment } = data;

  return (
    <Stack>
      <Anchor component={Link} to="/payments" size="sm">
        ← Payments
      </Anchor>
      <Group justify="space-between" align="flex-start">
        <div>
          <Title order={2}>{formatMoney(payment.amount, payment.currency)}</Title>
          <Group gap="xs" mt={4}>
            <StatusBadge status={payment.status} />
            {payment.amount_refunded > 0 && <Badge variant="outline">Refunded {formatMoney(payment.amount_refunded, payment.currency)}</Badge>}
          </Group>
        </div>
        <PaymentActions detail={data} onDone={reload} />
      </Group>
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <Paper withBorder p="sm">
          <Title order={3} size="h5" mb="xs">
            Details
          </Title>
          <Fact label="ID" value={payment.id} mono />
          <Fact label="Created" value={formatTime(payment.created)} />
          <Fact label="Customer" value={payment.customer_email ?? '—'} />
          <Fact label="Card" value={payment.card ? `${payment.card.brand} •••• ${payment.card.last4}` : '—'} />
          <Fact label="Description" value={payment.description ?? '—'} />
          {Object.entries(payment.metadata ?? {}).map(([key, value]) => (
            <Fact key={key} label={`metadata.${key}`} value={value} />
          ))}
        </Paper>
        <Paper withBorder p="sm">
          <Title order={3} size="h5" mb="xs">
            Ledger postings
          </Title>
          {data.ledger.length === 0 && <Text c="gray.7">None yet.</Text>}
          {data.ledger.map((entry) => (
            <Stack key={entry.id} gap={0} mb="xs">
              <Text size="sm" fw={500}>
                {entry.kind} · {formatTime(entry.at)}
              </Text>
              {entry.postings.map((posting, index) => (
                <Text key={index} size="xs" ff="monospace">
                  {posting.account} {formatMoney(posting.amount, posting.currency)}
                </Text>
              ))}
            </Stack>
          ))}
        </Paper>
      </SimpleGrid>
      <Paper withBorder p="sm">
        <Title order={3} size="h5" mb="sm">
          Timeline
        </Title>
        <Timeline bulletSize={14} lineWidth={2} aria-label="Payment timeline">
          {data.timeline.map((entry, index) => (
            <Timeline.Item key={index} title={entry.title} data-kind={entry.kind}>
              {entry.detail && (
                <Text size="sm" c="gray.8">
                  {entry.detail}
                </Text>
              )}
              <Text size="xs" c="gray.7">
                {formatTime(entry.at)}
              </Text>
            </Timeline.Item>
          ))}
        </Timeline>
      </Paper>
    </Stack>
  );
}

function Fact({ label, value, mono = false }: { label: string; value: string; mono?: boolean }) {
  return (
    <Group gap="xs" wrap="nowrap" align="baseline">
      <Text size="sm" c="gray.7" miw={110}>
        {label}
      </Text>
      <Text size="sm" ff={mono ? 'monospace' : undefined} style={{ wordBreak: 'break-all' }}>
        {value}
      </Text>
    </Group>
  );
}
