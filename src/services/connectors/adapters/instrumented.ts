import type { Metrics } from '../../../platform/metrics.js';
import { metrics } from '../../../platform/metrics.js';
import { traced } from '../../../platform/tracing.js';
import type {
  AttemptStatus,
  AuthorizeRequest,
  AuthorizeResult,
  CaptureResult,
  Connector,
  NotificationHandler,
  RefundResult,
  RefundStatus,
  VerifyRequest,
} from '../domain/port.js';

/**
 * Wraps a processor adapter: every call is timed and counted by processor and operation, and runs in
 * a `processor.<operation>` span carrying the attempt id (never card data). Answers pass through as they are.
 */
export function instrumentConnector(connector: Connector, registry: Metrics = metrics): Connector {
  const processor = connector.name;
  const call = <T>(operation: string, attributes: Record<string, string | number | boolean>, work: () => Promise<T>): Promise<T> =>
    traced(`processor.${operation}`, { 'payrail.processor': processor, ...attributes }, async () => {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const result = await work();
        registry.processorCall(processor, operation, seconds(), true);
        return result;
      } catch (error) {
        registry.processorCall(processor, operation, seconds(), false);
        throw error;
      }
    });
  return {
    name: processor,
    authorize: (request: AuthorizeRequest): Promise<AuthorizeResult> =>
      call(
        'authorize',
        {
          'payrail.charge_id': request.attempt_id,
          'payrail.merchant_id': request.merchant_id,
          'payrail.amount': request.amount,
          'payrail.currency': request.currency,
          'payrail.capture': request.capture,
          'payrail.off_session': request.off_session ?? false,
        },
        () => connector.authorize(request),
      ),
    verify: (request: VerifyRequest): Promise<AuthorizeResult> =>
      call('verify', { 'payrail.setup_attempt_id': request.attempt_id, 'payrail.merchant_id': request.merchant_id }, () => connector.verify(request)),
    completeAuthentication: (attempt_id: string, authenticated: boolean): Promise<AuthorizeResult> =>
      call('complete_authentication', { 'payrail.charge_id': attempt_id, 'payrail.authenticated': authenticated }, () =>
        connector.completeAuthentication(attempt_id, authenticated),
      ),
    capture: (attempt_id: string, amount: number): Promise<CaptureResult> =>
      call('capture', { 'payrail.charge_id': attempt_id, 'payrail.amount': amount }, () => connector.capture(attempt_id, amount)),
    void: (attempt_id: string): Promise<void> => call('void', { 'payrail.charge_id': attempt_id }, () => connector.void(attempt_id)),
    refund: (refund_id: string, attempt_id: string, amount: number): Promise<RefundResult> =>
      call('refund', { 'payrail.refund_id': refund_id, 'payrail.charge_id': attempt_id, 'payrail.amount': amount }, () =>
        connector.refund(refund_id, attempt_id, amount),
      ),
    attemptStatus: (attempt_id: string): Promise<AttemptStatus> =>
      call('attempt_status', { 'payrail.charge_id': attempt_id }, () => connector.attemptStatus(attempt_id)),
    refundStatus: (refund_id: string): Promise<RefundStatus> =>
      call('refund_status', { 'payrail.refund_id': refund_id }, () => connector.refundStatus(refund_id)),
    ...(connector.deliverNotifications
      ? {
          deliverNotifications: (handle: NotificationHandler, limit: number): Promise<number> =>
            call('deliver_notifications', { 'payrail.limit': limit }, () => connector.deliverNotifications?.(handle, limit) ?? Promise.resolve(0)),
        }
      : {}),
    ...(connector.settlementReport
      ? {
          settlementReport: (batch_date: string): Promise<AsyncIterable<string> | null> =>
            call('settlement_report', { 'payrail.batch_date': batch_date }, () => connector.settlementReport?.(batch_date) ?? Promise.resolve(null)),
        }
      : {}),
  };
}
