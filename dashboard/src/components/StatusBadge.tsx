import { Badge } from '@mantine/core';

const COLORS: Record<string, string> = {
  succeeded: 'green',
  paid: 'green',
  available: 'green',
  requires_capture: 'yellow',
  processing: 'blue',
  pending: 'blue',
  in_transit: 'blue',
  canceled: 'gray',
  requires_payment_method: 'red',
  failed: 'red',
};

/** A status word on a colour: the word carries the meaning, the colour only helps scanning. */
export function StatusBadge({ status }: { status: string }) {
  return (
    // max-content: in a table cell the badge would otherwise shrink to an ellipsis.
    <Badge color={COLORS[status] ?? 'gray'} variant="light" autoContrast style={{ minWidth: 'max-content' }}>
      {status.replaceAll('_', ' ')}
    </Badge>
  );
}
