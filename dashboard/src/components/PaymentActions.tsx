import { Alert, Button, Group, Modal, NumberInput, Stack, Text } from '@mantine/core';
import { useState } from 'react';
import { ApiError, apiPost } from '../api';
import { currencyExponent, formatMoney, parseMinorUnits, toMajorText, toMajorUnits } from '../format';
import { useSession } from '../session';
import type { PaymentDetail } from '../types';

type Action = 'refund' | 'capture' | 'cancel';

const CANCELABLE = new Set(['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing']);

/**
 * Refund, capture and cancel, each behind a confirmation. Shown only with payments.write; the server
 * checks the permission again, so hiding them is a courtesy, not the guard.
 */
export function PaymentActions({ detail, onDone }: { detail: PaymentDetail; onDone(): void }) {
  const { can } = useSession();
  const [action, setAction] = useState<Action | null>(null);
  if (!can('payments.write')) return null;
  const { payment, payment_intent } = detail;
  const refundable = payment.status === 'succeeded' && payment.amount_refunded < payment.amount;

  return (
    <>
      <Group gap="xs">
        {refundable && <Button onClick={() => setAction('refund')}>Refund</Button>}
        {payment_intent.status === 'requires_capture' && <Button onClick={() => setAction('capture')}>Capture</Button>}
        {CANCELABLE.has(payment_intent.status) && (
          <Button color="red" variant="outline" onClick={() => setAction('cancel')}>
            Cancel payment
          </Button>
        )}
      </Group>
      {action !== null && (
        <ConfirmAction
          action={action}
          detail={detail}
          onClose={() => setAction(null)}
          onDone={() => {
            setAction(null);
            onDone();
          }}
        />
      )}
    </>
  );
}

const TITLES: Record<Action, string> = { refund: 'Refund payment', capture: 'Capture payment', cancel: 'Cancel payment' };

/**
 * A key per attempt at an action: a retry after a lost answer reuses it, so the server acts once.
 * randomUUID needs a secure context; a dashboard served over plain http on a LAN falls back to
 * getRandomValues, which every context has.
 */
function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * A 4xx means the server said no and nothing happened: the next try is a new attempt with a new key.
 * No answer, a 5xx or a 409 (the first try still running) may mean it did happen: a retry keeps the key.
 */
function isAnsweredRefusal(failure: unknown): boolean {
  return failure instanceof ApiError && failure.status >= 400 && failure.status < 500 && failure.status !== 409;
}

function ConfirmAction({ action, detail, onClose, onDone }: { action: Action; detail: PaymentDetail; onClose(): void; onDone(): void }) {
  const { payment, payment_intent } = detail;
  const maximum = action === 'refund' ? payment.amount - payment.amount_refunded : (payment_intent.amount_capturable ?? payment.amount);
  const exponent = currencyExponent(payment.currency);
  const [amount, setAmount] = useState<string | number>(toMajorText(maximum, payment.currency));
  const [idempotency_key, setIdempotencyKey] = useState(newIdempotencyKey);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function confirm() {
    const minor = parseMinorUnits(amount, payment.currency);
    if (action !== 'cancel' && minor === undefined) {
      setError(`Enter an amount with at most ${exponent} decimal places.`);
      return;
    }
    setBusy(true);
    setError(undefined);
    const body = action === 'refund' ? { amount: minor } : action === 'capture' ? { amount_to_capture: minor } : {};
    try {
      await apiPost(`/payments/${encodeURIComponent(payment.id)}/${action}`, body, { 'Idempotency-Key': idempotency_key });
      onDone();
    } catch (failure) {
      if (isAnsweredRefusal(failure)) setIdempotencyKey(newIdempotencyKey());
      setError(failure instanceof Error ? failure.message : String(failure));
      setBusy(false);
    }
  }

  return (
    <Modal opened onClose={onClose} title={TITLES[action]} centered>
      <Stack>
        {action === 'cancel' ? (
          <Text>This cancels the payment; the customer is not charged. It cannot be undone.</Text>
        ) : (
          <NumberInput
            label={action === 'refund' ? 'Refund amount' : 'Amount to capture'}
            description={`Up to ${formatMoney(maximum, payment.currency)}`}
            min={0}
            max={toMajorUnits(maximum, payment.currency)}
            decimalScale={exponent}
            allowDecimal={exponent > 0}
            value={amount}
            onChange={setAmount}
            data-autofocus
          />
        )}
        {error !== undefined && (
          <Alert color="red" role="alert">
            {error}
          </Alert>
        )}
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose}>
            Back
          </Button>
          <Button color={action === 'cancel' ? 'red' : undefined} loading={busy} onClick={() => void confirm()}>
            {action === 'refund' ? 'Confirm refund' : action === 'capture' ? 'Confirm capture' : 'Confirm cancel'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
