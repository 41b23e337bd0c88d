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
} from '../../src/services/connectors/index.js';
import type { SandboxProcessor } from '../../src/services/connectors/adapters/sandbox.js';

/**
 * A test processor: the sandbox, with whichever calls a test overrides (an outage, a lost answer, a
 * leaky error). The sandbox keeps its records in the platform's database, so it is set once the
 * platform has started.
 */
export abstract class SandboxWrapper implements Connector {
  abstract readonly name: string;
  sandbox!: SandboxProcessor;

  authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    return this.sandbox.authorize(request);
  }
  verify(request: VerifyRequest): Promise<AuthorizeResult> {
    return this.sandbox.verify(request);
  }
  completeAuthentication(attempt_id: string, authenticated: boolean): Promise<AuthorizeResult> {
    return this.sandbox.completeAuthentication(attempt_id, authenticated);
  }
  capture(attempt_id: string, amount: number): Promise<CaptureResult> {
    return this.sandbox.capture(attempt_id, amount);
  }
  void(attempt_id: string): Promise<void> {
    return this.sandbox.void(attempt_id);
  }
  refund(refund_id: string, attempt_id: string, amount: number): Promise<RefundResult> {
    return this.sandbox.refund(refund_id, attempt_id, amount);
  }
  attemptStatus(attempt_id: string): Promise<AttemptStatus> {
    return this.sandbox.attemptStatus(attempt_id);
  }
  refundStatus(refund_id: string): Promise<RefundStatus> {
    return this.sandbox.refundStatus(refund_id);
  }
  deliverNotifications(handle: NotificationHandler, limit: number): Promise<number> {
    return this.sandbox.deliverNotifications(handle, limit);
  }
}
